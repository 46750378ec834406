"""One message sent by itself (the API's `POST /api/v1/messages`): a campaign of one recipient.

It is decided by the same core as a campaign's plan, against the same ledger facts, and stored
as one: its own campaign row (`kind` 'message', launched at once), one sealed plan row (the
decision, its basis or reason, the exact text) and one outbox row the workers send, all in one
transaction with its audit entry, which lists the plan row's seal. A message the core refuses is
not stored: the refusal says why, with the reason code (`opted_out`, `no_legal_basis`...), or
the block of its text (`promotional_content`, `missing_stop_mention`...).

A recipient must be a contact of the advertiser for any prospection: there is no basis without
the ledger's facts. A transactional message answers one transaction named in the request
(`transaction`): its recipient, when not a contact yet, becomes one (with no fact: none is
needed for it, and a 33700 complaint recorded later still stops the next).
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy import Connection, insert, select

from tambour.contacts.ledger import Evidence, EvidenceKind, facts_of, personalization, profile_hash
from tambour.rules.calendar import WindowPolicy
from tambour.rules.codes import Channel, ContactKind, Nature, OptOutSource
from tambour.rules.content import MAX_PARTS, ContentCheck, check_content
from tambour.rules.decision import Decision
from tambour.rules.facts import OptOut
from tambour.rules.labels import label
from tambour.rules.planning import Planner, plan_blocks
from tambour.rules.template import field_key
from tambour.services import advertisers, audit
from tambour.services import campaign_definition as definition
from tambour.services.advertisers import Advertiser
from tambour.services.campaigns import Campaign, sender_id, window_policy
from tambour.services.context import (
    Context,
    InvalidInputError,
    NotFoundError,
    Problem,
    ServiceError,
    refuse_any,
)
from tambour.services.seals import PLAN_SEALED, PlanWritten, Written, current_sealer, seal_number
from tambour.services.suppression import phone_hash
from tambour.services.views import View
from tambour.sms.phone import PhoneInfo, parse_phone
from tambour.store.bulk import driver_cursor, mark, read_instant, reserve_ids
from tambour.store.engine import single_read
from tambour.store.tables import campaigns, contacts, evidence, outbox, plan_rows
from tambour.store.tables import suppressions as suppression_rows

KIND: Final = "message"  # campaigns.kind of a message sent by itself
TRANSACTION_FIELD: Final = "transaction"  # the template field of its transaction reference
MAX_LABEL: Final = 100
MAX_REFERENCE: Final = 200
# How far ahead a message may be scheduled: its decision is made now, on today's facts (the
# workers check opt-outs and retention again before sending it).
MAX_AHEAD: Final = timedelta(days=35)
PAST_TOLERANCE: Final = timedelta(minutes=5)  # a send_at this much in the past means "now"
SOURCE: Final = "api message"  # what a contact created for a transactional message says

# What a refusal says, by its code (the parameter it is about is said by the entry point).
TEXTS: Final = {
    "transaction_required": (
        "a transactional message answers one transaction of its recipient: give its reference "
        "(order, appointment, delivery)"
    ),
    "transaction_not_transactional": "only a transactional message names a transaction",
    "send_at_past": "{at} is past",
    "send_at_too_far": "{at} is more than {days} days ahead: schedule it later",
    "label_too_long": "at most {limit} characters",
    "reference_too_long": "at most {limit} characters",
    "refused": "the recipient may not be sent this message: {code}",
    "message_not_found": "no message {id}",
}


@dataclass(frozen=True, slots=True)
class MessageRequest:
    """One message to send, as its sender asks for it."""

    to: str  # a phone number, in any usual notation
    text: str  # a template: {placeholders} are filled in from the contact's fields
    sender: str  # one of the advertiser's sender IDs
    nature: Nature
    label: str | None = None  # a grouping of the sender's own (the API's `campaign`)
    send_at: datetime | None = None  # aware; None: now (held to the next window if needed)
    transaction: str | None = None  # a transactional message's transaction reference
    categories: Sequence[str] = ()  # the products it is about (existing customers' basis)
    professions: Sequence[str] = ()  # the professions it concerns (B2B)
    channel: Channel = Channel.SMS


@dataclass(frozen=True, slots=True)
class MessagePart(View):
    """One part of a message as the carrier took it, with its receipt once it came."""

    part: int
    of_parts: int
    carrier: str
    carrier_id: str  # the carrier's id for it (what its receipt names)
    submitted_at: datetime | None
    outcome: str | None  # delivered, failed, expired, unknown; None: no receipt yet
    error_code: int | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class Message(View):
    """A message, decided and queued: its state, and why it was lawful to send."""

    id: int  # the outbox message's
    campaign_id: int
    kind: str  # 'message' (sent by itself) or 'campaign' (one of a campaign's)
    label: str | None
    to: str  # E.164
    sender: str
    nature: str
    text: str  # as sent: personalized, STOP mention included
    encoding: str
    segments: int
    state: str  # queued, submitting, submitted, delivered, failed, expired, cancelled, ...
    basis: str  # the legal basis it is sent on
    deferral: str | None  # why send_at is later than asked (quiet_hours, sunday, holiday...)
    send_at: datetime  # the earliest instant it may leave
    territory: str | None
    timezone: str | None  # the recipient's: send_at is shown in it
    transaction: str | None
    reason: str | None  # why it was held, cancelled or expired, once it was
    error_code: int | None  # the carrier's, for a failure
    carrier: str | None
    created_at: datetime
    submitted_at: datetime | None
    done_at: datetime | None
    parts: tuple[MessagePart, ...] = ()


# --- sending --------------------------------------------------------------------------------


def send(ctx: Context, *, slug: str, request: MessageRequest) -> Message:
    """Decide one message by the core and queue it, or refuse it (InvalidInputError, 422) with
    the reason code of the decision or the blocks of its text; NotFoundError for an unknown
    advertiser."""
    (outcome,) = send_many(ctx, slug=slug, requests=[request])
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def send_many(
    ctx: Context, *, slug: str, requests: Sequence[MessageRequest]
) -> list[Message | ServiceError]:
    """`send` for several messages of one advertiser at once (the API gathers those that
    arrive together): each decided on its own, those accepted stored in one transaction with
    one audit entry. Returns, in the requests' order, each message queued or the refusal of
    its own; NotFoundError for an unknown advertiser."""
    now = ctx.now()
    at = now.astimezone(UTC)  # the core compares instants of one zone (as a plan does)
    outcomes: list[Message | ServiceError | None] = [None] * len(requests)
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        checked: list[_Checked] = []
        contents: dict[tuple[Any, ...], ContentCheck] = {}  # alike texts checked once
        for index, request in enumerate(requests):
            try:
                checked.append(_check(index, request, advertiser, at, contents))
            except ServiceError as error:
                outcomes[index] = error
        if checked:
            window = window_policy(conn, advertiser)
            known = _contacts(conn, advertiser, sorted({c.e164 for c in checked}))
            accepted: list[_Accepted] = []
            for each in checked:
                try:
                    accepted.append(_decided(each, known.get(each.e164), advertiser, window, at))
                except ServiceError as error:
                    outcomes[each.index] = error
            for message in _store(conn, ctx, advertiser, accepted, now):
                outcomes[message[0]] = message[1]
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


@dataclass(frozen=True, slots=True)
class _Checked:
    """A request found well-formed, its text free of blocks."""

    index: int  # in the batch
    request: MessageRequest
    phone: PhoneInfo
    e164: str
    sender: str  # as registered
    wanted: definition.Definition
    content: ContentCheck


@dataclass(frozen=True, slots=True)
class _Accepted:
    """A message the core decided may be sent, with its exact text."""

    checked: _Checked
    recipient: "_Recipient"
    decision: Decision
    text: str
    encoding: str
    segments: int
    forcing: str | None
    territory: str | None
    zone: str | None


def _check(
    index: int,
    request: MessageRequest,
    advertiser: Advertiser,
    now: datetime,
    contents: dict[tuple[Any, ...], ContentCheck],
) -> _Checked:
    """The request checked on its own (every problem in one refusal), then its text."""
    phone = parse_phone(request.to)
    problems = _request_problems(request, phone.valid, now)
    try:
        sender = sender_id(request.sender, advertiser)
    except InvalidInputError as error:
        problems.extend(error.problems)
        sender = request.sender
    refuse_any(problems)
    assert phone.e164 is not None
    wanted = _definition(request, sender, now)
    refuse_any(definition.problems(wanted, now))
    key = (request.text, sender, request.nature, request.channel, wanted.transaction_field)
    content = contents.get(key)
    if content is None:
        content = contents[key] = check_content(
            text=request.text, sender=sender, nature=request.nature, channel=request.channel,
            advertiser=advertiser.facts, transaction_field=wanted.transaction_field,
        )  # fmt: skip
    _refuse_blocks(content.blocks)
    return _Checked(index, request, phone, phone.e164, sender, wanted, content)


def _decided(
    checked: _Checked,
    known: "_Recipient | None",
    advertiser: Advertiser,
    window: WindowPolicy,
    now: datetime,
) -> _Accepted:
    """The core's decision for the message, or its refusal: the reason code, or the blocks
    its recipient reveals (a placeholder without a value, too many parts)."""
    request = checked.request
    # A number not in the ledger is decided as a person with no fact: the core finds no basis
    # for prospection, and a transactional message's own transaction. It becomes a contact
    # once its message is accepted.
    recipient = known or _Recipient.stranger(now)
    campaign = _campaign(0, advertiser, checked.wanted, now)
    planner = Planner(campaign.facts(now, window), advertiser.facts, checked.content, now)
    facts = facts_of(
        checked.phone, recipient.kind, recipient.profile, recipient.events,
        first_seen_at=recipient.created_at, suppression=recipient.suppression,
        transaction_reference=request.transaction,
    )  # fmt: skip
    values = personalization(recipient.profile)
    if request.transaction:
        values[field_key(TRANSACTION_FIELD)] = request.transaction
    planned = planner.evaluate(facts, values)
    decision = planned.decision
    if not decision.send:
        code = str(decision.reason)
        raise InvalidInputError("to", code, TEXTS["refused"].format(code=code))
    count = planned.counted
    assert count is not None and planned.text is not None and decision.send_at is not None
    blocks = plan_blocks(
        checked.content, Counter(planned.missing), int(planned.empty), sends=1,
        over_parts=int(count.segments > MAX_PARTS),
    )  # fmt: skip
    _refuse_blocks(blocks)
    locality = decision.locality
    territory = zone = None
    if locality is not None:
        territory, zone = locality.territory, locality.timezones[0]
    return _Accepted(
        checked, recipient, decision, planned.text, count.encoding, count.segments,
        planned.forcing[:40] or None, territory, zone,
    )  # fmt: skip


def _store(
    conn: Connection, ctx: Context, advertiser: Advertiser, accepted: list[_Accepted], now: datetime
) -> list[tuple[int, Message]]:
    """The accepted messages stored, each a campaign of one recipient: its campaign row, its
    sealed plan row, its outbox row; contacts made for the transactional strangers among
    them; one audit entry listing the plan rows. Returns (index in the batch, message)."""
    if not accepted:
        return []
    created = _new_contacts(
        conn, advertiser, sorted({a.checked.e164 for a in accepted if a.recipient.created}), now
    )
    campaign_ids = reserve_ids(conn, "campaigns", len(accepted))
    sealer = current_sealer()
    campaign_rows: list[dict[str, Any]] = []
    planned_rows: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    plans: list[PlanWritten] = []
    bases: Counter[str] = Counter()
    for campaign_id, each in zip(campaign_ids, accepted, strict=True):
        checked, decision, request = each.checked, each.decision, each.checked.request
        contact_id = created.get(checked.e164, each.recipient.id)
        deferral = decision.deferral and str(decision.deferral)
        postal_code = each.recipient.profile.get("postal_code")
        row = (
            campaign_id, 1, contact_id, advertiser.id, checked.e164, "send",
            str(decision.basis), None, deferral, each.territory, each.zone, postal_code,
            decision.send_at, each.segments, each.encoding, each.forcing, each.text,
            each.recipient.profile_hash, each.recipient.latest_evidence, decision.retain_until,
            None, None,
        )  # fmt: skip
        seal = sealer.plan_row(row)
        plans.append(PlanWritten(campaign_id, 1, 1, seal_number(seal)))
        bases[str(decision.basis)] += 1
        planned_rows.append({**dict(zip(PLAN_SEALED, row, strict=True)), "seal": seal})
        campaign_rows.append(
            {
                "id": campaign_id, "advertiser_id": advertiser.id,
                "name": message_name(campaign_id), **checked.wanted.stored(),
                "status": "launched", "created_at": now, "created_by": ctx.actor,
                "generations": 1, "plan_generation": 1, "planned_at": now, "launched_at": now,
                "kind": KIND, "label": request.label, "reference": request.transaction,
                "plan_summary": {"targeted": 1, "send": 1, "exclude": 0, "blocks": []},
            }
        )  # fmt: skip
        queued.append(
            {
                "advertiser_id": advertiser.id, "campaign_id": campaign_id,
                "contact_id": contact_id, "e164": checked.e164, "postal_code": postal_code,
                "sender": checked.sender, "text": each.text, "encoding": each.encoding,
                "parts": each.segments, "send_at": decision.send_at, "send_by": None,
                "state": "queued", "attempts": 0, "created_at": now, "updated_at": now,
                "retain_until": decision.retain_until,
            }
        )  # fmt: skip
    conn.execute(insert(campaigns), campaign_rows)
    conn.execute(insert(plan_rows), planned_rows)
    message_ids = list(
        conn.execute(
            insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True), queued
        ).scalars()
    )
    audit.append(
        conn,
        actor=ctx.actor,
        action="message.queue",
        advertiser_id=advertiser.id,
        details={
            "messages": len(accepted), "message_ids": audit.id_ranges(message_ids),
            "campaign_ids": audit.id_ranges(campaign_ids), "by_basis": dict(sorted(bases.items())),
            "contacts_created": audit.id_ranges(sorted(created.values())),
            "rows": Written(plans=plans).as_details(),
        },
        at=now,
    )  # fmt: skip
    return [
        (each.checked.index, _queued(message_id, campaign_id, each, now))
        for message_id, campaign_id, each in zip(message_ids, campaign_ids, accepted, strict=True)
    ]


def _queued(message_id: int, campaign_id: int, each: _Accepted, now: datetime) -> Message:
    request, decision = each.checked.request, each.decision
    assert decision.send_at is not None
    return Message(
        id=message_id, campaign_id=campaign_id, kind=KIND, label=request.label,
        to=each.checked.e164, sender=each.checked.sender, nature=request.nature.value,
        text=each.text, encoding=each.encoding, segments=each.segments, state="queued",
        basis=str(decision.basis), deferral=decision.deferral and str(decision.deferral),
        send_at=decision.send_at, territory=each.territory, timezone=each.zone,
        transaction=request.transaction, reason=None, error_code=None, carrier=None,
        created_at=now, submitted_at=None, done_at=None,
    )  # fmt: skip


def _request_problems(request: MessageRequest, valid_number: bool, now: datetime) -> list[Problem]:
    """What is wrong with the request itself, before any look-up."""
    found: list[Problem] = []
    if not valid_number:
        found.append(Problem("to", "invalid_number", label("invalid_number")))
    transactional = request.nature is Nature.TRANSACTIONAL
    reference = (request.transaction or "").strip()
    if transactional and not reference:
        found.append(Problem("transaction", "transaction_required", TEXTS["transaction_required"]))
    elif reference and not transactional:
        said = TEXTS["transaction_not_transactional"]
        found.append(Problem("transaction", "transaction_not_transactional", said))
    if len(reference) > MAX_REFERENCE:
        said = TEXTS["reference_too_long"].format(limit=MAX_REFERENCE)
        found.append(Problem("transaction", "reference_too_long", said))
    if request.label is not None and len(request.label) > MAX_LABEL:
        said = TEXTS["label_too_long"].format(limit=MAX_LABEL)
        found.append(Problem("campaign", "label_too_long", said))
    if request.label and audit.looks_like_phone(request.label):
        found.append(Problem("campaign", "phone_in_text", "a phone number has no place here"))
    send_at = request.send_at
    if send_at is not None:
        if send_at.tzinfo is None:
            raise ValueError("send_at must be timezone-aware")  # a caller's bug, not input
        if send_at < now - PAST_TOLERANCE:
            found.append(
                Problem("send_at", "send_at_past", TEXTS["send_at_past"].format(at=send_at))
            )
        elif send_at > now + MAX_AHEAD:
            said = TEXTS["send_at_too_far"].format(at=send_at, days=MAX_AHEAD.days)
            found.append(Problem("send_at", "send_at_too_far", said))
    return found


def _definition(request: MessageRequest, sender: str, now: datetime) -> definition.Definition:
    send_at = request.send_at
    return definition.Definition(
        nature=request.nature, channel=request.channel, sender=sender, text=request.text,
        categories=definition.listed(request.categories),
        professions=definition.listed(request.professions), tags=(),
        start_at=max(send_at, now) if send_at is not None else None, send_by=None,
        transaction_field=TRANSACTION_FIELD if request.nature is Nature.TRANSACTIONAL else None,
    )  # fmt: skip


def _campaign(
    campaign_id: int, advertiser: Advertiser, wanted: definition.Definition, now: datetime
) -> Campaign:
    """The message's campaign as the core sees it (an object: stored once accepted)."""
    return Campaign(
        id=campaign_id, advertiser=advertiser, name=message_name(campaign_id),
        nature=wanted.nature, channel=wanted.channel, sender=wanted.sender, text=wanted.text,
        categories=wanted.categories, professions=wanted.professions, tags=(),
        start_at=wanted.start_at, send_by=None, status="launched", created_at=now,
        created_by="", plan_generation=1, planned_at=now, plan_summary=None,
        launched_at=now, cancelled_at=None, transaction_field=wanted.transaction_field,
    )  # fmt: skip


