"""The audit log (rules.md §6, last bullet): append-only, every entry chained to the previous one
by hash, so an edit, a removal or a reordering is detectable.

Entry n stores `prev_hash` = hash of entry n-1 (`GENESIS_HASH` for entry 1) and `hash` =
`entry_hash(...)` over all its fields, `seq` included. `verify` walks the log in order and
recomputes everything. Removing the *last* entries leaves a valid shorter chain: only an anchor
kept outside the database catches that. `head()` prints one (count, last hash); give it back to
`verify(expect_count=..., expect_head=...)` later. An anchor stays valid while the log grows: it
says "entry N exists and has this hash", not "the log ends at N".

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock (`AUDIT_LOCK_KEY`),
on SQLite by the `BEGIN IMMEDIATE` transaction that `store.engine.make_engine` always opens.
Migration 0002 adds triggers that refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL).

Details are stored as canonical JSON text and hashed as stored. They never hold a phone number
in clear: callers pass counts, file names, hashes.
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from tambour.sms.phone import parse_phone
from tambour.store.bulk import adapt_datetime, driver_cursor, mark, pipeline
from tambour.store.tables import audit_log

GENESIS_HASH = "0" * 64

# The key of the PostgreSQL advisory lock that serialises appenders: b"tambaudt" as a bigint.
# No other part of Tambour may use this key.
AUDIT_LOCK_KEY = 0x74616D6261756474

_HASH_VERSION = "tambour-audit/1"  # first item of the hashed encoding; change it with the format
_VERIFY_CHUNK = 1000  # rows fetched at a time by verify()
MAX_ACTOR, _MAX_ACTION = 100, 64  # the column sizes in store/tables.py
# A run of digits and notation characters, not inside a word or a hash (but `_` separates:
# "relance_0612345678.csv").
_PHONE_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])\+?\(?\d[\d \t.\-()\u00a0\u202f]{4,}\d(?![A-Za-z0-9])"
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    advertiser_id: int | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """`ok` or the first problem found, in words, with the seq of the first bad entry when known.

    `count` and `head` describe the log as read (all of it, even past a problem)."""

    ok: bool
    count: int
    head: str
    first_bad: int | None
    problem: str | None


def id_ranges(ids: Sequence[int]) -> list[list[int]]:
    """Ids as compact runs: [1, 2, 3, 7, 9, 10] -> [[1, 3], [7, 7], [9, 10]] (numbers, not
    text: the audit log's phone check would read '1-3,7' as digits)."""
    return [[first, last] for first, last in _runs(sorted(ids))]


def _runs(ids: Sequence[int]) -> Iterator[tuple[int, int]]:
    if not ids:
        return
    first = last = ids[0]
    for value in ids[1:]:
        if value == last + 1:
            last = value
            continue
        yield first, last
        first = last = value
    yield first, last


def _utc_iso(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    advertiser_id: int | None,
    details_json: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the entry: a JSON array (ASCII, escaped strings, so no two different
    entries share an encoding) of a format tag and every field, `at` in UTC ISO 8601 with
    microseconds and `details_json` as the exact stored text."""
    encoded = json.dumps(
        [_HASH_VERSION, seq, _utc_iso(at), actor, action, advertiser_id, details_json, prev_hash],
        ensure_ascii=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def canonical_json(details: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text; raises TypeError/ValueError on what JSON cannot hold."""
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def without_phones(value: str) -> str:
    """`value` with every phone number in it masked, for names the audit log must mention
    (an import file called `relances 06 12 34 56 78.csv`)."""
    return _PHONE_CANDIDATE.sub(
        lambda m: "[phone]" if parse_phone(m.group()).valid else m.group(), value
    )


def looks_like_phone(value: str) -> bool:
    """Whether the text holds a phone number: any run of digits and separators, standing alone
    (not inside a word or a hash), that the phone core reads as a valid number
    ("06 12 34 56 78", "+33 6.12.34.56.78", "appel du 0612345678"). Dates, counts, file names
    and hashes are not numbers and pass."""
    return any(parse_phone(m.group()).valid for m in _PHONE_CANDIDATE.finditer(value))


def _refuse_phones(value: Any, path: str) -> None:
    if isinstance(value, str):
        if looks_like_phone(value):
            raise ValueError(f"audit details must not hold a phone number in clear (at {path})")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and looks_like_phone(key):
                raise ValueError(f"audit details must not hold a phone number in clear ({path})")
            _refuse_phones(item, f"{path}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _refuse_phones(item, f"{path}[{index}]")


def lock(conn: Connection) -> None:
    """Serialise with every appender until the caller's transaction ends (a writer that reads
    rows, then writes and audits them, takes it first)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        if getattr(conn.connection.dbapi_connection, "autocommit", False):
            # The lock would be released at once and each statement committed on its own.
            raise RuntimeError("audit.append needs a transaction, not an AUTOCOMMIT connection")
        # Held until the caller's transaction ends. Under READ COMMITTED (the default) the next
        # statement sees the entry the previous holder committed.
        driver_cursor(conn).execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
    elif dialect != "sqlite":  # SQLite: make_engine's BEGIN IMMEDIATE already serialises
        raise RuntimeError(f"the audit log does not know how to serialise appends on {dialect}")


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    details: Mapping[str, Any],
    at: datetime,
    advertiser_id: int | None = None,
) -> AuditEntry:
    """Add one entry inside the caller's transaction (it is written when the caller commits).

    Raises ValueError for a naive `at`, an empty or too long actor/action, or a phone number in
    `details`; TypeError when `details` is not JSON. On PostgreSQL, use READ COMMITTED (the
    default): under REPEATABLE READ a concurrent append makes this one fail on the primary key.
    """
    if not actor or len(actor) > MAX_ACTOR:
        raise ValueError(f"actor must have 1 to {MAX_ACTOR} characters")
    if not action or len(action) > _MAX_ACTION:
        raise ValueError(f"action must have 1 to {_MAX_ACTION} characters")
    if not isinstance(details, Mapping):
        raise TypeError("details must be a mapping")
    _refuse_phones(details, "details")
    details_json = canonical_json(details)
    _utc_iso(at)  # refuses a naive time before touching the database
    at = at.astimezone(UTC)

    # To the driver, not through SQLAlchemy's statements: the workers append an entry with
    # every flush of what they sent, and its building cost them a sixth of a flush.
    cursor = driver_cursor(conn)
    with pipeline(conn):  # one wait for both: the server still reads the head once it holds
        lock(conn)  #       the lock (statements run in order), so no other head can slip in
        cursor.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        last = cursor.fetchone()
    seq, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    digest = entry_hash(seq, at, actor, action, advertiser_id, details_json, prev_hash)
    q = mark(conn)
    cursor.execute(
        "INSERT INTO audit_log (seq, at, actor, action, advertiser_id, details, prev_hash, hash)"
        f" VALUES ({', '.join([q] * 8)})",
        [seq, adapt_datetime(conn, at), actor, action, advertiser_id, details_json, prev_hash,
         digest],
    )  # fmt: skip
    return AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        advertiser_id=advertiser_id,
        details=json.loads(details_json),
        prev_hash=prev_hash,
        hash=digest,
    )


def _gap_problem(expected: int, seq: int) -> str:
    if seq < expected:
        return f"entry {seq} is out of sequence (seq must start at 1)"
    where = "the log starts at" if expected == 1 else f"seq jumps from {expected - 1} to"
    if seq == expected + 1:
        return f"entry {expected} is missing ({where} {seq})"
    return f"entries {expected} to {seq - 1} are missing ({where} {seq})"


def verify(
    conn: Connection,
    *,
    expect_head: str | None = None,
    expect_count: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Walk the whole log in seq order, streamed (a chunk of rows in memory at a time), and
    check: seq is 1, 2, 3... without gaps; each stored hash matches the entry's content; each
    prev_hash is the previous entry's hash.

    The anchor (`expect_count`, `expect_head`, as returned by `head()` earlier) says that entry
    `expect_count` exists and has hash `expect_head`; it detects removal of the last entries and
    a chain rewritten with recomputed hashes. `expect_head` alone: some entry has that hash.
    `expect_count` alone: the log has at least that many entries.

    On SQLite, call it in a short transaction of its own: make_engine's transactions take the
    write lock, so appenders wait while it runs. `progress` hears the entries checked, a chunk
    at a time (it may raise to stop the walk)."""
    if expect_count is not None and expect_count < 0:
        raise ValueError("expect_count must not be negative")
    problem: str | None = None
    first_bad: int | None = None
    anchor_seen = expect_head is None or expect_count == 0
    if expect_count == 0 and expect_head not in (None, GENESIS_HASH):
        problem = "the anchor says 0 entries but its head is not the genesis hash"

    count, prev = 0, GENESIS_HASH
    stmt = select(
        audit_log.c.seq,
        audit_log.c.at,
        audit_log.c.actor,
        audit_log.c.action,
        audit_log.c.advertiser_id,
        audit_log.c.details,
        audit_log.c.prev_hash,
        audit_log.c.hash,
    ).order_by(audit_log.c.seq)
    result = conn.execute(stmt.execution_options(yield_per=_VERIFY_CHUNK))
    try:
        for row in result:
            count += 1
            if progress is not None and count % _VERIFY_CHUNK == 0:
                progress(_VERIFY_CHUNK)
            if problem is None:
                expected = count
                recomputed = entry_hash(
                    row.seq,
                    row.at,
                    row.actor,
                    row.action,
                    row.advertiser_id,
                    row.details,
                    row.prev_hash,
                )
                if row.seq != expected:
                    problem, first_bad = _gap_problem(expected, row.seq), min(row.seq, expected)
                elif recomputed != row.hash:
                    problem = f"entry {row.seq} was edited (its hash does not match its content)"
                    first_bad = row.seq
                elif row.prev_hash != prev:
                    problem = (
                        "entry 1 does not start the chain (prev_hash is not the genesis hash)"
                        if row.seq == 1
                        else f"entry {row.seq} does not follow entry {row.seq - 1} "
                        "(prev_hash mismatch)"
                    )
                    first_bad = row.seq
                elif expect_head is not None and (
                    row.seq == expect_count if expect_count is not None else row.hash == expect_head
                ):
                    if row.hash == expect_head:
                        anchor_seen = True
                    else:
                        problem, first_bad = (
                            f"entry {row.seq} does not match the anchor (the log was rewritten "
                            f"up to it)",
                            row.seq,
                        )
            prev = row.hash
    finally:
        result.close()
    if progress is not None and count % _VERIFY_CHUNK:
        progress(count % _VERIFY_CHUNK)

    if problem is None and expect_count is not None and count < expect_count:
        problem = f"the log has {count} entries, the anchor says {expect_count}"
        first_bad = count + 1
    elif problem is None and not anchor_seen:
        problem = "no entry has the anchor's hash (the log was rewritten or cut)"
    return VerifyResult(
        ok=problem is None, count=count, head=prev, first_bad=first_bad, problem=problem
    )


def head(conn: Connection) -> tuple[int, str]:
    """(count, last hash): the anchor to keep outside the database. (0, GENESIS_HASH) when empty.

    The count is the last seq, which equals the number of entries in an untampered log."""
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.hash))


def entries(
    conn: Connection, *, advertiser_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """The newest `limit` entries, newest first; only one advertiser's when `advertiser_id` is
    given (None: every entry, the operator's view)."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    stmt = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if advertiser_id is not None:
        stmt = stmt.where(audit_log.c.advertiser_id == advertiser_id)
    return [
        AuditEntry(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            advertiser_id=row.advertiser_id,
            details=json.loads(row.details),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in conn.execute(stmt)
    ]
