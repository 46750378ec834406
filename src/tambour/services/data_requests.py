"""The register of data requests (GDPR Art. 12 and 15-21): what a person asked of an advertiser
about their data, by what means, when, and by when it must be answered: one month from receipt
(Art. 12(3)), which may be extended by two further months when the person is told so within
the first. Each request is answered by the use case of its kind (access and portability: every
datum held, services/subject_access.py; erasure: services/erasure.py; objection: an opt-out
from every campaign of the advertiser; rectification: the contact's fields corrected), or
refused with a reason; the register keeps who answered, when and with what outcome.

The number is kept while the request is open (it is needed to answer), then only its keyed
hash, as the suppression list keeps it. Every change is audited; every read names the
advertiser (another's request is not found, exactly as one that does not exist).
"""

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Connection, Row, insert, select, update

from tambour.contacts.values import PARIS
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.contacts import valid_number
from tambour.services.context import ConflictError, Context, InvalidInputError, NotFoundError
from tambour.services.suppression import phone_hash
from tambour.services.views import View
from tambour.services.webhooks import Event, emit
from tambour.store.engine import reader
from tambour.store.tables import contacts, data_requests


class RequestKind(StrEnum):
    ACCESS = "access"  # Art. 15: a copy of every datum held
    PORTABILITY = "portability"  # Art. 20: the same, as structured data
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    OBJECTION = "objection"  # Art. 21: no more prospection


class Means(StrEnum):
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"
    SMS = "sms"
    WEB = "web"
    IN_PERSON = "in_person"
    OTHER = "other"


REMIND_DAYS: Final = 7  # a request due within this many days is reminded of
MAX_REQUESTER: Final = 200
MAX_NOTE: Final = 1000
MAX_REASON: Final = 500

TEXTS: Final = {
    "invalid_request_kind": "{value!r} is not a kind of request (there are: {choices})",
    "invalid_means": "{value!r} is not a means of asking (there are: {choices})",
    "empty_requester": "say who asked (the person, or who acts for them)",
    "value_too_long": "{what} is longer than {limit} characters",
    "received_in_future": "received on {received}, after today ({today})",
    "request_not_found": "{slug} has no data request {request_id}",
    "not_open": "data request {request_id} is {status} already",
    "already_extended": "data request {request_id} was extended already (to {due_by})",
    "extension_too_late": (
        "data request {request_id} was due on {due_by}: an extension is told to the person "
        "within the first month"
    ),
    "empty_reason": "give the reason (it is told to the person)",
    "invalid_date": "{value!r} is not a date (YYYY-MM-DD)",
    "wrong_kind": "data request {request_id} is {kind}, not {expected}",
}


@dataclass(frozen=True, slots=True)
class DataRequest(View):
    """A request of the register; the number by the start of its keyed hash (never in clear)."""

    id: int
    kind: str
    phone_ref: str
    contact_id: int | None
    requester: str
    means: str
    received_on: date
    due_by: date
    extended: bool
    extension_reason: str | None
    status: str  # open, answered, refused
    days_left: int | None  # open: days until due_by (negative: overdue)
    overdue: bool
    note: str | None
    answered_at: datetime | None
    answered_by: str | None
    outcome: dict[str, Any] | None
    created_at: datetime
    created_by: str


def one_month_after(day: date, months: int = 1) -> date:
    """The same day `months` later, or that month's last day when it has no such day (a
    request received on 31 January is due on 28 or 29 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _parsed(value: str, enum: type[StrEnum], field: str, code: str) -> Any:
    try:
        return enum(value.strip().casefold())
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        said = TEXTS[code].format(value=value, choices=choices)
        raise InvalidInputError(field, code, said) from None


def parse_day(value: str, field: str = "received_on") -> date | None:
    """A day written YYYY-MM-DD (None for an empty text), or InvalidInputError for `field`."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        said = TEXTS["invalid_date"].format(value=value)
        raise InvalidInputError(field, "invalid_date", said) from None


def parse_kind(value: str, field: str = "kind") -> RequestKind:
    kind: RequestKind = _parsed(value, RequestKind, field, "invalid_request_kind")
    return kind


def parse_means(value: str, field: str = "means") -> Means:
    means: Means = _parsed(value, Means, field, "invalid_means")
    return means


