"""Reading the audit log back, each read in a transaction of its own: the whole check (the
hash chain, and every sealed row against its seal and the entries that wrote it), the anchor
to keep outside, and the latest entries."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import func, select

from tambour.services import audit
from tambour.services.audit import AuditEntry, VerifyResult
from tambour.services.context import Context, InvalidInputError
from tambour.services.ledger_proof import RowProblem, check_rows
from tambour.services.seals import Sealer
from tambour.services.views import View
from tambour.store.engine import reader, snapshot
from tambour.store.tables import audit_log, evidence, plan_rows, suppressions

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {"negative": "{value} is negative: a count of entries is 0 or more"}

# The phases of a verification, as its progress names them: the log's entries, then the rows.
ENTRIES: Final = "entries"
ROWS: Final = "rows"


class VerifyProgress(Protocol):
    """Who hears how far a verification is (a job's control, jobs/control.py): a phase and
    its total, then the units done; either may raise to stop the verification."""

    def phase(self, name: str, total: int | None = None, done: int = 0) -> None: ...

    def advance(self, count: int = 1) -> None: ...


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

    def for_advertiser(self) -> dict[str, Any]:
        """What an advertiser may know of the check of the whole platform: whether all is
        intact, where the chain breaks, how many rows were changed (not which: they may be
        another advertiser's), and the anchor to keep outside."""
        log = self.log
        return {
            "ok": self.ok, "log_ok": log.ok, "count": log.count, "head": log.head,
            "first_bad": log.first_bad, "rows_ok": self.rows_ok,
            "row_problems": self.row_problem_count,
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
    ctx: Context,
    *,
    expect_head: str | None = None,
    expect_count: int | None = None,
    progress: VerifyProgress | None = None,
) -> Verification:
    """Recompute the chain (against the anchor kept outside, when given: `audit.verify`) and
    check every evidence, suppression and plan row against its seal and the entries that
    wrote it, in one snapshot. `progress` hears the two phases (ENTRIES, then ROWS, each with
    its total) and the units checked (a job stops the check there when it is cancelled)."""
    _not_negative("expect_count", expect_count)
    with snapshot(ctx.engine) as conn:
        if progress is None:
            log = audit.verify(conn, expect_head=expect_head, expect_count=expect_count)
            rows = check_rows(conn, Sealer.of(ctx.keys))
        else:
            progress.phase(ENTRIES, audit.head(conn)[0])
            log = audit.verify(
                conn, expect_head=expect_head, expect_count=expect_count,
                progress=progress.advance,
            )  # fmt: skip
            total = sum(
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (evidence, suppressions, plan_rows)
            )
            progress.phase(ROWS, total)
            rows = check_rows(conn, Sealer.of(ctx.keys), progress.advance)
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


MOST_A_PAGE: Final = 200


@dataclass(frozen=True, slots=True)
class EntryPage:
    """A page of an advertiser's entries, newest first; `next_before`: the cursor of the next
    (older) page, None on the last."""

    entries: tuple[AuditEntry, ...]
    next_before: int | None


def page(
    ctx: Context, *, advertiser_id: int, before: int | None = None, limit: int = 50
) -> EntryPage:
    """Up to `limit` of the advertiser's entries older than entry `before` (None: the newest),
    newest first. Walks the log from its end by its key (the log has no index by advertiser:
    an advertiser with few recent entries among many of others' costs a longer walk)."""
    if not 1 <= limit <= MOST_A_PAGE:
        raise InvalidInputError("limit", "out_of_range", f"from 1 to {MOST_A_PAGE} entries a page")
    _not_negative("before", before)
    query = (
        select(audit_log)
        .where(audit_log.c.advertiser_id == advertiser_id)
        .order_by(audit_log.c.seq.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(audit_log.c.seq < before)
    with reader(ctx.engine) as conn:
        rows = conn.execute(query).all()
    entries = tuple(
        AuditEntry(
            seq=row.seq, at=row.at, actor=row.actor, action=row.action,
            advertiser_id=row.advertiser_id, details=json.loads(row.details),
            prev_hash=row.prev_hash, hash=row.hash,
        )
        for row in rows[:limit]
    )  # fmt: skip
    return EntryPage(entries, entries[-1].seq if len(rows) > limit else None)
