"""`campaign plan`: every targeted contact decided by the core against the ledger, streamed in
chunks and stored as the campaign's plan.

The advertiser's live contacts are cut into chunks of consecutive ids. Each chunk is read (its
contacts, their evidence and suppression entries) in one read transaction, decided, and written
in one write transaction, under a new plan generation: by this process for a small audience, by
worker processes (fork; one per core, one more on PostgreSQL) for a large one, each with its own
connections. Nothing holds more than a few chunks in memory. When every chunk is written, one
short transaction makes the generation current (and records the audit entry); the previous
plan is then deleted.
A plan that fails half-way leaves the previous one current and its own rows are removed.

Deterministic: a row depends only on its contact, the campaign, the advertiser and the instant;
rows are keyed by contact id, so chunking and workers change nothing. Two contacts whose stored
numbers are one E.164 (a ledger written by an older version) are told apart after the chunks:
the later, by contact id, is a `duplicate` (rules.md section 3 step 1).
"""

import gc
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from queue import Empty
from typing import Any, Final, NamedTuple

from orjson import loads as json_loads
from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from tambour.contacts.ledger import Evidence, EvidenceKind, facts_of, personalization
from tambour.rules.ab_tests import LABELS
from tambour.rules.codes import ContactKind, OptOutSource, Reason
from tambour.rules.content import MAX_PARTS
from tambour.rules.day_mentions import day_warnings
from tambour.rules.decision import Decision, decide, later_duplicates
from tambour.rules.facts import OptOut
from tambour.rules.fold import fold_set
from tambour.rules.links import LinkBases
from tambour.rules.planning import Planned, Planner, plan_blocks
from tambour.rules.template import field_key
from tambour.services import plan_reads
from tambour.services.ab_draw import REST, TEST, ABDraw, ab_figures
from tambour.services.advertisers import Advertiser
from tambour.services.campaigns import PLANNABLE, Campaign, record, resolve, window_policy
from tambour.services.context import ConflictError, Context, ServiceError
from tambour.services.link_codes import LinkCodes
from tambour.services.seals import (
    PLAN_SEALED,
    SEAL_SPACE,
    PlanWritten,
    Sealer,
    Written,
    current_sealer,
    seal_number,
)
from tambour.services.suppression import phone_hash
from tambour.sms.phone import PhoneInfo, parse_phone
from tambour.store.bulk import copy_time, insert_rows, refresh_statistics
from tambour.store.engine import make_engine, reader
from tambour.store.sqlite_params import bind_as_is
from tambour.store.tables import campaigns, link_counter, message_links, plan_rows

CHUNK = 5000  # contacts read, decided and written together
PARALLEL_FROM = 20_000  # smaller audiences are planned in this process
_POLL_SECONDS = 0.5  # how often the coordinator checks that its workers are alive

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "launched": "{name!r} was launched at {at}: its plan is frozen",
    "cancelled": "{name!r} was cancelled: its plan can no longer change",
    "changed_meanwhile": "{name!r} was launched or cancelled meanwhile",
    "plan_discarded": (
        "{name!r} was launched, cancelled or planned again meanwhile: this plan is discarded"
    ),
    "worker_failed": "planning failed in a worker: {error}",
    "worker_stopped": "a planning worker stopped (exit code {exitcode})",
}

PLAN_COLUMNS = (
    "campaign_id", "generation", "contact_id", "advertiser_id", "e164", "decision", "basis",
    "reason", "deferral", "territory", "timezone", "postal_code", "send_at", "segments",
    "encoding", "ucs2_chars", "text", "seen_profile", "seen_evidence", "retain_until",
    "variant", "ab_group", "seal",
)  # fmt: skip
assert PLAN_COLUMNS[:-1] == PLAN_SEALED


@dataclass(frozen=True, slots=True)
class PlanJob:
    """What every chunk needs; inherited by the worker processes (fork), never pickled."""

    url: str
    dialect: str
    advertiser: Advertiser
    campaign_id: int
    generation: int
    tags: frozenset[str]  # folded; empty: every contact
    planner: Planner
    transaction_key: str | None = None  # transactional: the field_key of the transaction field
    max_parts: int = MAX_PARTS
    sealer: Sealer = field(default_factory=current_sealer)
    # The links each message carries (rules/links.py): their kinds and targets, in order, the
    # bases they are made on (None: not configured, the plan is blocked and counts stand-ins)
    # and the codes' key.
    link_kinds: tuple[str, ...] = ()
    link_targets: tuple[str | None, ...] = ()
    links: LinkBases | None = None
    codes: LinkCodes | None = None
    ab: ABDraw | None = None  # an A/B test: who tests which variant


