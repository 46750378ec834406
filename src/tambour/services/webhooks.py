"""Webhook endpoints of an advertiser, the events they hear of, and their delivery log
(issue 15 point 7). Delivering is the workers' (services/webhook_queue.py, webhooks/delivery.py).

An endpoint is an advertiser's URL with the event types it wants (none named: all) and a signing
secret, shown once at creation and at each rotation, and kept wrapped under the installation key
(tambour/keys.py): a copy of the database alone cannot sign. A rotation keeps the previous secret
signing beside the new one for a while (24 hours unless told), so the receiver can switch
without losing a message. An endpoint is disabled by its owner, by a `410 Gone` answer, or after
failing for over a day with no success; disabling drops its pending deliveries, which can be
replayed later.

`emit` records an event inside the caller's transaction, and a delivery for each enabled
endpoint of the advertiser that wants it: nothing at all when none does (the common case costs
one indexed look-up, or none with a `Subscriptions` cache, as the dispatch worker keeps).
Every use case is scoped to one advertiser: another's endpoint or delivery is not found.
"""

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy import Connection, insert, select, update

from tambour.keys import Keys
from tambour.services import audit
from tambour.services.advertisers import get as get_advertiser
from tambour.services.context import Context, InvalidInput, NotFoundError
from tambour.store.engine import reader
from tambour.store.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from tambour.webhooks import signing
from tambour.webhooks.targets import TargetError, parse_target

EVENT_TYPES: Final = (
    "message.submitted",
    "message.delivered",
    "message.failed",
    "message.expired",
    "message.cancelled",
    "contact.opted_out",
    "contact.complained",
    "reply.received",
    "link.clicked",
    "campaign.launched",
    "campaign.finished",
    "campaign.paused",
    "campaign.resumed",
    "campaign.winner_chosen",
    "job.finished",
    "data_request.due",
)
SECRET_PURPOSE: Final = "webhook-secret"
ROTATION_OVERLAP: Final = timedelta(hours=24)
MAX_DESCRIPTION: Final = 200
MAX_ENDPOINTS: Final = 20  # an advertiser's; each event is delivered to each that wants it


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    url: str
    description: str
    events: tuple[str, ...]  # empty: every event
    state: str  # enabled, disabled
    disabled_reason: str | None
    disabled_at: datetime | None
    secret_version: int
    old_secret_until: datetime | None  # the previous secret signs too until then
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "description": self.description,
            "events": list(self.events),
            "state": self.state,
            "disabled_reason": self.disabled_reason,
            "disabled_at": _iso(self.disabled_at),
            "secret_version": self.secret_version,
            "old_secret_until": _iso(self.old_secret_until),
            "failing_since": _iso(self.failing_since),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class WithSecret:
    """An endpoint just created or rotated, with its new secret: shown this once."""

    endpoint: Endpoint
    secret: str  # whsec_...


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event_id: int
    endpoint_id: int
    event_type: str
    state: str  # pending, sending, delivered, failed, dropped
    attempts: int
    next_attempt_at: datetime | None  # while pending
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_id": self.event_id,
            "endpoint_id": self.endpoint_id,
            "event_type": self.event_type,
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "last_attempt_at": _iso(self.last_attempt_at),
            "delivered_at": _iso(self.delivered_at),
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    status: int | None
    duration_ms: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempted_at": _iso(self.attempted_at),
            "status": self.status,
            "duration_ms": self.duration_ms,
            "error": self.error,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# --- endpoints --------------------------------------------------------------------------------