def message_name(campaign_id: int) -> str:
    """The name of a message's campaign (a campaign's name may not take this form)."""
    return f"message {campaign_id}"


def _refuse_blocks(blocks: Sequence[Any]) -> None:
    """The blocks of a message's text, as one refusal (each about its text or sender)."""
    refuse_any(
        [
            Problem(
                "sender" if str(block.code) == "invalid_sender_id" else "text",
                str(block.code),
                block.message,
            )
            for block in blocks
        ]
    )


# --- the recipients -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Recipient:
    id: int
    kind: ContactKind
    profile: dict[str, Any]
    profile_hash: bytes
    created_at: datetime
    events: tuple[Evidence, ...]
    latest_evidence: int  # the largest evidence id, 0 for none
    suppression: OptOut | None
    created: bool = False  # not a contact yet: made one when its message is accepted

    @classmethod
    def stranger(cls, now: datetime) -> "_Recipient":
        """A transactional message's recipient not in the ledger: a person, with no fact."""
        return cls(0, ContactKind.PERSON, {}, _EMPTY_PROFILE_HASH, now, (), 0, None, True)


_EMPTY_PROFILE_HASH: Final = profile_hash(ContactKind.PERSON.value, orjson.dumps({}).decode())


def _contacts(
    conn: Connection, advertiser: Advertiser, numbers: list[str]
) -> dict[str, _Recipient]:
    """The contacts of those numbers (E.164), with their facts and suppression entries, read
    as a plan reads them (a 33700 complaint wins over another entry of a number): three
    queries for them all."""
    rows = conn.execute(
        select(
            contacts.c.id, contacts.c.e164, contacts.c.kind, contacts.c.profile,
            contacts.c.profile_hash, contacts.c.created_at,
        ).where(contacts.c.advertiser_id == advertiser.id, contacts.c.e164.in_(numbers))
    ).all()  # fmt: skip
    if not rows:
        return {}
    events: dict[int, list[Evidence]] = {row.id: [] for row in rows}
    latest: dict[int, int] = {}
    for contact_id, evidence_id, kind, at, data in conn.execute(
        select(
            evidence.c.contact_id, evidence.c.id, evidence.c.kind, evidence.c.occurred_at,
            evidence.c.data,
        )
        .where(evidence.c.advertiser_id == advertiser.id, evidence.c.contact_id.in_(list(events)))
        .order_by(evidence.c.contact_id, evidence.c.id)
    ):  # fmt: skip
        events[contact_id].append(Evidence(EvidenceKind(kind), at, data))
        latest[contact_id] = evidence_id
    hashes = {phone_hash(advertiser, row.e164): row.e164 for row in rows}
    suppressed: dict[str, OptOut] = {}
    for digest, source, suppressed_at in conn.execute(
        select(
            suppression_rows.c.phone_hash, suppression_rows.c.source,
            suppression_rows.c.suppressed_at,
        ).where(
            suppression_rows.c.advertiser_id == advertiser.id,
            suppression_rows.c.phone_hash.in_(list(hashes)),
        )
    ):  # fmt: skip
        number = hashes[bytes(digest)]
        entry = OptOut(OptOutSource(source), suppressed_at)
        if number not in suppressed or entry.source is OptOutSource.COMPLAINT_33700:
            suppressed[number] = entry
    found: dict[str, _Recipient] = {}
    for row in rows:
        found[row.e164] = _Recipient(
            row.id, ContactKind(row.kind), row.profile, bytes(row.profile_hash), row.created_at,
            tuple(events[row.id]), latest.get(row.id, 0), suppressed.get(row.e164),
        )  # fmt: skip
    return found


