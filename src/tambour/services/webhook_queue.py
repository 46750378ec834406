"""The webhook deliveries' queue, on the workers' side: claim due deliveries under a lease,
record what each attempt gave, rescue those of a worker that died.

Like outbox messages: PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, SQLite with one
`UPDATE ... RETURNING` in its `BEGIN IMMEDIATE` transaction. An attempt is one POST; a `2xx`
delivers, `410 Gone` disables the endpoint for good (its owner enables it again), anything else
(another status, a refused connection, a timeout, a private address) is tried again later:
after 5 seconds, 5 minutes, 30 minutes, 2, 5, 10 and 10 hours (Standard Webhooks' schedule, a
little over a day in all), each wait shortened or lengthened by up to a fifth at random so that
the retries of many deliveries do not all come at once. After the last, the delivery has
failed; an endpoint that has failed every attempt for over a day is then disabled
(`failing`), and says so in its state.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, insert, select, update

from tambour.keys import Keys
from tambour.services import audit
from tambour.services.webhooks import disable, message_id, signing_secrets
from tambour.store.bulk import adapt_datetime, driver_cursor, read_instant
from tambour.store.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from tambour.webhooks import signing

RETRY_AFTER: Final = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
FAILING_FOR: Final = timedelta(days=1)  # an endpoint failing this long, at its last retry: off
JITTER: Final = 0.2

_CLAIM: Final = {
    "sqlite": (
        "UPDATE webhook_deliveries SET state = 'sending', attempts = attempts + 1,"
        " lease_owner = ?, lease_until = ? WHERE id IN (SELECT id FROM webhook_deliveries"
        " WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?)"
        " RETURNING id, event_id, endpoint_id, attempts"
    ),
    "postgresql": (
        "WITH due AS (SELECT id FROM webhook_deliveries WHERE state = 'pending'"
        " AND next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        " UPDATE webhook_deliveries d SET state = 'sending', attempts = d.attempts + 1,"
        " lease_owner = %s, lease_until = %s FROM due WHERE d.id = due.id"
        " RETURNING d.id, d.event_id, d.endpoint_id, d.attempts"
    ),
}


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery to attempt now: where, what, and the headers that sign it."""

    id: int
    endpoint_id: int
    url: str
    body: bytes
    headers: dict[str, str]
    attempt: int  # 1 for the first


@dataclass(frozen=True, slots=True)
class Result:
    delivery_id: int
    endpoint_id: int
    attempt: int
    attempted_at: datetime
    duration_ms: int
    status: int | None  # the receiver's answer; None: none
    error: str | None = None  # why there was no answer, or what the answer meant

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


def claim(
    conn: Connection, owner: str, now: datetime, lease: timedelta, limit: int, keys: Keys
) -> list[Claimed]:
    """Claim up to `limit` due deliveries of enabled endpoints for `owner`."""
    cursor = driver_cursor(conn)
    at, until = adapt_datetime(conn, now), adapt_datetime(conn, now + lease)
    if conn.dialect.name == "sqlite":
        cursor.execute(_CLAIM["sqlite"], (owner, until, at, limit))
    else:
        cursor.execute(_CLAIM["postgresql"], (at, limit, owner, until))
    rows = cursor.fetchall()
    if not rows:
        return []
    events = {
        row.id: row.body
        for row in conn.execute(
            select(webhook_events.c.id, webhook_events.c.body).where(
                webhook_events.c.id.in_(sorted({r[1] for r in rows}))
            )
        )
    }
    endpoints = {
        row.id: row
        for row in conn.execute(
            select(webhook_endpoints).where(
                webhook_endpoints.c.id.in_(sorted({r[2] for r in rows}))
            )
        )
    }
    timestamp = int(now.timestamp())
    claimed: list[Claimed] = []
    for delivery_id, event_id, endpoint_id, attempts in sorted(rows):
        endpoint = endpoints[endpoint_id]
        body = bytes(events[event_id])
        secrets_ = signing_secrets(keys, endpoint, now)
        headers = {
            "content-type": "application/json",
            "user-agent": "Tambour-Webhooks/1",
            **signing.headers(secrets_, message_id(event_id), timestamp, body),
        }
        claimed.append(Claimed(delivery_id, endpoint_id, endpoint.url, body, headers, attempts))
    return claimed