def create_endpoint(
    ctx: Context,
    *,
    advertiser: str,
    url: str,
    events: Sequence[str] = (),
    description: str = "",
    allow_private: bool = False,
) -> WithSecret:
    """A new endpoint, enabled, with a new secret (returned this once)."""
    _check_url(url, allow_private)
    wanted = _event_types(events)
    _check_description(description)
    now = ctx.now()
    secret = signing.new_secret()
    with ctx.engine.begin() as conn:
        owner = get_advertiser(conn, advertiser)
        count = len(
            conn.execute(
                select(webhook_endpoints.c.id).where(webhook_endpoints.c.advertiser_id == owner.id)
            ).all()
        )
        if count >= MAX_ENDPOINTS:
            raise InvalidInput(
                "url", "too_many_endpoints", f"an advertiser has at most {MAX_ENDPOINTS} endpoints"
            )
        endpoint_id = conn.execute(
            insert(webhook_endpoints)
            .values(
                advertiser_id=owner.id,
                url=url,
                description=description,
                events=list(wanted),
                state="enabled",
                secret=b"",  # wrapped below, under a label naming the row
                secret_version=1,
                created_at=now,
                created_by=ctx.actor,
                updated_at=now,
            )
            .returning(webhook_endpoints.c.id)
        ).scalar_one()
        conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(secret=_wrapped(ctx.keys, endpoint_id, 1, secret))
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="webhook.endpoint_created",
            details={"endpoint": endpoint_id, "events": list(wanted) or ["*"]},
            at=now,
            advertiser_id=owner.id,
        )
        endpoint = _endpoint(conn, owner.id, endpoint_id)
    return WithSecret(endpoint, signing.shown(secret))


def list_endpoints(ctx: Context, *, advertiser: str) -> list[Endpoint]:
    with reader(ctx.engine) as conn:
        owner = get_advertiser(conn, advertiser)
        rows = conn.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.advertiser_id == owner.id)
            .order_by(webhook_endpoints.c.id)
        ).all()
        return [_endpoint_of(row) for row in rows]


def get_endpoint(ctx: Context, *, advertiser: str, endpoint_id: int) -> Endpoint:
    with reader(ctx.engine) as conn:
        owner = get_advertiser(conn, advertiser)
        return _endpoint(conn, owner.id, endpoint_id)


def update_endpoint(
    ctx: Context,
    *,
    advertiser: str,
    endpoint_id: int,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    allow_private: bool = False,
) -> Endpoint:
    """Change what is given; `enabled=True` enables a disabled endpoint again (its failures
    forgotten), `False` disables it (its pending deliveries dropped)."""
    values: dict[str, Any] = {}
    if url is not None:
        _check_url(url, allow_private)
        values["url"] = url
    if events is not None:
        values["events"] = list(_event_types(events))
    if description is not None:
        _check_description(description)
        values["description"] = description
    now = ctx.now()
    with ctx.engine.begin() as conn:
        owner = get_advertiser(conn, advertiser)
        before = _endpoint(conn, owner.id, endpoint_id)
        if enabled is True and before.state != "enabled":
            values.update(
                state="enabled", disabled_reason=None, disabled_at=None, failing_since=None
            )
        if values:
            values["updated_at"] = now
            conn.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.id == endpoint_id)
                .values(**values)
            )
        if enabled is False and before.state == "enabled":
            disable(conn, endpoint_id, "by_user", now)
        changed = sorted(k for k in values if k != "updated_at")
        if enabled is False and before.state == "enabled":
            changed.append("state")
        if changed:
            audit.append(
                conn,
                actor=ctx.actor,
                action="webhook.endpoint_updated",
                details={"endpoint": endpoint_id, "changed": changed},
                at=now,
                advertiser_id=owner.id,
            )
        return _endpoint(conn, owner.id, endpoint_id)


def rotate_secret(
    ctx: Context, *, advertiser: str, endpoint_id: int, overlap: timedelta = ROTATION_OVERLAP
) -> WithSecret:
    """A new secret (returned this once); the current one keeps signing beside it for
    `overlap` (0: it stops at once)."""
    if overlap < timedelta(0) or overlap > timedelta(days=7):
        raise InvalidInput("overlap", "invalid_overlap", "the overlap lasts 0 to 7 days")
    now = ctx.now()
    secret = signing.new_secret()
    with ctx.engine.begin() as conn:
        owner = get_advertiser(conn, advertiser)
        row = _row(conn, owner.id, endpoint_id)
        version = row.secret_version + 1
        current = _unwrapped(ctx.keys, endpoint_id, row.secret_version, row.secret)
        conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(
                secret=_wrapped(ctx.keys, endpoint_id, version, secret),
                secret_version=version,
                old_secret=_wrapped(ctx.keys, endpoint_id, -version, current) if overlap else None,
                old_secret_until=now + overlap if overlap else None,
                updated_at=now,
            )
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="webhook.secret_rotated",
            details={
                "endpoint": endpoint_id,
                "version": version,
                "overlap_s": int(overlap.total_seconds()),
            },
            at=now,
            advertiser_id=owner.id,
        )
        endpoint = _endpoint(conn, owner.id, endpoint_id)
    return WithSecret(endpoint, signing.shown(secret))