@dataclass
class ChunkStats:
    """What a chunk tells the coordinator: counts for the blocks, and the numbers whose stored
    notation is not their E.164 (candidates for `duplicate`)."""

    rows: int = 0
    seal_sum: int = 0  # of the rows' seals, modulo SEAL_SPACE: the plan's digest
    sends: int = 0
    over_parts: int = 0  # sends of more parts than the limit
    missing: Counter[str] = field(default_factory=Counter)
    empty: int = 0
    renotated: set[str] = field(default_factory=set)
    groups: plan_reads.Groups = field(default_factory=dict)  # the report's counts, by SQL
    variants: Counter[str] = field(default_factory=Counter)  # an A/B test's sends, by label
    # or `rest`

    def add(self, other: "ChunkStats") -> None:
        self.rows += other.rows
        self.seal_sum = (self.seal_sum + other.seal_sum) % SEAL_SPACE
        self.sends += other.sends
        self.over_parts += other.over_parts
        self.missing.update(other.missing)
        self.empty += other.empty
        self.renotated |= other.renotated
        plan_reads.merge(self.groups, other.groups)
        self.variants.update(other.variants)


# --- reading a chunk ------------------------------------------------------------------------

# Plain SQL to the driver: SQLAlchemy's result processing would cost more than the decisions.
# The contacts are read on their primary key: through the (advertiser, e164) index the databases
# would scan the advertiser's every contact for each chunk (SQLite: NOT INDEXED keeps the rowid
# range; PostgreSQL, whose statistics lag behind a large import: `advertiser_id + 0`). JSON is
# read as text and parsed here by orjson (three times faster than the json module, which
# psycopg's loader uses), facts remembered.
_CONTACTS = {
    "sqlite": "SELECT id, e164, kind, profile, created_at, profile_hash FROM contacts NOT INDEXED "
    "WHERE advertiser_id = ? AND id >= ? AND id < ? AND e164 IS NOT NULL ORDER BY id",
    "postgresql": "SELECT id, e164, kind, profile::text, created_at, profile_hash FROM contacts "
    "WHERE advertiser_id + 0 = %s AND id >= %s AND id < %s AND e164 IS NOT NULL ORDER BY id",
}
_EVIDENCE = {
    "sqlite": "SELECT contact_id, kind, occurred_at, data, id FROM evidence "
    "WHERE advertiser_id = ? AND contact_id >= ? AND contact_id < ? ORDER BY contact_id, id",
    "postgresql": "SELECT contact_id, kind, occurred_at, data::text, id FROM evidence "
    "WHERE advertiser_id = %s AND contact_id >= %s AND contact_id < %s ORDER BY contact_id, id",
}
_SUPPRESSED = {
    "sqlite": "SELECT phone_hash, source, suppressed_at FROM suppressions "
    "WHERE advertiser_id = ? AND phone_hash IN ({marks})",
    # One index probe per hash whatever the statistics say; the hashes go as one binary
    # parameter (a list of 5,000 costs more to send than to look up).
    "postgresql": "SELECT s.phone_hash, s.source, s.suppressed_at "
    "FROM generate_series(0, %s - 1) AS i CROSS JOIN LATERAL (SELECT * FROM suppressions "
    "WHERE advertiser_id = %s::bigint AND phone_hash = substring(%s::bytea FROM i * %s + 1 "
    "FOR %s) LIMIT 1) s",
}

_KINDS = {kind.value: kind for kind in EvidenceKind}
_CONTACT_KINDS = {kind.value: kind for kind in ContactKind}

# Values parsed once and remembered: instants of a same import or day, facts stated alike
# (`{"informed":true,"objection_offered":true}`). Shared between contacts: read them only.
_MEMO_LIMIT = 50_000
_FACT_TEXT_LIMIT = 120  # longer fact texts (wording, proof) are rarely met twice
_times: dict[str, datetime] = {}
_facts: dict[str, Any] = {}
# Instants as insert_rows takes them, by dialect: send times are few, and the days data lapses
# on repeat (a ledger's facts share their days).
_stored: dict[str, dict[datetime, Any]] = {"sqlite": {}, "postgresql": {}}


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def _sqlite_time(value: str | None) -> datetime | None:
    """SQLAlchemy's SQLite format, naive UTC text, as an aware instant."""
    if value is None:
        return None
    found = _times.get(value)
    if found is None:
        found = _remember(_times, value, datetime.fromisoformat(value).replace(tzinfo=UTC))
    return found


def _as_is(value: Any) -> Any:
    return value


def _stored_time(dialect: str, value: datetime) -> Any:
    """`copy_time(dialect, value)`, remembered."""
    memo = _stored[dialect]
    found = memo.get(value)
    if found is None:
        found = _remember(memo, value, copy_time(dialect, value))
    return found