def _new_contacts(
    conn: Connection, advertiser: Advertiser, numbers: list[str], now: datetime
) -> dict[str, int]:
    """Contacts for transactional messages' recipients not in the ledger: persons, with no
    fact; their ids by number."""
    if not numbers:
        return {}
    ids = reserve_ids(conn, "contacts", len(numbers))
    conn.execute(
        insert(contacts),
        [
            {
                "id": contact_id, "advertiser_id": advertiser.id, "e164": e164,
                "kind": ContactKind.PERSON.value, "profile": {},
                "profile_hash": _EMPTY_PROFILE_HASH, "created_at": now, "updated_at": now,
            }
            for contact_id, e164 in zip(ids, numbers, strict=True)
        ],
    )  # fmt: skip
    return dict(zip(numbers, ids, strict=True))


# --- reading --------------------------------------------------------------------------------


# One query for a message, its decision and its parts (a row for each), to the driver: the
# API reads messages a thousand times a second, where SQLAlchemy's statement building and
# result processing cost more than the database does.
_MESSAGE = (
    "SELECT o.id, o.campaign_id, c.kind, c.label, o.e164, o.sender, c.nature, o.text,"
    " o.encoding, o.parts, o.state, p.basis, p.deferral, o.send_at, p.territory, p.timezone,"
    " c.reference, o.reason, o.error_code, o.carrier, o.created_at, o.submitted_at, o.done_at,"
    " part.part, part.of_parts, part.carrier, part.carrier_key, part.submitted_at,"
    " part.outcome, part.error_code, part.done_at"
    " FROM outbox o JOIN campaigns c ON c.id = o.campaign_id"
    " LEFT JOIN plan_rows p ON p.campaign_id = o.campaign_id"
    " AND p.generation = c.plan_generation AND p.contact_id = o.contact_id"
    " LEFT JOIN outbox_parts part ON part.outbox_id = o.id"
    " WHERE o.id = {mark}{mine} ORDER BY part.part, part.submitted_at"
)


