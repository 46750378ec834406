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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from tambour.services.seals import (
    PLAN_SEALED,
    SEAL_SPACE,
    PlanWritten,
    Sealer,
    Written,
    fact_fingerprint,
    seal_number,
)
from tambour.store.bulk import driver_cursor
from tambour.store.tables import campaigns

MAX_NAMED = 50  # problems named in full; the rest are counted
_ERASED = {"erased": True}  # an erased evidence row's data (services/erasure.py)
_FETCH = 5000
Progress = Callable[[int], None] | None  # hears the rows checked, a chunk at a time


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


NO_PLAN = 0  # a plan entry's generation when its action left the campaign without a plan


class _Plan(NamedTuple):
    generation: int  # NO_PLAN: the plan was dropped (campaign edited or deleted)
    rows: int
    seal_sum: int | None  # None: an entry that gave no digest
    seq: int
    action: str


@dataclass
class _Coverage:
    evidence: _Runs = field(default_factory=_Runs)
    suppressions: _Runs = field(default_factory=_Runs)
    # suppression id -> (its latest seal, the entry that wrote it): an older copy written back
    rewritten: dict[int, tuple[bytes, int, str]] = field(default_factory=dict)
    # campaign id -> its plans, in chain order: the last is the one made current
    plans: dict[int, list[_Plan]] = field(default_factory=dict)
    # Evidence rows an erasure blanked, and plan rows it rewrote: (campaign, generation) ->
    # (seq of the entry, what the rows' new seals add to the sum of seals) (services/erasure.py).
    erased: _Runs = field(default_factory=_Runs)
    plan_rewrites: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)


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
            for rid, seal in rows.get("suppressions_rewritten", ()):
                found.rewritten[int(rid)] = (bytes.fromhex(seal), seq, action)
            for campaign_id, generation, count, *digest in rows.get("plans", ()):
                seal_sum = int(digest[0], 16) if digest else None
                found.plans.setdefault(int(campaign_id), []).append(
                    _Plan(int(generation), int(count), seal_sum, seq, action)
                )
            for campaign_id in rows.get("plans_dropped", ()):
                found.plans.setdefault(int(campaign_id), []).append(
                    _Plan(NO_PLAN, 0, None, seq, action)
                )
            for first, last in rows.get("evidence_erased", ()):
                found.erased.runs.append((int(first), int(last), seq, action))
            for campaign_id, generation, _rows, delta in rows.get("plan_sums_rewritten", ()):
                found.plan_rewrites.setdefault((int(campaign_id), int(generation)), []).append(
                    (seq, int(delta, 16))
                )
            # Entries written before the sums (one row each): a row sealed since the upgrade
            # that sealed them all, before -> after.
            for campaign_id, generation, _contact, before, after in rows.get(
                "plan_rows_rewritten", ()
            ):
                if before is not None:
                    change = seal_number(bytes.fromhex(after)) - seal_number(bytes.fromhex(before))
                    found.plan_rewrites.setdefault((int(campaign_id), int(generation)), []).append(
                        (seq, change)
                    )
    found.evidence.sort()
    found.erased.sort()
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
    check: LedgerCheck, table: str, rows: Iterator[tuple[int, bool, str]], runs: _Runs,
    progress: Progress = None,
) -> None:  # fmt: skip
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
        if progress is not None and count % _FETCH == 0:
            progress(_FETCH)
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
    if progress is not None and count % _FETCH:
        progress(count % _FETCH)


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
_PLAN_SEAL_AT = len(PLAN_SEALED)  # the seal's place in a row of _PLAN_ROWS


def _evidence(conn: Connection, sealer: Sealer, erased: _Runs) -> Iterator[tuple[int, bool, str]]:
    """Each evidence row: its seal, and its fingerprint made again from its data; a row an
    erasure blanked (listed by its audit entry) has only its seal and the erased mark."""
    seal = sealer.evidence
    for row in _stream(conn, _EVIDENCE[conn.dialect.name]):
        stored = row[10]
        ok = (
            stored is not None
            and bytes(stored) == seal(row[:10])
            and (
                bytes(row[6]) == fact_fingerprint(row[3], row[4], row[5])
                or (erased.covering(row[0]) is not None and json.loads(row[5]) == _ERASED)
            )
        )
        yield row[0], ok, f"contact {row[2]}, {row[3]}"


def _suppressions(
    conn: Connection, sealer: Sealer, check: LedgerCheck, coverage: _Coverage
) -> Iterator[tuple[int, bool, str]]:
    seal = sealer.suppression
    rewritten = coverage.rewritten
    for row in _stream(conn, _SUPPRESSIONS):
        stored = None if row[6] is None else bytes(row[6])
        ok = stored is not None and stored == seal(row[:6])
        latest = rewritten.get(row[0])
        if ok and latest is not None and stored != latest[0]:
            check.add(
                RowProblem(
                    "suppressions", str(row[0]), "edited",
                    f"an older version written back (advertiser {row[1]}, {row[3]}); audit "
                    f"entry {latest[1]}, {latest[2]}, rewrote it",
                )
            )  # fmt: skip
        yield row[0], ok, f"advertiser {row[1]}, {row[3]}"