class _Chunk(NamedTuple):
    contacts: list[tuple[Any, ...]]  # id, e164, kind, profile, created_at, profile_hash
    phones: list[PhoneInfo]  # each contact's number read again: its E.164 today
    events: dict[int, list[Evidence]]  # by contact id, in recording order
    latest: dict[int, int]  # by contact id, the largest evidence id
    suppressed: dict[str, OptOut]  # by E.164


def read_events(
    cursor: Any, dialect: str, advertiser: int, lo: int, hi: int
) -> tuple[dict[int, list[Evidence]], dict[int, int]]:
    """The evidence of the advertiser's contacts with ids in [lo, hi), by contact id in
    recording order, and each contact's largest evidence id (the driver's `cursor`)."""
    when = _sqlite_time if dialect == "sqlite" else _as_is  # PostgreSQL: UTC instants already
    binary = {} if dialect == "sqlite" else {"binary": True}
    cursor.execute(_EVIDENCE[dialect], (advertiser, lo, hi), **binary)
    events: dict[int, list[Evidence]] = {}
    facts, kinds = _facts, _KINDS
    latest: dict[int, int] = {}  # each contact's largest evidence id (rows come in id order)
    for contact_id, kind, at, stated, evidence_id in cursor.fetchall():
        latest[contact_id] = evidence_id
        data = facts.get(stated)
        if data is None:
            data = json_loads(stated)
            if len(stated) < _FACT_TEXT_LIMIT:
                _remember(facts, stated, data)
        found = events.get(contact_id)
        if found is None:
            found = events[contact_id] = []
        found.append(Evidence(kinds[kind], when(at), data))
    return events, latest


def read_time(dialect: str, value: Any) -> datetime | None:
    """An instant as the driver gives it back (SQLite: SQLAlchemy's naive UTC text)."""
    return _sqlite_time(value) if dialect == "sqlite" else value


def _read_chunk(cursor: Any, job: PlanJob, lo: int, hi: int) -> _Chunk:
    """The chunk's contacts, their evidence and suppression entries."""
    dialect, advertiser = job.dialect, job.advertiser.id
    when = _sqlite_time if dialect == "sqlite" else _as_is  # PostgreSQL: UTC instants already
    binary = {} if dialect == "sqlite" else {"binary": True}  # PostgreSQL: nothing to format
    cursor.execute(_CONTACTS[dialect], (advertiser, lo, hi), **binary)
    contacts = cursor.fetchall()
    events, latest = read_events(cursor, dialect, advertiser, lo, hi)
    # The suppression list holds keyed hashes of E.164 numbers: looked up by each number's
    # E.164 today, and by its stored notation too when an older ledger wrote it otherwise.
    phones = [parse_phone(row[1]) for row in contacts]
    hashes: dict[bytes, str] = {}
    for row, phone in zip(contacts, phones, strict=True):
        number = phone.e164 or row[1]
        hashes[phone_hash(job.advertiser, number)] = number
        if number != row[1]:
            hashes[phone_hash(job.advertiser, row[1])] = number
    suppressed: dict[str, OptOut] = {}
    if hashes:
        keys = list(hashes)
        if dialect == "sqlite":
            query = _SUPPRESSED["sqlite"].format(marks=", ".join("?" * len(keys)))
            cursor.execute(query, (advertiser, *keys))
        else:
            size = len(keys[0])  # an HMAC-SHA256: every hash has the same length
            assert all(len(key) == size for key in keys)
            cursor.execute(
                _SUPPRESSED["postgresql"],
                (len(keys), advertiser, b"".join(keys), size, size),
                binary=True,
            )
        for digest, source, at in cursor.fetchall():
            number = hashes[bytes(digest)]
            found_out = OptOut(OptOutSource(source), when(at))
            if number not in suppressed or found_out.source is OptOutSource.COMPLAINT_33700:
                suppressed[number] = found_out
    return _Chunk(contacts, phones, events, latest, suppressed)


# --- deciding and writing a chunk -----------------------------------------------------------


# A contact decided: its id, its number (E.164 today, else as stored), profile, profile hash
# and decision. A plain tuple: one is made for every contact.
_Decided = tuple[int, str, dict[str, Any], bytes, Decision]


def _plan_rows(
    job: PlanJob, chunk: _Chunk, stats: ChunkStats, reserve: Callable[[int], int]
) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    """The chunk's plan rows, in PLAN_COLUMNS order, sealed, and the rows of the links their
    messages carry (ids from `reserve(n)`, the first of n). The hot loops of a plan, one after
    the other over the chunk (each keeps its own code in the processor's cache): the
    decisions, the rows with their messages, the seals."""
    decided = _decisions(job, chunk, stats)
    made: _MadeLinks | None = None
    if job.link_kinds and job.links is not None and job.codes is not None:
        sends = sum(1 for item in decided if item[4].send)
        if sends:
            made = _MadeLinks(job, reserve(sends * len(job.link_kinds)))
    rows = _rows(job, decided, chunk.latest, stats, made)
    return _sealed(rows, job.sealer, stats), made.rows if made else []


LINK_COLUMNS = (
    "id", "advertiser_id", "campaign_id", "generation", "contact_id", "kind", "target",
    "territory", "variant",
)  # fmt: skip


class _MadeLinks:
    """The links of a chunk's messages: each send's, ids taken in turn from a reserved block."""

    def __init__(self, job: PlanJob, first: int) -> None:
        assert job.links is not None and job.codes is not None
        self.job, self.links, self.codes = job, job.links, job.codes
        self.next_id = first
        self.rows: list[tuple[Any, ...]] = []

    def of(self, contact_id: int, territory: str | None, variant: str | None) -> list[str]:
        """The links of one send's message, recorded (an A/B test's `variant`: its clicks
        counted for it; None for the rest until the winner is chosen)."""
        job, urls = self.job, []
        for kind, target in zip(job.link_kinds, job.link_targets, strict=True):
            link_id = self.next_id
            self.next_id += 1
            if kind == "stop":
                urls.append(self.links.stop_link(self.codes.token(link_id)))
            else:
                urls.append(self.links.short_link(self.codes.code(link_id)))
            self.rows.append(
                (link_id, job.advertiser.id, job.campaign_id, job.generation, contact_id, kind,
                 target, territory, variant)
            )  # fmt: skip
        return urls


def _decisions(job: PlanJob, chunk: _Chunk, stats: ChunkStats) -> list[_Decided]:
    """Each targeted contact of the chunk decided by the core (called directly, names bound
    locally)."""
    planner, tags = job.planner, job.tags
    campaign, advertiser, now = planner.campaign, planner.advertiser, planner.now
    when = _sqlite_time if job.dialect == "sqlite" else _as_is
    events, suppressed = chunk.events, chunk.suppressed
    loads, kinds, none = json_loads, _CONTACT_KINDS, ()
    reference_key = job.transaction_key
    decided: list[_Decided] = []
    append = decided.append
    for row, phone in zip(chunk.contacts, chunk.phones, strict=True):
        contact_id, e164, kind, stored_profile, created_at, profile_hash = row
        profile = loads(stored_profile)
        if tags and not tags & fold_set(profile.get("tags", none)):
            continue  # not targeted
        number = phone.e164 or e164
        reference = None
        if reference_key is not None:  # transactional: the recipient's own transaction
            reference = personalization(profile).get(reference_key)
        facts = facts_of(
            phone, kinds[kind], profile, events.get(contact_id, none),
            first_seen_at=when(created_at), suppression=suppressed.get(number),
            transaction_reference=reference,
        )  # fmt: skip
        if number != e164:
            stats.renotated.add(number)
        decision = decide(facts, campaign, advertiser, now)
        append((contact_id, number, profile, profile_hash, decision))
    return decided