def record(
    conn: Connection,
    owner: str,
    now: datetime,
    results: Sequence[Result],
    actor: str,
    retry_after: Sequence[timedelta] = RETRY_AFTER,
) -> None:
    """What the attempts gave, in the caller's transaction: delivered, tried again later, or
    failed for good; endpoints that answered 410 or failed too long disabled (audited)."""
    if not results:
        return
    conn.execute(
        insert(webhook_attempts),
        [
            {
                "delivery_id": r.delivery_id,
                "endpoint_id": r.endpoint_id,
                "attempted_at": r.attempted_at,
                "status": r.status,
                "duration_ms": r.duration_ms,
                "error": (r.error or None) and r.error[:200],
            }
            for r in results
        ],
    )
    mine = (webhook_deliveries.c.lease_owner == owner) & (webhook_deliveries.c.state == "sending")
    delivered = [r for r in results if r.delivered]
    if delivered:
        conn.execute(
            update(webhook_deliveries)
            .where(mine, webhook_deliveries.c.id.in_([r.delivery_id for r in delivered]))
            .values(
                state="delivered",
                delivered_at=now,
                last_attempt_at=now,
                lease_owner=None,
                lease_until=None,
                last_error=None,
            )
        )
        by_status: dict[int, list[int]] = {}
        for r in delivered:
            by_status.setdefault(r.status or 200, []).append(r.delivery_id)
        for status, ids in by_status.items():
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_(ids))
                .values(last_status=status)
            )
        # An endpoint that answered is not failing, whatever it did before.
        conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.id.in_(sorted({r.endpoint_id for r in delivered})),
                webhook_endpoints.c.failing_since.is_not(None),
            )
            .values(failing_since=None)
        )
    gone_endpoints: set[int] = set()
    failing: dict[int, Result] = {}
    for r in results:
        if r.delivered:
            continue
        last = r.gone or r.attempt > len(retry_after)
        values: dict[str, Any] = {
            "last_status": r.status,
            "last_error": (r.error or f"HTTP {r.status}")[:200],
            "last_attempt_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        if last:
            values["state"] = "failed"
        else:
            values["state"] = "pending"
            values["next_attempt_at"] = now + _jittered(retry_after[r.attempt - 1])
        conn.execute(
            update(webhook_deliveries)
            .where(mine, webhook_deliveries.c.id == r.delivery_id)
            .values(**values)
        )
        if r.gone:
            gone_endpoints.add(r.endpoint_id)
        else:
            failing[r.endpoint_id] = r
    if failing:
        conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.id.in_(sorted(failing)),
                webhook_endpoints.c.failing_since.is_(None),
            )
            .values(failing_since=now)
        )
    for endpoint_id in sorted(gone_endpoints):
        _disable(conn, endpoint_id, "gone", now, actor)
    for endpoint_id, r in sorted(failing.items()):
        if r.attempt <= len(retry_after) or endpoint_id in gone_endpoints:
            continue
        since = conn.execute(
            select(webhook_endpoints.c.failing_since, webhook_endpoints.c.state).where(
                webhook_endpoints.c.id == endpoint_id
            )
        ).first()
        failed_long = since is not None and since[0] is not None and since[0] <= now - FAILING_FOR
        if failed_long and since is not None and since[1] == "enabled":
            _disable(conn, endpoint_id, "failing", now, actor)


def _disable(conn: Connection, endpoint_id: int, reason: str, now: datetime, actor: str) -> None:
    advertiser_id = conn.execute(
        select(webhook_endpoints.c.advertiser_id).where(webhook_endpoints.c.id == endpoint_id)
    ).scalar_one()
    dropped = disable(conn, endpoint_id, reason, now)
    audit.append(
        conn,
        actor=actor,
        action="webhook.endpoint_disabled",
        details={"endpoint": endpoint_id, "reason": reason, "dropped": dropped},
        at=now,
        advertiser_id=advertiser_id,
    )


def _jittered(wait: timedelta) -> timedelta:
    return wait * (1 + random.uniform(-JITTER, JITTER))


def rescue(conn: Connection, now: datetime) -> int:
    """Deliveries whose worker's lease ran out go back to the queue, their attempt counted (it
    may have reached the receiver, who tells a repeat by its `webhook-id`)."""
    result = conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.state == "sending",
            webhook_deliveries.c.lease_until < now,
        )
        .values(
            state="pending",
            next_attempt_at=now,
            lease_owner=None,
            lease_until=None,
            last_error="its worker stopped during the attempt",
        )
    )
    return int(result.rowcount or 0)


def next_due(conn: Connection) -> datetime | None:
    """When the next pending delivery is due (None: none pending)."""
    cursor = driver_cursor(conn)
    cursor.execute("SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'")
    value = cursor.fetchone()[0]
    return None if value is None else read_instant(value)
