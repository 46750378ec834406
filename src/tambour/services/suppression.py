"""The advertiser's suppression list: keyed hashes of the numbers that must never be contacted
again, kept also after erasure. Written by imports and opt-outs, read by every decision."""

import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection

from tambour.rules.codes import OptOutSource
from tambour.services.advertisers import Advertiser
from tambour.store.bulk import adapt_datetime, driver_cursor, in_values, mark, read_instant


def phone_hash(advertiser: Advertiser, e164: str) -> bytes:
    """The suppression-list key of a number: HMAC-SHA256 under the advertiser's own key."""
    return hmac.digest(advertiser.hash_key, e164.encode(), "sha256")  # one-shot: in C


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
) -> None:
    """Add (e164, source, at) to the suppression list. A number already there keeps one entry:
    a 33700 report turns it into a complaint (which no later consent lifts, and nothing
    changes after); otherwise a later opt-out moves it to its own date and source, since the
    latest opposition is the one a later consent must outweigh (STOP, START, STOP again)."""
    if not entries:
        return
    complaint = OptOutSource.COMPLAINT_33700.value
    merged: dict[str, tuple[str, datetime]] = {}  # one row a number: one statement may not
    for e164, source, at in entries:  # touch a row twice; a complaint wins, then the latest
        seen = merged.get(e164)
        if (
            seen is None
            or (source == complaint) > (seen[0] == complaint)
            or ((source == complaint) == (seen[0] == complaint) and at > seen[1])
        ):
            merged[e164] = (source, at)
    recorded_at = adapt_datetime(conn, now)
    rows = [
        (advertiser.id, phone_hash(advertiser, e164), source, adapt_datetime(conn, at), recorded_at)
        for e164, (source, at) in merged.items()
    ]
    cursor = driver_cursor(conn)
    cursor.executemany(_UPSERT[conn.dialect.name], rows)


# Insert, or turn the number's entry into a complaint. Plain SQL to the driver: through
# SQLAlchemy's executemany, an import's batch spent more time building parameters than writing.
_UPSERT_SQL = (
    "INSERT INTO suppressions (advertiser_id, phone_hash, source, suppressed_at, recorded_at) "
    "VALUES ({marks}) ON CONFLICT (advertiser_id, phone_hash) DO UPDATE "
    "SET source = excluded.source, suppressed_at = excluded.suppressed_at, "
    "recorded_at = excluded.recorded_at "
    "WHERE suppressions.source <> '{complaint}' AND (excluded.source = '{complaint}' "
    "OR excluded.suppressed_at > suppressions.suppressed_at)"
)
_UPSERT = {
    dialect: _UPSERT_SQL.format(marks=", ".join([mark] * 5), complaint=OptOutSource.COMPLAINT_33700)
    for dialect, mark in (("postgresql", "%s"), ("sqlite", "?"))
}