def get(ctx: Context, *, message_id: int, advertiser_id: int | None) -> Message:
    """One message of the advertiser (None: any advertiser's, for the operator) with its parts
    and their receipts; NotFoundError for another advertiser's, as for one that does not
    exist. One statement, read on its own (no transaction around it)."""
    with single_read(ctx.engine) as conn:
        q = mark(conn)
        mine = "" if advertiser_id is None else f" AND o.advertiser_id = {q}"
        cursor = driver_cursor(conn)
        cursor.execute(
            _MESSAGE.format(mark=q, mine=mine),
            (message_id,) if advertiser_id is None else (message_id, advertiser_id),
        )
        rows = cursor.fetchall()
    if not rows:
        said = TEXTS["message_not_found"].format(id=message_id)
        raise NotFoundError(said, code="message_not_found", field="message_id")
    (
        found_id, campaign_id, kind, label, e164, sender, nature, text, encoding, segments,
        state, basis, deferral, send_at, territory, zone, reference, reason, error_code,
        carrier, created_at, submitted_at, done_at, *_,
    ) = rows[0]  # fmt: skip
    parts = tuple(_part(row[23:]) for row in rows if row[23] is not None)
    return Message(
        id=found_id, campaign_id=campaign_id, kind=kind, label=label, to=e164, sender=sender,
        nature=nature, text=text, encoding=encoding, segments=segments, state=state,
        basis=basis or "", deferral=deferral, send_at=read_instant(send_at),
        territory=territory, timezone=zone, transaction=reference, reason=reason,
        error_code=error_code, carrier=carrier, created_at=read_instant(created_at),
        submitted_at=_instant(submitted_at), done_at=_instant(done_at), parts=parts,
    )  # fmt: skip


def _instant(value: Any) -> datetime | None:
    return None if value is None else read_instant(value)


def _part(row: Sequence[Any]) -> MessagePart:
    part, of_parts, carrier, carrier_key, submitted_at, outcome, error_code, done_at = row
    return MessagePart(
        part, of_parts, carrier, carrier_key, _instant(submitted_at), outcome, error_code,
        _instant(done_at),
    )  # fmt: skip