def _text(value: str | None, field: str, what: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > limit:
        said = TEXTS["value_too_long"].format(what=what, limit=limit)
        raise InvalidInputError(field, "value_too_long", said)
    return value


def _view(row: Row[Any], today: date) -> DataRequest:
    open_ = row.status == "open"
    days_left = (row.due_by - today).days if open_ else None
    return DataRequest(
        id=row.id, kind=row.kind, phone_ref=row.phone_hash.hex()[:16],
        contact_id=row.contact_id, requester=row.requester, means=row.means,
        received_on=row.received_on, due_by=row.due_by,
        extended=row.extension_reason is not None, extension_reason=row.extension_reason,
        status=row.status, days_left=days_left, overdue=days_left is not None and days_left < 0,
        note=row.note, answered_at=row.answered_at, answered_by=row.answered_by,
        outcome=row.outcome, created_at=row.created_at, created_by=row.created_by,
    )  # fmt: skip


def _today(ctx: Context) -> date:
    return ctx.now().astimezone(PARIS).date()


def add(
    ctx: Context,
    *,
    slug: str,
    kind: RequestKind,
    number: str,
    requester: str,
    means: Means,
    received_on: date | None = None,
    note: str | None = None,
) -> DataRequest:
    """Register a request about `number` (any notation) received by advertiser `slug` on
    `received_on` (today when not given), due one month later. Refused: an unreadable number
    (field `number`), no requester (`requester`), a date after today (`received_on`), a text
    too long."""
    e164 = valid_number(number)
    who = _text(requester, "requester", "the requester", MAX_REQUESTER)
    if who is None:
        raise InvalidInputError("requester", "empty_requester", TEXTS["empty_requester"])
    remark = _text(note, "note", "the note", MAX_NOTE)
    now = ctx.now()
    today = _today(ctx)
    received = received_on or today
    if received > today:
        said = TEXTS["received_in_future"].format(received=received, today=today)
        raise InvalidInputError("received_on", "received_in_future", said)
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        contact_id = conn.execute(
            select(contacts.c.id).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164
            )
        ).scalar()
        hashed = phone_hash(advertiser, e164)
        request_id = conn.execute(
            insert(data_requests)
            .values(
                advertiser_id=advertiser.id, kind=kind.value, phone_hash=hashed, e164=e164,
                contact_id=contact_id, requester=who, means=means.value,
                received_on=received, due_by=one_month_after(received), status="open",
                note=remark, created_at=now, created_by=ctx.actor,
            )
            .returning(data_requests.c.id)
        ).scalar_one()  # fmt: skip
        audit.append(
            conn,
            actor=ctx.actor,
            action="data_request.add",
            advertiser_id=advertiser.id,
            details={
                "request": request_id, "kind": kind.value, "means": means.value,
                "received_on": received.isoformat(), "phone_hash": hashed.hex()[:16],
                "known_contact": contact_id is not None,
            },
            at=now,
        )  # fmt: skip
        return _view(_row(conn, advertiser, request_id), today)


def _row(conn: Connection, advertiser: Advertiser, request_id: int) -> Row[Any]:
    row = conn.execute(
        select(data_requests).where(
            data_requests.c.id == request_id, data_requests.c.advertiser_id == advertiser.id
        )
    ).first()
    if row is None:
        said = TEXTS["request_not_found"].format(slug=advertiser.slug, request_id=request_id)
        raise NotFoundError(said, code="request_not_found", field="request")
    return row


def get(ctx: Context, *, slug: str, request_id: int) -> DataRequest:
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        return _view(_row(conn, advertiser, request_id), _today(ctx))


def list_requests(
    ctx: Context, *, slug: str, status: str | None = None, limit: int = 500
) -> list[DataRequest]:
    """The advertiser's requests, the open ones first by deadline, then the others newest
    first; `status` keeps one state (open, answered, refused)."""
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        query = select(data_requests).where(data_requests.c.advertiser_id == advertiser.id)
        if status is not None:
            query = query.where(data_requests.c.status == status)
        rows = conn.execute(query.order_by(data_requests.c.id.desc()).limit(limit)).all()
    today = _today(ctx)
    found = [_view(row, today) for row in rows]
    return sorted(found, key=lambda r: (r.status != "open", _due_order(r), -r.id))


def _due_order(request: DataRequest) -> int:
    return request.due_by.toordinal() if request.status == "open" else 0


def extend(ctx: Context, *, slug: str, request_id: int, reason: str) -> DataRequest:
    """Extend an open request's deadline by two further months (Art. 12(3): its complexity or
    the number of requests), once, and only before the first deadline has passed (the person
    is told within the first month, with the reason)."""
    why = _text(reason, "reason", "the reason", MAX_REASON)
    if why is None:
        raise InvalidInputError("reason", "empty_reason", TEXTS["empty_reason"])
    now, today = ctx.now(), _today(ctx)
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        row = open_request(conn, advertiser, request_id)
        if row.extension_reason is not None:
            said = TEXTS["already_extended"].format(request_id=request_id, due_by=row.due_by)
            raise ConflictError(said, code="already_extended", field="request")
        if today > row.due_by:
            said = TEXTS["extension_too_late"].format(request_id=request_id, due_by=row.due_by)
            raise ConflictError(said, code="extension_too_late", field="request")
        due_by = one_month_after(row.received_on, 3)
        conn.execute(
            update(data_requests)
            .where(data_requests.c.id == row.id)
            .values(due_by=due_by, extension_reason=why)
        )
        audit.append(
            conn, actor=ctx.actor, action="data_request.extend", advertiser_id=advertiser.id,
            details={"request": row.id, "due_by": due_by.isoformat()}, at=now,
        )  # fmt: skip
        return _view(_row(conn, advertiser, request_id), today)


