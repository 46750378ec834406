"""The advertiser's suppression list: keyed hashes of the numbers that must never be contacted
again, kept also after erasure. Written by imports and opt-outs, read by every decision."""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Connection

from tambour.rules.codes import OptOutSource
from tambour.services import audit
from tambour.services.advertisers import Advertiser
from tambour.services.seals import Written, current_sealer
from tambour.store.bulk import (
    adapt_datetime,
    driver_cursor,
    in_values,
    mark,
    read_instant,
    reserve_ids,
)

if TYPE_CHECKING:
    from _hashlib import HASH


def phone_hash(advertiser: Advertiser, e164: str) -> bytes:
    """The suppression-list key of a number: HMAC-SHA256 under the advertiser's own key, as
    `hmac.digest(advertiser.hash_key, e164.encode(), "sha256")` computes it."""
    inner, outer = _hmac_sha256(advertiser.hash_key)
    hashed = inner.copy()
    hashed.update(e164.encode())
    done = outer.copy()
    done.update(hashed.digest())
    return done.digest()


_SHA256_BLOCK = 64
_INNER_PAD = bytes(x ^ 0x36 for x in range(256))  # RFC 2104's ipad and opad, as translations
_OUTER_PAD = bytes(x ^ 0x5C for x in range(256))


@lru_cache(maxsize=64)
def _hmac_sha256(key: bytes) -> tuple["HASH", "HASH"]:
    """HMAC-SHA256's inner and outer hashes for `key`, each given its padded key (RFC 2104,
    as the hmac module begins them). A plan hashes every number it reads: two copies, two
    updates and two digests take less than half the time of `hmac.digest`, with which OpenSSL
    sets every HMAC up anew."""
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(padded.translate(_INNER_PAD))
    outer = hashlib.sha256(padded.translate(_OUTER_PAD))
    return inner, outer


class Entry(NamedTuple):
    """A number's entry in the suppression list."""

    source: str  # an OptOutSource value
    suppressed_at: datetime  # when the latest opposition was made
    recorded_at: datetime  # when it was written here


def entries(conn: Connection, advertiser: Advertiser, numbers: Iterable[str]) -> dict[str, Entry]:
    """The suppression entries of those numbers (E.164) that have one, in one query (to the
    driver: a worker asks before every window it sends, where SQLAlchemy's expanding IN cost
    more than the query, and its text changed with the count, so the server never kept a plan)."""
    hashes = {phone_hash(advertiser, number): number for number in numbers}
    if not hashes:
        return {}
    in_sql, params = in_values(conn, list(hashes))
    cursor = driver_cursor(conn)
    cursor.execute(
        "SELECT phone_hash, source, suppressed_at, recorded_at FROM suppressions"
        f" WHERE advertiser_id = {mark(conn)} AND phone_hash {in_sql}",
        [advertiser.id, *params],
    )
    return {
        hashes[bytes(key)]: Entry(source, read_instant(at), read_instant(recorded))
        for key, source, at, recorded in cursor.fetchall()
    }


def record_suppressions(
    conn: Connection,
    advertiser: Advertiser,
    entries: list[tuple[str, str, datetime]],
    now: datetime,
) -> Written:
    """Add (e164, source, at) to the suppression list; returns the rows written, for the audit
    entry of the action (the ids added, and the entries rewritten with their new seal).

    A number already there keeps one entry: a 33700 report turns it into a complaint (which no
    later consent lifts, and nothing changes after); otherwise a later opt-out moves it to its
    own date and source, since the latest opposition is the one a later consent must outweigh
    (STOP, START, STOP again). Every row written is sealed (services/seals.py)."""
    if not entries:
        return Written()
    complaint = OptOutSource.COMPLAINT_33700.value
    merged: dict[bytes, tuple[str, datetime]] = {}  # one row a number; a complaint wins,
    for e164, source, at in entries:  # then the latest
        key = phone_hash(advertiser, e164)
        seen = merged.get(key)
        if seen is None or _outweighs(source, at, seen[0], seen[1]):
            merged[key] = (source, at)
    audit.lock(conn)  # writers of the list one at a time: what is read below stays true
    in_sql, params = in_values(conn, list(merged))
    cursor = driver_cursor(conn)
    cursor.execute(
        f"SELECT phone_hash, id, source, suppressed_at FROM suppressions"
        f" WHERE advertiser_id = {mark(conn)} AND phone_hash {in_sql}",
        [advertiser.id, *params],
    )
    stored = {bytes(key): (rid, source, read_instant(at)) for key, rid, source, at in cursor}
    fresh: list[tuple[bytes, str, datetime]] = []
    changed: list[tuple[int, bytes, str, datetime]] = []
    for key, (source, at) in merged.items():
        found = stored.get(key)
        if found is None:
            fresh.append((key, source, at))
        elif found[1] != complaint and _outweighs(source, at, found[1], found[2]):
            changed.append((found[0], key, source, at))
    seal = current_sealer().suppression
    recorded_at = adapt_datetime(conn, now)
    ids = reserve_ids(conn, "suppressions", len(fresh))
    added = []
    for rid, (key, source, at) in zip(ids, fresh, strict=True):
        row = (rid, advertiser.id, key, source, adapt_datetime(conn, at), recorded_at)
        added.append((*row, seal(row)))
    if added:
        cursor.executemany(_INSERT[conn.dialect.name], added)
    written = Written(suppressions=ids)
    if changed:
        rewritten = []
        for rid, key, source, at in changed:
            row = (rid, advertiser.id, key, source, adapt_datetime(conn, at), recorded_at)
            sealed = seal(row)
            rewritten.append((source, row[4], recorded_at, sealed, rid))
            written.rewritten.append((rid, sealed))
        cursor.executemany(_UPDATE[conn.dialect.name], rewritten)
    return written


def _outweighs(source: str, at: datetime, old_source: str, old_at: datetime) -> bool:
    """Whether an opposition (source, at) replaces the entry (old_source, old_at): a complaint
    replaces any other, else the later one wins."""
    complaint = OptOutSource.COMPLAINT_33700.value
    if (source == complaint) != (old_source == complaint):
        return source == complaint
    return at > old_at


# Plain SQL to the driver: through SQLAlchemy's executemany, an import's batch spent more time
# building parameters than writing.
_INSERT = {
    dialect: "INSERT INTO suppressions (id, advertiser_id, phone_hash, source, suppressed_at, "
    f"recorded_at, seal) VALUES ({', '.join([mark] * 7)})"
    for dialect, mark in (("postgresql", "%s"), ("sqlite", "?"))
}
_UPDATE = {
    dialect: f"UPDATE suppressions SET source = {mark}, suppressed_at = {mark}, "
    f"recorded_at = {mark}, seal = {mark} WHERE id = {mark}"
    for dialect, mark in (("postgresql", "%s"), ("sqlite", "?"))
}