def _rows(
    job: PlanJob,
    decided: list[_Decided],
    latest: dict[int, int],
    stats: ChunkStats,
    made: "_MadeLinks | None" = None,
) -> list[list[Any]]:
    """The plan rows of the decided contacts, in PLAN_COLUMNS order but the seal: a send's
    exact message written (with its own links, `made`; without, links of the same length
    stand in: the plan is blocked), and what the messages reveal counted in `stats`. Lists:
    the seal is appended to each."""
    stand_ins = (job.links or LinkBases()).stand_ins(job.link_kinds)
    dialect, planner, max_parts, ab = job.dialect, job.planner, job.max_parts, job.ab
    campaign_id, generation, advertiser = job.campaign_id, job.generation, job.advertiser.id
    stored = _stored[dialect]
    rows: list[list[Any]] = []
    append = rows.append
    sends = 0
    for contact_id, number, profile, profile_hash, decision in decided:
        locality = decision.locality
        territory = zone = None
        if locality is not None:
            territory, zone = locality.territory, locality.timezones[0]
        # Codes as plain texts (str() of a code): what the database stores, and what sqlite3
        # binds without first searching for an adapter for a subclass of str.
        if not decision.send:
            append(
                [campaign_id, generation, contact_id, advertiser, number, "exclude", None,
                 str(decision.reason), None, territory, zone, profile.get("postal_code"), None,
                 None, None, None, None, profile_hash, latest.get(contact_id, 0), None, None,
                 None]
            )  # fmt: skip
            continue
        variant = group = None
        if ab is None:  # inline: the plan's hot path, once for every send
            links = made.of(contact_id, territory, None) if made is not None else stand_ins
            planned = planner.message(decision, personalization(profile), links)
            count = planned.counted
            assert count is not None
            if planned.missing:
                stats.missing.update(planned.missing)
            if planned.empty:
                stats.empty += 1
            if count.segments > max_parts:
                stats.over_parts += 1
        else:
            picked = ab.variant(contact_id)
            label = None if picked is None else LABELS[picked]
            links = made.of(contact_id, territory, label) if made is not None else stand_ins
            values = personalization(profile)
            if picked is not None:  # in the test: the variant drawn
                planned = planner.message(decision, values, links, variant=picked)
                _count_message(planned, stats, max_parts)
                variant, group = label, TEST
            else:  # the rest: every variant checked (one of them will be its text), no text
                # yet; its parts counted at the longest, what the winner may cost
                planned = _longest(
                    [planner.message(decision, values, links, variant=index)
                     for index in range(ab.variants)],
                    stats, max_parts,
                )  # fmt: skip
                group = REST
            stats.variants[variant or REST] += 1
        count = planned.counted
        assert count is not None and decision.send_at is not None
        send_at = stored.get(decision.send_at) or _stored_time(dialect, decision.send_at)
        retain_until = decision.retain_until
        if retain_until is not None:
            retain_until = stored.get(retain_until) or _stored_time(dialect, retain_until)
        deferral = decision.deferral
        sends += 1
        append(
            [campaign_id, generation, contact_id, advertiser, number, "send",
             str(decision.basis), None, deferral and str(deferral), territory, zone,
             profile.get("postal_code"), send_at, count.segments, count.encoding,
             planned.forcing[:40] or None, planned.text if group != REST else None,
             profile_hash, latest.get(contact_id, 0), retain_until, variant, group]
        )  # fmt: skip
    stats.rows += len(rows)
    stats.sends += sends
    return rows


def _count_message(planned: Planned, stats: ChunkStats, max_parts: int) -> None:
    """What a send's message reveals, counted for the plan's blocks."""
    assert planned.counted is not None
    if planned.missing:
        stats.missing.update(planned.missing)
    if planned.empty:
        stats.empty += 1
    if planned.counted.segments > max_parts:
        stats.over_parts += 1


def _longest(variants: list[Planned], stats: ChunkStats, max_parts: int) -> Planned:
    """An A/B test's recipient of the rest: each variant's message counted for the blocks (a
    placeholder without a value counted once), the longest returned."""
    missing = {name for planned in variants for name in planned.missing}
    if missing:
        stats.missing.update(missing)
    if any(planned.empty for planned in variants):
        stats.empty += 1
    longest = max(variants, key=lambda planned: planned.counted.segments if planned.counted else 0)
    assert longest.counted is not None
    if longest.counted.segments > max_parts:
        stats.over_parts += 1
    return longest


def _sealed(rows: list[list[Any]], sealer: Sealer, stats: ChunkStats) -> list[list[Any]]:
    """The rows, each with its seal appended, and the chunk's seal sum in `stats`."""
    seal = sealer.plan_row
    digest = 0
    for row in rows:
        sealed = seal(row)
        digest += seal_number(sealed)
        row.append(sealed)
    stats.seal_sum = (stats.seal_sum + digest) % SEAL_SPACE
    return rows


def _reserve_links(conn: Connection, n: int) -> int:
    """The first of `n` link ids reserved for this chunk (a short transaction of its own: ids
    a failed plan leaves unused are never handed out again). The counter's row is made on
    first use (by the migration, or here when a table was emptied)."""
    bump = (
        update(link_counter)
        .where(link_counter.c.id == 1)
        .values(next_id=link_counter.c.next_id + n)
        .returning(link_counter.c.next_id)
    )
    with conn.begin():
        after = conn.execute(bump).scalar_one_or_none()
        if after is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(link_counter).values(id=1, next_id=1 + n))
                after = 1 + n
            except IntegrityError:  # another plan made it meanwhile
                after = conn.execute(bump).scalar_one()
    return int(after) - n


def _pg_session(conn: Connection) -> None:
    """Times in UTC (as the SQLite path reads them: same facts, same plan), and the chunk
    queries kept on their indexes whatever the statistics say right after a large import."""
    conn.exec_driver_sql("SET TIME ZONE 'UTC'")
    conn.exec_driver_sql("SET enable_seqscan = off")
    conn.exec_driver_sql("SET jit = off")


def _plan_chunk(
    reads: Connection, writes: Connection, job: PlanJob, lo: int, hi: int
) -> ChunkStats:
    stats = ChunkStats()
    with reads.begin():  # one snapshot: a contact is read with all of its facts
        cursor = reads.connection.driver_connection.cursor()  # type: ignore[union-attr]
        chunk = _read_chunk(cursor, job, lo, hi)
    rows, link_rows = _plan_rows(job, chunk, stats, lambda n: _reserve_links(writes, n))
    with writes.begin():
        insert_rows(writes, "plan_rows", PLAN_COLUMNS, rows)
        if link_rows:
            insert_rows(writes, "message_links", LINK_COLUMNS, link_rows)
        # The report's figures for this chunk, counted by the database from the rows stored.
        stats.groups = plan_reads.groups(writes, job.campaign_id, job.generation, (lo, hi))
    return stats


@contextmanager
def _connections(engine: Engine) -> Iterator[tuple[Connection, Connection]]:
    if engine.dialect.name == "sqlite":
        bind_as_is()  # a plan row binds a dozen NULLs and bytes
    with reader(engine) as reads, engine.connect() as writes:
        if engine.dialect.name == "postgresql":
            reads.execution_options(isolation_level="REPEATABLE READ")  # in place
            _pg_session(reads)
            _pg_session(writes)
            reads.commit()
            writes.commit()
        yield reads, writes


# --- running the chunks ---------------------------------------------------------------------


def chunk_bounds(conn: Connection, advertiser_id: int, size: int = CHUNK) -> list[tuple[int, int]]:
    """[lo, hi) id ranges of at most `size` live contacts each, up to the largest id now
    (contacts created while the plan runs are not part of it). Ids an import reserved together
    are dense: ranges of `size` ids then; else (tenants interleaved) every size-th live id."""
    keys = {"advertiser": advertiser_id, "size": size}
    first, last, live = conn.execute(
        text(
            "SELECT min(id), max(id), count(*) FROM contacts "
            "WHERE advertiser_id = :advertiser AND e164 IS NOT NULL"
        ),
        keys,
    ).one()
    if not live:
        return []
    if last - first + 1 <= 2 * live:
        return [(lo, min(lo + size, last + 1)) for lo in range(first, last + 1, size)]
    starts = list(
        conn.execute(
            text(
                "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts "
                "WHERE advertiser_id = :advertiser AND e164 IS NOT NULL) AS t "
                "WHERE n % :size = 1 ORDER BY id"
            ),
            keys,
        ).scalars()
    )
    return list(zip(starts, [*starts[1:], last + 1], strict=True))


def _run_here(
    engine: Engine, job: PlanJob, bounds: list[tuple[int, int]], progress: Callable[[int], None]
) -> ChunkStats:
    total = ChunkStats()
    with _connections(engine) as (reads, writes):
        for lo, hi in bounds:
            stats = _plan_chunk(reads, writes, job, lo, hi)
            total.add(stats)
            progress(stats.rows)
    return total


