"""`audit verify`, second half: the evidence, suppression and plan rows against the audit log.

Every action that writes such rows lists them in its audit entry (`rows`: id runs of evidence
and suppression entries, plan generations with their row count), and seals each row with a key
kept outside the database (services/seals.py). Walking each table once, in key order:
- a row whose seal does not match its content was edited (or added with a made-up seal);
- a row no entry lists was added outside Tambour;
- an id an entry lists with no row was removed;
- a plan generation whose rows do not add up to what its entry says lost or gained rows.
Only the latest generation of a campaign must be whole: earlier ones are deleted after a new
plan is made current. Streamed: a chunk of rows in memory at a time.
"""

import bisect
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from tambour.services.seals import PLAN_SEALED, Sealer, Written
from tambour.store.bulk import driver_cursor

MAX_NAMED = 50  # problems named in full; the rest are counted
_FETCH = 5000


@dataclass(frozen=True, slots=True)
class RowProblem:
    table: str  # evidence, suppressions, plan_rows
    key: str  # the row's id, or campaign/generation/contact for a plan row
    problem: str  # edited, removed, added
    detail: str

    def describe(self) -> str:
        return f"{self.table} row {self.key}: {self.problem} ({self.detail})"


@dataclass
class LedgerCheck:
    rows: dict[str, int] = field(default_factory=dict)  # rows read, by table
    problems: list[RowProblem] = field(default_factory=list)  # the first MAX_NAMED
    count: int = 0  # every problem found

    @property
    def ok(self) -> bool:
        return self.count == 0

    def add(self, problem: RowProblem) -> None:
        self.count += 1
        if len(self.problems) < MAX_NAMED:
            self.problems.append(problem)

    def add_run(self, table: str, first: int, last: int, detail: str) -> None:
        """Ids `first` to `last` removed: each named while there is room, all counted."""
        for gone in range(first, min(last, first + MAX_NAMED - len(self.problems) - 1) + 1):
            self.problems.append(RowProblem(table, str(gone), "removed", detail))
        self.count += last - first + 1


@dataclass
class _Runs:
    """Id runs listed by audit entries, sorted, with the entry that listed each."""

    firsts: list[int] = field(default_factory=list)
    runs: list[tuple[int, int, int, str]] = field(default_factory=list)  # first, last, seq, act

    def sort(self) -> None:
        self.runs.sort()
        self.firsts = [r[0] for r in self.runs]

    def covering(self, row_id: int) -> tuple[int, int, int, str] | None:
        at = bisect.bisect_right(self.firsts, row_id) - 1
        if at >= 0 and self.runs[at][1] >= row_id:
            return self.runs[at]
        return None


@dataclass
class _Coverage:
    evidence: _Runs = field(default_factory=_Runs)
    suppressions: _Runs = field(default_factory=_Runs)
    # campaign id -> (generation, rows, seq, action), in chain order: the last is the live one
    plans: dict[int, list[tuple[int, int, int, str]]] = field(default_factory=dict)


def _coverage(conn: Connection) -> _Coverage:
    found = _Coverage()
    cursor = driver_cursor(conn)
    cursor.execute(
        "SELECT seq, action, details FROM audit_log WHERE details LIKE '%\"rows\":%' ORDER BY seq"
    )
    while batch := cursor.fetchmany(_FETCH):
        for seq, action, details in batch:
            rows = json.loads(details).get("rows")
            if not isinstance(rows, dict):
                continue
            for table, runs in (("evidence", found.evidence), ("suppressions", found.suppressions)):
                for first, last in rows.get(table, ()):
                    runs.runs.append((int(first), int(last), seq, action))
            for campaign_id, generation, count in rows.get("plans", ()):
                found.plans.setdefault(int(campaign_id), []).append(
                    (int(generation), int(count), seq, action)
                )
    found.evidence.sort()
    found.suppressions.sort()
    return found


