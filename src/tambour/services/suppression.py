"""The advertiser's suppression list: keyed hashes of the numbers that must never be contacted
again, kept also after erasure. Written by imports and opt-outs, read by every decision."""

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tambour.rules.codes import OptOutSource
from tambour.services.advertisers import Advertiser
from tambour.store.tables import suppressions


def phone_hash(advertiser: Advertiser, e164: str) -> bytes:
    """The suppression-list key of a number: HMAC-SHA256 under the advertiser's own key."""
    return hmac.new(advertiser.hash_key, e164.encode(), hashlib.sha256).digest()


def record_suppressions(
    conn: Connection,
    advertiser: Advertiser,
    entries: list[tuple[str, str, datetime]],
    now: datetime,
) -> None:
    """Add (e164, source, at) to the suppression list. A number already there keeps its entry,
    except that a 33700 report turns it into a complaint (which no later consent lifts)."""
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
    values = [
        {
            "advertiser_id": advertiser.id,
            "phone_hash": phone_hash(advertiser, e164),
            "source": source,
            "suppressed_at": at,
            "recorded_at": now,
        }
        for e164, (source, at) in merged.items()
    ]
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(suppressions)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[suppressions.c.advertiser_id, suppressions.c.phone_hash],
            set_={"source": complaint, "suppressed_at": statement.excluded.suppressed_at},
            where=(statement.excluded.source == complaint) & (suppressions.c.source != complaint),
        ),
        values,
    )