def _worker(job: PlanJob, bounds: list[tuple[int, int]], share: tuple[int, int], out: Any) -> None:
    """A worker process: every n-th chunk from the k-th, each chunk's stats (or the error that
    stopped it) to the coordinator, then None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    gc.freeze()
    gc.disable()  # see run_chunks; this process ends with the plan
    mine, every = share
    engine = make_engine(job.url, pooled=False)
    try:
        with _connections(engine) as (reads, writes):
            for lo, hi in bounds[mine::every]:
                out.put(_plan_chunk(reads, writes, job, lo, hi))
    except Exception as error:  # handed to the coordinator, which reports it
        said = TEXTS["worker_failed"].format(error=f"{type(error).__name__}: {error}")
        out.put(ServiceError(said, code="plan_failed"))
    else:
        out.put(None)
    finally:
        engine.dispose()
        out.close()
        out.join_thread()


def _run_beside(
    job: PlanJob, bounds: list[tuple[int, int]], workers: int, progress: Callable[[int], None]
) -> ChunkStats:
    context = multiprocessing.get_context("fork")
    out: Any = context.Queue()
    processes = [
        context.Process(target=_worker, args=(job, bounds, (k, workers), out), daemon=True)
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    total = ChunkStats()
    running = workers
    try:
        while running:
            try:
                item = out.get(timeout=_POLL_SECONDS)
            except Empty:
                dead = [p for p in processes if not p.is_alive() and p.exitcode]
                if dead:
                    said = TEXTS["worker_stopped"].format(exitcode=dead[0].exitcode)
                    raise ServiceError(said, code="plan_failed") from None
                continue
            if item is None:
                running -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                total.add(item)
                progress(item.rows)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        out.close()
        out.cancel_join_thread()
    return total


def run_chunks(
    engine: Engine,
    job: PlanJob,
    bounds: list[tuple[int, int]],
    *,
    workers: int | None,
    progress: Callable[[int], None] | None = None,
) -> ChunkStats:
    """Plan every chunk; workers None chooses: none for a small audience, else one per core
    (SQLite), one more on PostgreSQL, whose workers wait for the server part of the time.

    With workers, this process plans the first chunk itself before they start: they inherit
    what it warmed up (holiday calendars, sending-window schedules, localities, texts)."""
    report = progress or (lambda _n: None)
    if workers is None:
        cores = os.cpu_count() or 1
        parallel = cores + (engine.dialect.name == "postgresql")
        workers = 0 if len(bounds) * CHUNK < PARALLEL_FROM else parallel
    workers = min(workers, len(bounds) - 1)
    # A plan makes millions of short-lived objects and no reference cycles: the cyclic
    # collector would only rescan them (a tenth of the time). Off for the duration.
    collecting = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        if workers <= 0:
            return _run_here(engine, job, bounds, report)
        stats = _run_here(engine, job, bounds[:1], report)
        stats.add(_run_beside(job, bounds[1:], workers, report))
        return stats
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()


# --- after the chunks -----------------------------------------------------------------------


def mark_duplicates(conn: Connection, job: PlanJob, numbers: set[str], stats: ChunkStats) -> int:
    """Rows of one E.164 after the first (by contact id) become `duplicate`, unless step 1
    already excluded them. Only numbers stored in another notation can meet another row."""
    if not numbers:
        return 0
    channel = job.planner.campaign.channel
    mine = (plan_rows.c.campaign_id == job.campaign_id) & (plan_rows.c.generation == job.generation)
    found = conn.execute(
        select(plan_rows.c.contact_id, plan_rows.c.e164)
        .where(mine, plan_rows.c.e164.in_(sorted(numbers)))
        .order_by(plan_rows.c.contact_id)
    ).all()
    later = later_duplicates(((cid, parse_phone(e164)) for cid, e164 in found), channel)
    if later:
        conn.execute(
            update(plan_rows)
            .where(mine, plan_rows.c.contact_id.in_(later))
            .values(
                decision="exclude", basis=None, reason=Reason.DUPLICATE.value, deferral=None,
                territory=None, timezone=None, send_at=None, segments=None, encoding=None,
                ucs2_chars=None, text=None, retain_until=None, variant=None, ab_group=None,
            )
        )  # fmt: skip
        stats.seal_sum = reseal(
            conn, job.sealer, mine & plan_rows.c.contact_id.in_(later), stats.seal_sum
        )
    return len(later)


def reseal(conn: Connection, sealer: Sealer, where: Any, seal_sum: int) -> int:
    """Seal again the plan rows `where` selects, after Tambour itself changed them; returns
    the plan's seal sum with their old seals replaced by the new."""
    columns = [plan_rows.c[name] for name in PLAN_SEALED]
    for row in conn.execute(select(*columns, plan_rows.c.seal).where(where)).all():
        sealed = sealer.plan_row(tuple(row)[:-1])
        seal_sum += seal_number(sealed) - seal_number(bytes(row.seal))
        conn.execute(
            update(plan_rows)
            .where(
                plan_rows.c.campaign_id == row.campaign_id,
                plan_rows.c.generation == row.generation,
                plan_rows.c.contact_id == row.contact_id,
            )
            .values(seal=sealed)
        )
    return seal_sum % SEAL_SPACE


def drop_generation(conn: Connection, campaign_id: int, generation: int, *, older: bool) -> None:
    """Delete one generation's rows and the links made for them, or (older=True) those of
    every generation before it."""
    for table in (plan_rows, message_links):
        where = table.c.campaign_id == campaign_id
        if older:
            where &= table.c.generation < generation
        else:
            where &= table.c.generation == generation
        conn.execute(delete(table).where(where))


def next_generation(conn: Connection, campaign_id: int) -> int | None:
    """A fresh generation number for a campaign that may still be planned, else None."""
    return conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status.in_(("draft", "planned")))
        .values(generations=campaigns.c.generations + 1)
        .returning(campaigns.c.generations)
    ).scalar_one_or_none()


def elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 3)


# --- the use case ---------------------------------------------------------------------------


