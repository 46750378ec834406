"""Reading the audit log back, each read in a transaction of its own: the whole check (the
hash chain, and every sealed row against its seal and the entries that wrote it), the anchor
to keep outside, and the latest entries."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tambour.services import audit
from tambour.services.audit import AuditEntry, VerifyResult
from tambour.services.context import Context, InvalidInputError
from tambour.services.ledger_proof import RowProblem, check_rows
from tambour.services.seals import Sealer
from tambour.services.views import View
from tambour.store.engine import reader, snapshot

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {"negative": "{value} is negative: a count of entries is 0 or more"}


@dataclass(frozen=True, slots=True)
class Verification:
    """The log's chain (`log`) and the sealed rows (read by table; those changed outside
    Tambour, the first few named, all counted), checked at one moment."""

    log: VerifyResult
    rows: Mapping[str, int]
    row_problems: tuple[RowProblem, ...]
    row_problem_count: int

    @property
    def rows_ok(self) -> bool:
        return self.row_problem_count == 0

    @property
    def ok(self) -> bool:
        return self.log.ok and self.rows_ok

    def as_dict(self) -> dict[str, Any]:
        log = self.log
        return {
            "ok": self.ok, "count": log.count, "head": log.head, "first_bad": log.first_bad,
            "problem": log.problem, "rows": dict(self.rows),
            "row_problems": self.row_problem_count,
            "rows_changed": [
                {"table": p.table, "key": p.key, "problem": p.problem, "detail": p.detail}
                for p in self.row_problems
            ],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Head(View):
    """The anchor to keep outside the database: how many entries, and the last one's hash."""

    count: int
    hash: str


def _not_negative(field: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise InvalidInputError(field, "out_of_range", TEXTS["negative"].format(value=value))


def verify(
    ctx: Context, *, expect_head: str | None = None, expect_count: int | None = None
) -> Verification:
    """Recompute the chain (against the anchor kept outside, when given: `audit.verify`) and
    check every evidence, suppression and plan row against its seal and the entries that
    wrote it, in one snapshot."""
    _not_negative("expect_count", expect_count)
    with snapshot(ctx.engine) as conn:
        log = audit.verify(conn, expect_head=expect_head, expect_count=expect_count)
        rows = check_rows(conn, Sealer.of(ctx.keys))
    return Verification(log, dict(rows.rows), tuple(rows.problems), rows.count)


def head(ctx: Context) -> Head:
    with reader(ctx.engine) as conn:
        count, last = audit.head(conn)
    return Head(count, last)


def latest(ctx: Context, *, limit: int = 50, advertiser_id: int | None = None) -> list[AuditEntry]:
    """The newest `limit` entries, newest first (one advertiser's, when given)."""
    _not_negative("limit", limit)
    with reader(ctx.engine) as conn:
        return audit.entries(conn, advertiser_id=advertiser_id, limit=limit)