def disable(conn: Connection, endpoint_id: int, reason: str, now: datetime) -> int:
    """Disable an endpoint inside the caller's transaction and drop its pending deliveries;
    returns how many were dropped."""
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(state="disabled", disabled_reason=reason, disabled_at=now, updated_at=now)
    )
    dropped = conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.state == "pending",
        )
        .values(state="dropped", last_error="the endpoint was disabled")
    )
    return int(dropped.rowcount or 0)


def signing_secrets(keys: Keys, row: Any, now: datetime) -> list[bytes]:
    """The secrets that sign a message to the endpoint of `row` now: its current one, and the
    previous one while a rotation's overlap lasts."""
    found = [_unwrapped(keys, row.id, row.secret_version, row.secret)]
    until = row.old_secret_until
    if row.old_secret is not None and until is not None and _aware(until) > now:
        found.append(_unwrapped(keys, row.id, -row.secret_version, row.old_secret))
    return found


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _wrapped(keys: Keys, endpoint_id: int, version: int, secret: bytes) -> bytes:
    # A pad serves one secret only: each (endpoint, version) has its own label; the previous
    # secret kept during a rotation is stored under the negated version.
    return keys.wrap(SECRET_PURPOSE, b"webhook:%d:%d" % (endpoint_id, version), secret)


_unwrapped = _wrapped  # XOR with the same pad undoes it


def rewrap_secrets(conn: Connection, old: Keys, new: Keys) -> int:
    """Store every endpoint's secrets under `new` instead of `old` (a key rotation)."""
    rows = conn.execute(select(webhook_endpoints)).all()
    for row in rows:
        values: dict[str, Any] = {
            "secret": _wrapped(
                new,
                row.id,
                row.secret_version,
                _unwrapped(old, row.id, row.secret_version, row.secret),
            )
        }
        if row.old_secret is not None:
            values["old_secret"] = _wrapped(
                new, row.id, -row.secret_version,
                _unwrapped(old, row.id, -row.secret_version, row.old_secret),
            )  # fmt: skip
        conn.execute(
            update(webhook_endpoints).where(webhook_endpoints.c.id == row.id).values(**values)
        )
    return len(rows)


def _check_url(url: str, allow_private: bool) -> None:
    try:
        parse_target(url, allow_private=allow_private)
    except TargetError as error:
        raise InvalidInput("url", error.code, str(error)) from None


def _event_types(events: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(events))
    for index, name in enumerate(wanted):
        if name not in EVENT_TYPES:
            raise InvalidInput(
                f"events[{index}]",
                "unknown_event_type",
                f"{name!r} is not an event type (there are: {', '.join(EVENT_TYPES)})",
            )
    return tuple(sorted(wanted))


def _check_description(description: str) -> None:
    if len(description) > MAX_DESCRIPTION or any(ord(c) < 0x20 for c in description):
        raise InvalidInput(
            "description",
            "invalid_description",
            f"a description has at most {MAX_DESCRIPTION} printable characters",
        )


def _row(conn: Connection, advertiser_id: int, endpoint_id: int) -> Any:
    row = conn.execute(
        select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id,
            webhook_endpoints.c.advertiser_id == advertiser_id,
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"no webhook endpoint {endpoint_id}", code="endpoint_not_found", field="endpoint_id"
        )
    return row