def plan(
    ctx: Context,
    *,
    name: str,
    slug: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Campaign:
    """Decide every targeted contact and make the result the campaign's plan (one plan left)."""
    started = time.perf_counter()
    now = ctx.now()
    with reader(ctx.engine) as conn:
        campaign = resolve(conn, name, slug)
        window = window_policy(conn, campaign.advertiser)
    if campaign.status not in PLANNABLE:
        raise _frozen(campaign)
    content = campaign.content(ctx.links)
    variants = campaign.variant_contents(ctx.links) if campaign.ab else ()
    # The core compares the instant with every fact's (UTC, as read): given in UTC too, each
    # comparison is of two times of one zone, not of two zones' offsets.
    at = now.astimezone(UTC)
    planner = Planner(
        campaign.facts(at, window), campaign.advertiser.facts, content, at, variants=variants
    )
    with ctx.engine.begin() as conn:
        generation = next_generation(conn, campaign.id)
    if generation is None:
        said = TEXTS["changed_meanwhile"].format(name=campaign.name)
        raise ConflictError(said, code="plan_discarded")
    job = PlanJob(
        url=ctx.engine.url.render_as_string(hide_password=False),
        dialect=ctx.engine.dialect.name,
        advertiser=campaign.advertiser,
        campaign_id=campaign.id,
        generation=generation,
        tags=fold_set(campaign.tags),
        planner=planner,
        transaction_key=field_key(campaign.transaction_field)
        if campaign.transaction_field
        else None,
        link_kinds=content.link_kinds,
        link_targets=(
            *(link.target for link in content.template.links),
            *((None,) if content.appended_stop_link else ()),
        ),
        links=ctx.links if ctx.links.public_url else None,
        codes=LinkCodes.for_keys(ctx.keys) if content.link_kinds else None,
        ab=ABDraw.of(ctx.keys, campaign.id, campaign.ab.share, len(variants))
        if campaign.ab
        else None,
    )
    try:
        with reader(ctx.engine) as conn:
            bounds = chunk_bounds(conn, campaign.advertiser.id)
        stats = run_chunks(ctx.engine, job, bounds, workers=workers, progress=progress)
        with ctx.engine.begin() as conn:
            duplicates = mark_duplicates(conn, job, stats.renotated, stats)
        grouped = stats.groups
        if duplicates:  # rows changed after their chunk was counted: count them all again
            with reader(ctx.engine) as conn:
                grouped = plan_reads.groups(conn, campaign.id, generation)
        figures = plan_reads.summarize(grouped)
        # Not blocks: a text that names a day other than the one it leaves on.
        days = plan_reads.send_days(grouped)
        figures["warnings"] = list(
            dict.fromkeys(
                warning for checked in variants or (content,)
                for warning in day_warnings(checked.literal, days)
            )
        )  # fmt: skip
        if campaign.ab:
            figures["ab_test"] = ab_figures(campaign.ab, stats.variants)
        blocks = plan_blocks(
            content, stats.missing, stats.empty, sends=figures["send"], over_parts=stats.over_parts
        )
        figures["blocks"] = [{"code": b.code.value, "message": b.message} for b in blocks]
        figures["seconds"] = elapsed(started)
        with ctx.engine.begin() as conn:
            # The newest generation handed out: not one the campaign was edited (or planned
            # again) after, so a plan is never made current on an older definition.
            current = campaigns.c.generations == generation
            switched = conn.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign.id, campaigns.c.status.in_(PLANNABLE), current)
                .values(
                    status="planned",
                    plan_generation=generation,
                    planned_at=now,
                    plan_summary=figures,
                )
            ).rowcount
            if not switched:
                said = TEXTS["plan_discarded"].format(name=campaign.name)
                raise ConflictError(said, code="plan_discarded")
            record(
                conn, ctx, campaign, "plan", now, generation=generation,
                targeted=figures["targeted"], send=figures["send"], exclude=figures["exclude"],
                by_basis=figures["by_basis"], by_reason=figures["by_reason"],
                parts=figures["parts"], duplicates=duplicates,
                blocks=[b.code.value for b in blocks],
                rows=Written(
                    plans=[PlanWritten(campaign.id, generation, stats.rows, stats.seal_sum)]
                ).as_details(),
            )  # fmt: skip
    except BaseException:
        with ctx.engine.begin() as conn:  # the previous plan, if any, stays current
            drop_generation(conn, campaign.id, generation, older=False)
        raise
    with ctx.engine.begin() as conn:
        drop_generation(conn, campaign.id, generation, older=True)
    if stats.rows >= PARALLEL_FROM:
        # A large plan changes the table's statistics by as much: without them the server
        # reads a plan's first rows (report samples, launch) by scanning all of it.
        with ctx.engine.begin() as conn:
            refresh_statistics(conn, "plan_rows")
    with reader(ctx.engine) as conn:
        return resolve(conn, campaign.name, campaign.advertiser.slug)


def _frozen(campaign: Campaign) -> ConflictError:
    if campaign.status == "launched":
        assert campaign.launched_at is not None
        said = TEXTS["launched"].format(name=campaign.name, at=campaign.launched_at.isoformat())
        return ConflictError(said, code="campaign_launched")
    said = TEXTS["cancelled"].format(name=campaign.name)
    return ConflictError(said, code="campaign_cancelled")
