"""Messages sent, delivered and failed over time, read from `message_minutes`, which triggers
on the outbox keep exact (migration 0016): a row per campaign and minute that saw messages
leave or settle, whatever the number of messages. Sent counts a message in a sent state
(submitted, delivered, failed, expired) at the minute of its `submitted_at`; delivered and
failed count it at the minute of its `done_at`.

Two reads: an advertiser's counts by hour over a period (the dashboard: through the table's key,
advertiser then minute, added up by hour in the database), and one campaign's delivered and
failed by minute or hour (its live chart: through (campaign, minute))."""

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, func, select

from tambour.store.tables import message_minutes

KINDS: Final = ("sent", "delivered", "failed")

# By kind (KINDS), the count of each hour or minute (whole hours or minutes since 1970, UTC).
Counts = dict[str, dict[int, int]]


def minute_of(at: datetime) -> int:
    """The minute (whole minutes since 1970, UTC) of an aware instant."""
    return int(at.timestamp()) // 60


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _read(conn: Connection, unit: ColumnElement[Any], *conditions: ColumnElement[bool]) -> Counts:
    c = message_minutes.c
    query = (
        select(unit, func.sum(c.sent), func.sum(c.delivered), func.sum(c.failed))
        .where(*conditions)
        .group_by(unit)
    )
    found: Counts = {kind: {} for kind in KINDS}
    for at, *counts in conn.execute(query):
        for kind, count in zip(KINDS, counts, strict=True):
            if count:
                found[kind][int(at)] = int(count)
    return found


def by_hour(conn: Connection, advertiser_id: int, *, since: datetime) -> Counts:
    """All the advertiser's messages, by hour (whole hours since 1970), from `since`'s hour."""
    c = message_minutes.c
    hour = (c.minute // 60).label("hour")  # integer division in SQL
    first = minute_of(since) // 60 * 60
    return _read(conn, hour, c.advertiser_id == advertiser_id, c.minute >= first)


def settled_span(conn: Connection, campaign_id: int) -> tuple[int, int] | None:
    """The first and last minute the campaign's messages were delivered or failed in (None:
    none yet): two reads at the ends of its (campaign, minute) index."""
    c = message_minutes.c
    settled = (c.campaign_id == campaign_id) & ((c.delivered != 0) | (c.failed != 0))
    ends = []
    for order in (c.minute.asc(), c.minute.desc()):
        found = conn.execute(select(c.minute).where(settled).order_by(order).limit(1)).scalar()
        if found is None:
            return None
        ends.append(int(found))
    return ends[0], ends[1]


def settled_by(conn: Connection, campaign_id: int, minutes: int) -> dict[int, tuple[int, int]]:
    """The campaign's messages (delivered, failed) by slices of `minutes` minutes (1: by
    minute, 60: by hour), each named by its first minute; added up in the database."""
    c = message_minutes.c
    slot = (c.minute // minutes * minutes).label("slot") if minutes > 1 else c.minute
    found: dict[int, tuple[int, int]] = {}
    for at, delivered, failed in conn.execute(
        select(slot, func.sum(c.delivered), func.sum(c.failed))
        .where(c.campaign_id == campaign_id)
        .group_by(slot)
    ):
        if delivered or failed:
            found[int(at)] = (int(delivered or 0), int(failed or 0))
    return found
