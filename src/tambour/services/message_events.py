"""The `message.*` webhook events of what a worker's flush wrote: submitted, delivered, failed,
expired, cancelled. Read back from the outbox rows the flush changed (their state as written,
not as the worker thought it), in the flush's own transaction: an event exists exactly when its
state change committed. Nothing is read when no advertiser has an endpoint that wants such an
event (`Subscriptions`, refreshed every few seconds): the common case costs the worker nothing.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from tambour.services.webhooks import Event, Subscriptions, emit
from tambour.store.bulk import adapt_datetime, driver_cursor, in_values, read_instant

MESSAGE_EVENTS: Final = {
    "submitted": "message.submitted",
    "delivered": "message.delivered",
    "failed": "message.failed",
    "expired": "message.expired",
    "cancelled": "message.cancelled",
}
_CHUNK: Final = 500


def emit_message_events(
    conn: Any,
    now: datetime,
    submitted: Iterable[int],
    settled: Iterable[int],
    subscriptions: Subscriptions,
) -> int:
    """Queue the events of what this transaction did, at `now`, to messages: `submitted`, those
    it recorded as taken by the carrier (`message.submitted`, even when a receipt in the same
    flush settled them since); `settled`, those it brought to a final state (the event of the
    state each is in). Only for the advertisers whose endpoints want them."""
    if not subscriptions.anyone_wants(conn, MESSAGE_EVENTS.values()):
        return 0
    left = set(submitted)
    final = set(settled)
    ids = sorted(left | final)
    if not ids:
        return 0
    at = adapt_datetime(conn, now)
    cursor = driver_cursor(conn)
    events: list[Event] = []
    for start in range(0, len(ids), _CHUNK):
        in_sql, params = in_values(conn, ids[start : start + _CHUNK])
        cursor.execute(
            "SELECT id, advertiser_id, campaign_id, e164, state, reason, error_code, carrier,"
            f" submitted_at, done_at, updated_at FROM outbox WHERE id {in_sql}",
            params,
        )
        for row in cursor.fetchall():
            (message_id, advertiser_id, campaign_id, e164, state, reason, error_code, carrier,
             submitted_at, done_at, updated_at) = row  # fmt: skip
            if updated_at != at and read_instant(updated_at) != now:
                continue  # not changed by this transaction (a receipt told twice)
            kinds = []
            if message_id in left and state not in ("queued", "submitting"):
                kinds.append(("message.submitted", "submitted"))
            if message_id in final and state in MESSAGE_EVENTS and state != "submitted":
                kinds.append((MESSAGE_EVENTS[state], state))
            for kind, shown in kinds:
                if not subscriptions.wants(conn, advertiser_id, kind):
                    continue
                data = {
                    "message_id": message_id,
                    "campaign_id": campaign_id,
                    "to": e164,
                    "state": shown,
                    "reason": reason if shown != "submitted" else None,
                    "error_code": error_code if shown != "submitted" else None,
                    "carrier": carrier,
                    "submitted_at": _iso(submitted_at),
                    "done_at": _iso(done_at) if shown != "submitted" else None,
                }
                events.append(Event(advertiser_id, kind, data))
    events.sort(key=lambda e: e.type != "message.submitted")  # a message's submission first
    return emit(conn, events, now)


def _iso(value: Any) -> str | None:
    return None if value is None else read_instant(value).isoformat()