def _stream(conn: Connection, sql: str) -> Iterator[Any]:
    """Rows of a query, a chunk at a time (a server-side cursor on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor(name="tambour_ledger_proof") as cursor:  # type: ignore[union-attr]
            cursor.itersize = _FETCH
            cursor.execute(sql)
            yield from cursor
        return
    cursor = driver_cursor(conn)
    cursor.execute(sql)
    while batch := cursor.fetchmany(_FETCH):
        yield from batch


def _walk_ids(
    check: LedgerCheck, table: str, rows: Iterator[tuple[int, bool, str]], runs: _Runs
) -> None:
    """Rows (id, seal ok, what the row is) in id order against the runs that list them."""
    pending = iter(runs.runs)
    current = next(pending, None)
    expect = current[0] if current else 0  # the next id the current run lists

    def removed_below(upto: int) -> None:
        """Report the ids the runs list below `upto` that no row had."""
        nonlocal current, expect
        while current is not None:
            _first, last, seq, action = current
            stop = min(last, upto - 1)
            if stop >= expect:
                check.add_run(table, expect, stop, f"written by audit entry {seq}, {action}")
            if last >= upto:
                expect = max(expect, upto + 1)
                return
            current = next(pending, None)
            expect = current[0] if current else 0

    count = 0
    for row_id, sealed, what in rows:
        count += 1
        removed_below(row_id)
        run = runs.covering(row_id)
        if run is None:
            check.add(RowProblem(table, str(row_id), "added", f"no audit entry lists it; {what}"))
        elif not sealed:
            check.add(
                RowProblem(
                    table, str(row_id), "edited",
                    f"its seal does not match its content; {what}, written by audit entry "
                    f"{run[2]}, {run[3]}",
                )
            )  # fmt: skip
    removed_below(1 << 62)
    check.rows[table] = count


_EVIDENCE = {
    "sqlite": "SELECT id, advertiser_id, contact_id, kind, occurred_at, data, fingerprint, source, "
    "recorded_at, recorded_by, seal FROM evidence ORDER BY id",
    "postgresql": "SELECT id, advertiser_id, contact_id, kind, occurred_at, data::text, "
    "fingerprint, source, recorded_at, recorded_by, seal FROM evidence ORDER BY id",
}
_SUPPRESSIONS = (
    "SELECT id, advertiser_id, phone_hash, source, suppressed_at, recorded_at, seal "
    "FROM suppressions ORDER BY id"
)
_PLAN_ROWS = (
    f"SELECT {', '.join(PLAN_SEALED)}, seal FROM plan_rows "
    "ORDER BY campaign_id, generation, contact_id"
)


def _evidence(conn: Connection, sealer: Sealer) -> Iterator[tuple[int, bool, str]]:
    seal = sealer.evidence
    for row in _stream(conn, _EVIDENCE[conn.dialect.name]):
        stored = row[10]
        ok = stored is not None and bytes(stored) == seal(row[:10])
        yield row[0], ok, f"contact {row[2]}, {row[3]}"


def _suppressions(conn: Connection, sealer: Sealer) -> Iterator[tuple[int, bool, str]]:
    seal = sealer.suppression
    for row in _stream(conn, _SUPPRESSIONS):
        stored = row[6]
        ok = stored is not None and bytes(stored) == seal(row[:6])
        yield row[0], ok, f"advertiser {row[1]}, {row[3]}"


def _plans(conn: Connection, sealer: Sealer, check: LedgerCheck, coverage: _Coverage) -> None:
    seal = sealer.plan_row
    counts: dict[tuple[int, int], int] = {}
    count = 0
    for row in _stream(conn, _PLAN_ROWS):
        count += 1
        key = (row[0], row[1])
        counts[key] = counts.get(key, 0) + 1
        stored = row[20]
        if stored is None or bytes(stored) != seal(row[:20]):
            check.add(
                RowProblem(
                    "plan_rows",
                    f"campaign {row[0]} generation {row[1]} contact {row[2]}",
                    "edited",
                    f"its seal does not match its content (decision {row[5]})",
                )
            )
    check.rows["plan_rows"] = count
    listed = {
        (campaign_id, generation): (rows, seq, action)
        for campaign_id, plans in coverage.plans.items()
        for generation, rows, seq, action in plans
    }
    for (campaign_id, generation), found in sorted(counts.items()):
        if (campaign_id, generation) not in listed:
            check.add(
                RowProblem(
                    "plan_rows", f"campaign {campaign_id} generation {generation}", "added",
                    f"{found} row(s) of a plan no audit entry lists (added outside Tambour, or "
                    "left by a plan that was interrupted)",
                )
            )  # fmt: skip
    for campaign_id, plans in coverage.plans.items():
        generation, rows, seq, action = plans[-1]  # the live plan: whole
        found = counts.get((campaign_id, generation), 0)
        if found != rows:
            what = "removed" if found < rows else "added"
            check.add(
                RowProblem(
                    "plan_rows", f"campaign {campaign_id} generation {generation}", what,
                    f"{found} row(s), audit entry {seq} ({action}) says {rows}: "
                    f"{abs(rows - found)} {what}",
                )
            )  # fmt: skip


def check_rows(conn: Connection, sealer: Sealer) -> LedgerCheck:
    """Every evidence, suppression and plan row against its seal and the audit log."""
    check = LedgerCheck()
    coverage = _coverage(conn)
    _walk_ids(check, "evidence", _evidence(conn, sealer), coverage.evidence)
    _walk_ids(check, "suppressions", _suppressions(conn, sealer), coverage.suppressions)
    _plans(conn, sealer, check, coverage)
    return check


def seal_unsealed(conn: Connection, sealer: Sealer) -> Written:
    """Seal the rows a database made before seals existed holds, once, at `db upgrade`: the
    audit entry the caller appends lists them from then on (what they said before the upgrade
    is vouched for by the audit log of that time, not by a seal)."""
    written = Written()
    dialect = conn.dialect.name
    cursor = driver_cursor(conn)
    mark = "?" if dialect == "sqlite" else "%s"
    evidence_sql = _EVIDENCE[dialect].replace("FROM evidence", "FROM evidence WHERE seal IS NULL")
    cursor.execute(evidence_sql)
    rows = cursor.fetchall()
    cursor.executemany(
        f"UPDATE evidence SET seal = {mark} WHERE id = {mark}",
        [(sealer.evidence(r[:10]), r[0]) for r in rows],
    )
    written.evidence = [r[0] for r in rows]
    cursor.execute(
        _SUPPRESSIONS.replace("FROM suppressions", "FROM suppressions WHERE seal IS NULL")
    )
    rows = cursor.fetchall()
    cursor.executemany(
        f"UPDATE suppressions SET seal = {mark} WHERE id = {mark}",
        [(sealer.suppression(r[:6]), r[0]) for r in rows],
    )
    written.suppressions = [r[0] for r in rows]
    cursor.execute(_PLAN_ROWS.replace("FROM plan_rows", "FROM plan_rows WHERE seal IS NULL"))
    counts: dict[tuple[int, int], int] = {}
    updates = []
    for r in cursor.fetchall():
        counts[(r[0], r[1])] = counts.get((r[0], r[1]), 0) + 1
        updates.append((sealer.plan_row(r[:20]), r[0], r[1], r[2]))
    cursor.executemany(
        f"UPDATE plan_rows SET seal = {mark} WHERE campaign_id = {mark} AND generation = {mark}"
        f" AND contact_id = {mark}",
        updates,
    )
    written.plans = [(c, g, n) for (c, g), n in sorted(counts.items())]
    return written