def _plans(
    conn: Connection, sealer: Sealer, check: LedgerCheck, coverage: _Coverage,
    progress: Progress = None,
) -> None:  # fmt: skip
    """Each plan row against its seal; each campaign's current plan against the audit entry
    that made it current: the same generation, every row, the same sum of seals (rows of an
    earlier version written back have valid seals of their own). Rows of a generation no
    entry lists are a plan being made, or one that was interrupted: proof of nothing, never
    launched, so they are counted, not reported."""
    seal = sealer.plan_row
    counts: dict[tuple[int, int], int] = {}
    sums: dict[tuple[int, int], int] = {}
    edited: set[tuple[int, int]] = set()  # generations with a row named already
    count = 0
    for row in _stream(conn, _PLAN_ROWS):
        count += 1
        if progress is not None and count % _FETCH == 0:
            progress(_FETCH)
        key = (row[0], row[1])
        counts[key] = counts.get(key, 0) + 1
        stored = row[_PLAN_SEAL_AT]
        if stored is None or bytes(stored) != seal(row[:_PLAN_SEAL_AT]):
            edited.add(key)
            check.add(
                RowProblem(
                    "plan_rows",
                    f"campaign {row[0]} generation {row[1]} contact {row[2]}",
                    "edited",
                    f"its seal does not match its content (decision {row[5]})",
                )
            )
        else:
            sums[key] = sums.get(key, 0) + seal_number(bytes(stored))
    check.rows["plan_rows"] = count
    if progress is not None and count % _FETCH:
        progress(count % _FETCH)
    current = dict(
        conn.execute(
            select(campaigns.c.id, campaigns.c.plan_generation).where(
                campaigns.c.plan_generation.is_not(None)
            )
        ).all()
    )
    listed = {(c, p.generation) for c, plans in coverage.plans.items() for p in plans}
    check.rows["plan_rows_unlisted"] = sum(n for key, n in counts.items() if key not in listed)
    for campaign_id in sorted(set(current) | set(coverage.plans)):
        plans = coverage.plans.get(campaign_id)
        made = plans[-1] if plans else None
        where = f"campaign {campaign_id}"
        expected = None if made is None or made.generation == NO_PLAN else made.generation
        if current.get(campaign_id) != expected:
            said = "no plan" if expected is None else f"generation {expected}"
            check.add(
                RowProblem(
                    "campaigns", where, "edited",
                    f"its current plan is generation {current.get(campaign_id)}, the audit log "
                    f"made {said} current",
                )
            )  # fmt: skip
            continue
        if made is None or expected is None:
            continue
        key = (campaign_id, made.generation)
        found = counts.get(key, 0)
        where = f"{where} generation {made.generation}"
        if found != made.rows:
            what = "removed" if found < made.rows else "added"
            check.add(
                RowProblem(
                    "plan_rows", where, what,
                    f"{found} row(s), audit entry {made.seq} ({made.action}) says {made.rows}: "
                    f"{abs(made.rows - found)} {what}",
                )
            )  # fmt: skip
        elif (
            key not in edited
            and made.seal_sum is not None
            and sums.get(key, 0) % SEAL_SPACE != _after_erasures(key, made, coverage)
        ):
            check.add(
                RowProblem(
                    "plan_rows", where, "edited",
                    f"its rows are not the ones audit entry {made.seq} ({made.action}) lists: "
                    "an earlier version of a row was written back",
                )
            )  # fmt: skip


def _after_erasures(key: tuple[int, int], made: _Plan, coverage: _Coverage) -> int | None:
    """The sum of seals a plan's rows must have: what its entry says, each row an erasure
    rewrote since counted by its new seal instead of the old one."""
    if made.seal_sum is None:
        return None
    total = made.seal_sum
    for seq, change in coverage.plan_rewrites.get(key, ()):
        if seq > made.seq:
            total += change
    return total % SEAL_SPACE


def check_rows(conn: Connection, sealer: Sealer, progress: Progress = None) -> LedgerCheck:
    """Every evidence, suppression and plan row against its seal and the audit log;
    `progress` hears the rows checked, a chunk at a time (it may raise to stop the walk)."""
    check = LedgerCheck()
    coverage = _coverage(conn)
    _walk_ids(
        check, "evidence", _evidence(conn, sealer, coverage.erased), coverage.evidence, progress
    )
    _walk_ids(
        check, "suppressions", _suppressions(conn, sealer, check, coverage),
        coverage.suppressions, progress,
    )  # fmt: skip
    _plans(conn, sealer, check, coverage, progress)
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
    sums: dict[tuple[int, int], int] = {}
    updates = []
    for r in cursor.fetchall():
        sealed = sealer.plan_row(r[:_PLAN_SEAL_AT])
        counts[(r[0], r[1])] = counts.get((r[0], r[1]), 0) + 1
        sums[(r[0], r[1])] = (sums.get((r[0], r[1]), 0) + seal_number(sealed)) % SEAL_SPACE
        updates.append((sealed, r[0], r[1], r[2]))
    cursor.executemany(
        f"UPDATE plan_rows SET seal = {mark} WHERE campaign_id = {mark} AND generation = {mark}"
        f" AND contact_id = {mark}",
        updates,
    )
    written.plans = [PlanWritten(c, g, n, sums[(c, g)]) for (c, g), n in sorted(counts.items())]
    return written