def open_request(
    conn: Connection,
    advertiser: Advertiser,
    request_id: int,
    kinds: Sequence[RequestKind] = (),
) -> Row[Any]:
    """The open request `request_id` of `advertiser` (locked on PostgreSQL: two answers to one
    request never both go through), of one of `kinds` when given."""
    row = conn.execute(
        select(data_requests)
        .where(data_requests.c.id == request_id, data_requests.c.advertiser_id == advertiser.id)
        .with_for_update()
    ).first()
    if row is None:
        said = TEXTS["request_not_found"].format(slug=advertiser.slug, request_id=request_id)
        raise NotFoundError(said, code="request_not_found", field="request")
    if row.status != "open":
        said = TEXTS["not_open"].format(request_id=request_id, status=row.status)
        raise ConflictError(said, code="not_open", field="request")
    if kinds and row.kind not in kinds:
        expected = " or ".join(kind.value for kind in kinds)
        said = TEXTS["wrong_kind"].format(request_id=request_id, kind=row.kind, expected=expected)
        raise ConflictError(said, code="wrong_kind", field="request")
    return row


def settle(
    conn: Connection,
    ctx: Context,
    advertiser: Advertiser,
    row: Row[Any],
    status: str,
    outcome: Mapping[str, Any],
) -> None:
    """Close request `row` as `status` (answered, refused) with `outcome`, audited; the number
    goes (its hash stays)."""
    now = ctx.now()
    conn.execute(
        update(data_requests)
        .where(data_requests.c.id == row.id)
        .values(
            status=status, e164=None, answered_at=now, answered_by=ctx.actor, outcome=dict(outcome)
        )
    )
    action = "data_request.refuse" if status == "refused" else "data_request.answer"
    audit.append(
        conn, actor=ctx.actor, action=action,
        advertiser_id=advertiser.id, details={"request": row.id, "kind": row.kind, **outcome},
        at=now,
    )  # fmt: skip


def refuse(ctx: Context, *, slug: str, request_id: int, reason: str) -> DataRequest:
    """Refuse an open request with the reason told to the person (a request manifestly
    unfounded or excessive, an identity that could not be checked: Art. 12(5) and 12(6))."""
    why = _text(reason, "reason", "the reason", MAX_REASON)
    if why is None:
        raise InvalidInputError("reason", "empty_reason", TEXTS["empty_reason"])
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        row = open_request(conn, advertiser, request_id)
        settle(conn, ctx, advertiser, row, "refused", {"reason": why})
        return _view(_row(conn, advertiser, request_id), _today(ctx))


def view(conn: Connection, ctx: Context, advertiser: Advertiser, request_id: int) -> DataRequest:
    return _view(_row(conn, advertiser, request_id), _today(ctx))


@dataclass(frozen=True, slots=True)
class Reminders(View):
    """Open requests due within REMIND_DAYS days or overdue; `told`: those newly reminded of
    by webhook (once a day each)."""

    due: tuple[DataRequest, ...]
    told: int


def due(conn: Connection, today: date, advertiser_id: int | None = None) -> list[Row[Any]]:
    """The open requests due within REMIND_DAYS days of `today`, or overdue (every
    advertiser's, or `advertiser_id`'s), by deadline: what is reminded of by webhook and shown
    on the dashboard."""
    query = select(data_requests).where(
        data_requests.c.status == "open",
        data_requests.c.due_by <= today + timedelta(days=REMIND_DAYS),
    )
    if advertiser_id is not None:
        query = query.where(data_requests.c.advertiser_id == advertiser_id)
    return list(conn.execute(query.order_by(data_requests.c.due_by, data_requests.c.id)).all())


def remind(ctx: Context, *, slug: str | None = None) -> Reminders:
    """The open requests due soon or overdue (every advertiser's, or `slug`'s), each told once
    a day by a `data_request.due` webhook event (what the workers run daily)."""
    now, today = ctx.now(), _today(ctx)
    with ctx.engine.begin() as conn:
        owner = None if slug is None else advertisers.get(conn, slug).id
        rows = due(conn, today, owner)
        untold = [row for row in rows if row.reminded_on != today]
        emit(
            conn,
            [
                Event(row.advertiser_id, "data_request.due", _event_data(row, today))
                for row in untold
            ],
            now,
        )
        if untold:
            conn.execute(
                update(data_requests)
                .where(data_requests.c.id.in_([row.id for row in untold]))
                .values(reminded_on=today)
            )
    return Reminders(tuple(_view(row, today) for row in rows), len(untold))


def _event_data(row: Row[Any], today: date) -> dict[str, Any]:
    return {
        "request": row.id, "kind": row.kind, "received_on": row.received_on.isoformat(),
        "due_by": row.due_by.isoformat(), "days_left": (row.due_by - today).days,
    }  # fmt: skip