def _endpoint(conn: Connection, advertiser_id: int, endpoint_id: int) -> Endpoint:
    return _endpoint_of(_row(conn, advertiser_id, endpoint_id))


def _endpoint_of(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        url=row.url,
        description=row.description,
        events=tuple(row.events),
        state=row.state,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
        secret_version=row.secret_version,
        old_secret_until=row.old_secret_until,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    advertiser_id: int
    type: str
    data: Mapping[str, Any]


class Subscriptions:
    """Which advertisers have an enabled endpoint for which event types, looked up again every
    `ttl` seconds: a worker emitting an event per message pays no query for advertisers with
    no endpoint. (An endpoint created meanwhile hears of events `ttl` seconds later at most.)"""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._at = -float("inf")
        self._wanted: dict[int, frozenset[str] | None] = {}  # None: every type

    def _fresh(self, conn: Connection) -> dict[int, frozenset[str] | None]:
        if time.monotonic() - self._at > self.ttl:
            self._wanted = _wanted(conn)
            self._at = time.monotonic()
        return self._wanted

    def anyone_wants(self, conn: Connection, event_types: Iterable[str]) -> bool:
        """Whether any advertiser has an endpoint wanting one of `event_types`."""
        types = set(event_types)
        return any(t is None or t & types for t in self._fresh(conn).values())

    def wants(self, conn: Connection, advertiser_id: int, event_type: str) -> bool:
        self._fresh(conn)
        if advertiser_id not in self._wanted:
            return False
        types = self._wanted[advertiser_id]
        return types is None or event_type in types


def _wanted(conn: Connection) -> dict[int, frozenset[str] | None]:
    wanted: dict[int, frozenset[str] | None] = {}
    rows = conn.execute(
        select(webhook_endpoints.c.advertiser_id, webhook_endpoints.c.events).where(
            webhook_endpoints.c.state == "enabled"
        )
    ).all()
    for advertiser_id, events in rows:
        if advertiser_id in wanted and wanted[advertiser_id] is None:
            continue
        if not events:
            wanted[advertiser_id] = None
        else:
            wanted[advertiser_id] = frozenset(events) | (wanted.get(advertiser_id) or frozenset())
    return wanted


def emit(
    conn: Connection,
    events: Sequence[Event],
    now: datetime,
    subscriptions: Subscriptions | None = None,
) -> int:
    """Record `events` inside the caller's transaction, each with a delivery to every enabled
    endpoint of its advertiser that wants it. Returns how many deliveries were queued."""
    if subscriptions is not None:
        events = [e for e in events if subscriptions.wants(conn, e.advertiser_id, e.type)]
    if not events:
        return 0
    advertisers = sorted({e.advertiser_id for e in events})
    endpoints = conn.execute(
        select(
            webhook_endpoints.c.id, webhook_endpoints.c.advertiser_id, webhook_endpoints.c.events
        ).where(
            webhook_endpoints.c.advertiser_id.in_(advertisers),
            webhook_endpoints.c.state == "enabled",
        )
    ).all()
    if not endpoints:
        return 0
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    wanted: list[tuple[Event, list[int]]] = []
    for event in events:
        targets = [
            endpoint_id
            for endpoint_id, advertiser_id, types in endpoints
            if advertiser_id == event.advertiser_id and (not types or event.type in types)
        ]
        if targets:
            wanted.append((event, targets))
    if not wanted:
        return 0
    # One statement for the events, their ids back in order; one for their deliveries.
    event_ids = (
        conn.execute(
            insert(webhook_events).returning(webhook_events.c.id, sort_by_parameter_order=True),
            [
                {
                    "advertiser_id": event.advertiser_id,
                    "type": event.type,
                    "body": orjson.dumps(
                        {"type": event.type, "timestamp": stamp, "data": event.data}
                    ),
                    "created_at": now,
                }
                for event, _ in wanted
            ],
        )
        .scalars()
        .all()
    )
    deliveries = [
        {
            "event_id": event_id,
            "endpoint_id": endpoint_id,
            "advertiser_id": event.advertiser_id,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event_id, (event, targets) in zip(event_ids, wanted, strict=True)
        for endpoint_id in targets
    ]
    conn.execute(insert(webhook_deliveries), deliveries)
    return len(deliveries)


def message_id(event_id: int) -> str:
    """The `webhook-id` of an event: the same for every attempt and replay of it, so that a
    receiver can tell a message it has already handled."""
    return f"evt_{event_id}"


# --- the delivery log -------------------------------------------------------------------------


def deliveries(
    ctx: Context,
    *,
    advertiser: str,
    endpoint_id: int,
    before: int | None = None,
    limit: int = 50,
    state: str | None = None,
) -> list[Delivery]:
    """An endpoint's deliveries, newest first: up to `limit` with an id below `before`."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit", "invalid_limit", "limit is 1 to 500")
    with reader(ctx.engine) as conn:
        owner = get_advertiser(conn, advertiser)
        _row(conn, owner.id, endpoint_id)
        query = (
            select(webhook_deliveries, webhook_events.c.type)
            .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
            .where(
                webhook_deliveries.c.endpoint_id == endpoint_id,
                webhook_deliveries.c.advertiser_id == owner.id,
            )
            .order_by(webhook_deliveries.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(webhook_deliveries.c.id < before)
        if state is not None:
            query = query.where(webhook_deliveries.c.state == state)
        return [_delivery_of(row) for row in conn.execute(query).all()]


def get_delivery(ctx: Context, *, advertiser: str, delivery_id: int) -> Delivery:
    with reader(ctx.engine) as conn:
        owner = get_advertiser(conn, advertiser)
        return _delivery(conn, owner.id, delivery_id)


def attempts(ctx: Context, *, advertiser: str, delivery_id: int) -> list[Attempt]:
    """Every attempt of a delivery, oldest first."""
    with reader(ctx.engine) as conn:
        owner = get_advertiser(conn, advertiser)
        _delivery(conn, owner.id, delivery_id)
        rows = conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id == delivery_id)
            .order_by(webhook_attempts.c.id)
        ).all()
        return [Attempt(r.attempted_at, r.status, r.duration_ms, r.error) for r in rows]


def replay(ctx: Context, *, advertiser: str, delivery_id: int) -> Delivery:
    """Deliver a delivery's event again to its endpoint (enabled), as a new delivery with the
    same `webhook-id`."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        owner = get_advertiser(conn, advertiser)
        old = _delivery(conn, owner.id, delivery_id)
        endpoint = _endpoint(conn, owner.id, old.endpoint_id)
        if endpoint.state != "enabled":
            raise InvalidInput(
                "delivery_id",
                "endpoint_disabled",
                f"webhook endpoint {endpoint.id} is disabled: enable it first",
            )
        new_id = conn.execute(
            insert(webhook_deliveries)
            .values(
                event_id=old.event_id,
                endpoint_id=old.endpoint_id,
                advertiser_id=owner.id,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .returning(webhook_deliveries.c.id)
        ).scalar_one()
        audit.append(
            conn,
            actor=ctx.actor,
            action="webhook.replayed",
            details={"delivery": delivery_id, "as": new_id, "endpoint": endpoint.id},
            at=now,
            advertiser_id=owner.id,
        )
        return _delivery(conn, owner.id, new_id)


def _delivery(conn: Connection, advertiser_id: int, delivery_id: int) -> Delivery:
    row = conn.execute(
        select(webhook_deliveries, webhook_events.c.type)
        .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
        .where(
            webhook_deliveries.c.id == delivery_id,
            webhook_deliveries.c.advertiser_id == advertiser_id,
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"no webhook delivery {delivery_id}", code="delivery_not_found", field="delivery_id"
        )
    return _delivery_of(row)


def _delivery_of(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        event_id=row.event_id,
        endpoint_id=row.endpoint_id,
        event_type=row.type,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.state == "pending" else None,
        last_status=row.last_status,
        last_error=row.last_error,
        last_attempt_at=row.last_attempt_at,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )
