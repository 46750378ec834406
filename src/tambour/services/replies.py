"""Replies from people (rules.md section 6): a STOP opts the number out, a START is a new consent
(`sms_keyword`), and every reply, whatever it says, is kept in `replies` for the advertiser to
read (`tambour replies list`, services/reply_inbox.py), never thrown away. Called by the inbound
worker with the replies of a few milliseconds, inside its own transaction: a handful of queries
a batch, not a reply.

Which advertisers a reply concerns (its *routing*):

- STOP: the advertisers whose STOP number is the short number the person wrote to and who
  messaged the number (an outbox row past `queued`); when none of them did, all the advertisers
  with that STOP number ("all of them when unsure"); when no advertiser has that STOP number,
  every advertiser that messaged the number. On the safe side of the law: an opt-out wrongly
  recorded costs a contact, one missed makes every later message unlawful.
- START: a consent must be given *to this advertiser* (rules.md section 3 step 4), so it goes
  to one advertiser only, found the same way but never guessed: the one that messaged the number
  through that short number, else the only advertiser with that STOP number. Several candidates,
  or a short number that is nobody's STOP number: no consent is recorded (audited as such).
  Only a known contact gets the consent; it does not lift a 33700 complaint (the decision code
  never lets a consent override one).
- Other replies go to the advertisers a STOP would reach, with nothing else done.

Kept (`replies` rows): one row per advertiser a reply was routed to as above, with its text,
the number (the address as the carrier gave it when it is not a phone number), the short
number, its meaning (stop, start, other) and status: `opted_out` for a STOP applied to that
advertiser, `new` otherwise; one row without an advertiser when none could be told (a START
whose advertiser is uncertain, a short number nobody owns and nobody messaged the person, a
sender that is no phone number), for the operator. A reply that the carrier delivered again
(the same text from the same number to the same short number within DUPLICATE_WINDOW) is not
kept twice.

Duplicates (carriers redeliver) change nothing: a STOP from a number already opted out (a
known contact's latest opposition is later than its latest consent; an unknown number already
on the suppression list) adds no evidence and asks for no second confirmation; a START adds no
consent when a keyword consent later than every opposition stands. Within one batch the last
word counts: a START followed by a STOP from the same number records only the STOP.

The audit log gets one entry per advertiser and kind of reply, with counts, the short numbers,
the phone hash prefixes (the advertiser's own keyed hash) and the ids of the `replies` rows
kept, never a number or a text; nor do the logs.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, insert, or_, select

from tambour.contacts.ledger import Evidence, EvidenceKind
from tambour.rules.codes import OptOutSource
from tambour.rules.replies import ReplyKind, Routing, confirmation_text, short_digits
from tambour.services import advertisers as advertisers_service
from tambour.services import audit, webhooks
from tambour.services.advertisers import Advertiser
from tambour.services.ledger_writes import insert_evidence
from tambour.services.optouts import record_optouts
from tambour.services.seals import Written, with_rows
from tambour.services.suppression import entries as suppression_entries
from tambour.services.suppression import phone_hash, record_suppressions
from tambour.services.webhooks import Event
from tambour.store.bulk import copy_time
from tambour.store.tables import (
    advertisers,
    campaigns,
    contacts,
    evidence,
    outbox,
)
from tambour.store.tables import replies as replies_table
from tambour.traffic import MAX_ADDRESS, OutboundMessage, Reply

logger = logging.getLogger(__name__)

# Outbox states of a message that left (or may have left) for the carrier: the advertiser
# messaged the number. `queued` and `cancelled` were never sent.
MESSAGED_STATES: Final = ("submitting", "submitted", "delivered", "failed", "expired", "unknown")
CONFIRMATION_REFERENCE: Final = "stop-confirmation"
KEYWORD_CONSENT_METHOD: Final = "sms_keyword"
DUPLICATE_WINDOW: Final = timedelta(minutes=10)  # a reply again within it: the carrier's retry


class ReplyStatus(StrEnum):
    """Where a kept reply stands for its advertiser."""

    NEW = "new"
    READ = "read"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True, slots=True)
class ReplyEffect:
    """What recording one reply did."""

    reply: Reply
    advertiser_ids: tuple[int, ...]  # the advertisers it was applied to (empty: none found)
    confirmation: OutboundMessage | None  # a confirmation to send, or None
    kept: tuple[int, ...] = ()  # the ids of its `replies` rows (empty: kept already)


# --- the batch ------------------------------------------------------------------------------


@dataclass
class _Tally:
    """One audit entry: replies of one kind for one advertiser (or none)."""

    count: int = 0
    short_numbers: set[str] = field(default_factory=set)
    phone_hashes: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    kept: list[int] = field(default_factory=list)  # ids of the `replies` rows written
    written: Written = field(default_factory=Written)  # evidence and suppression rows

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "count": self.count,
            "short_numbers": sorted(audit.without_phones(s) for s in self.short_numbers),
            **dict(sorted(self.counts.items())),
        }
        if self.phone_hashes:
            details["phone_hashes"] = sorted(self.phone_hashes)
        if self.kept:
            details["reply_ids"] = audit.id_ranges(self.kept)
        return with_rows(details, self.written)


@dataclass
class _Batch:
    """The replies of one call, routed, with what was done for each advertiser."""

    routing: Routing
    known: dict[tuple[int, str], int]  # (advertiser id, E.164) -> contact id
    advertisers: dict[int, Advertiser]
    tallies: dict[tuple[int | None, ReplyKind], _Tally] = field(default_factory=dict)
    # What each advertiser is to record, as (position in the batch, reply).
    stops: dict[int, list[tuple[int, Reply]]] = field(default_factory=lambda: defaultdict(list))
    starts: dict[int, list[tuple[int, Reply]]] = field(default_factory=lambda: defaultdict(list))
    last_stop: dict[tuple[int, str], int] = field(default_factory=dict)  # position of the last

    def tally(self, advertiser_id: int | None, kind: ReplyKind) -> _Tally:
        return self.tallies.setdefault((advertiser_id, kind), _Tally())

    def note(self, advertiser_id: int, reply: Reply, e164: str) -> _Tally:
        tally = self.tally(advertiser_id, reply.kind)
        tally.count += 1
        tally.short_numbers.add(reply.short_number)
        tally.phone_hashes.add(phone_hash(self.advertisers[advertiser_id], e164).hex()[:16])
        return tally

    def note_unrouted(self, reply: Reply, why: str) -> None:
        tally = self.tally(None, reply.kind)
        tally.count += 1
        tally.short_numbers.add(reply.short_number)
        tally.counts[why] += 1


def record_replies(
    conn: Connection,
    replies: Sequence[Reply],
    *,
    now: datetime,
    actor: str,
    confirm: bool = False,
) -> list[ReplyEffect]:
    """Record a batch of replies in the caller's transaction (see the module docstring): STOPs
    opt out at once, STARTs are new consents, every reply is kept and audited. Returns one
    effect per reply, in order, with the STOP confirmations to send when `confirm`."""
    batch = _route(conn, [r for r in replies if r.sender is not None])
    targets = [_dispatch(batch, position, reply) for position, reply in enumerate(replies)]
    fresh = {a: _record_stops(conn, batch, a, now, actor) for a in batch.stops}
    applied = {a: _record_starts(conn, batch, a, now, actor) for a in batch.starts}
    kept = _keep(conn, batch, replies, targets, now, actor)
    _audit(conn, batch, actor, now)
    effects = []
    for position, (reply, routed) in enumerate(zip(replies, targets, strict=True)):
        done = routed if reply.kind is ReplyKind.STOP else ()  # other replies: audited only
        if reply.kind is ReplyKind.START:
            done = tuple(a for a in routed if position in applied[a])
        confirmation = None
        if confirm and reply.kind is ReplyKind.STOP and any(position in fresh[a] for a in done):
            confirmation = _confirmation(batch, reply, done)
        effects.append(ReplyEffect(reply, done, confirmation, tuple(kept[position])))
    _emit_events(conn, replies, kept, fresh, now)
    return effects


def _emit_events(
    conn: Connection,
    replies: Sequence[Reply],
    kept: Sequence[Sequence[int]],
    fresh: dict[int, set[int]],
    now: datetime,
) -> None:
    """The webhooks of a batch: `reply.received` for each reply kept for an advertiser, and
    `contact.opted_out` for each STOP that opted a number out (not a STOP told again)."""
    events = [
        Event(advertiser_id, "contact.opted_out", {"number": replies[position].sender,
              "source": "sms_stop", "at": now.isoformat()})
        for advertiser_id, positions in sorted(fresh.items())
        for position in sorted(positions)
    ]  # fmt: skip
    ids = sorted(i for row_ids in kept for i in row_ids)
    if ids:
        rows = conn.execute(
            select(
                replies_table.c.id, replies_table.c.advertiser_id, replies_table.c.e164,
                replies_table.c.to_number, replies_table.c.text, replies_table.c.meaning,
                replies_table.c.status,
            ).where(replies_table.c.id.in_(ids), replies_table.c.advertiser_id.is_not(None))
        ).all()  # fmt: skip
        events += [
            Event(row.advertiser_id, "reply.received", {"reply_id": row.id, "from": row.e164,
                  "to": row.to_number, "text": row.text, "meaning": row.meaning,
                  "status": row.status, "received_at": now.isoformat()})
            for row in rows
        ]  # fmt: skip
    webhooks.emit(conn, events, now)


def _dispatch(batch: _Batch, position: int, reply: Reply) -> tuple[int, ...]:
    """Route one reply, note it for the audit, and queue it for its advertisers."""
    e164 = reply.sender
    if e164 is None:
        batch.note_unrouted(reply, "not_a_phone")
        return ()
    if reply.kind is ReplyKind.START:
        target = batch.routing.start_target(reply.short_number, e164)
        if target is None:
            batch.note_unrouted(reply, "advertiser_uncertain")
            return ()
        batch.note(target, reply, e164)
        batch.starts[target].append((position, reply))
        return (target,)
    routed = batch.routing.stop_targets(reply.short_number, e164)
    if not routed:
        batch.note_unrouted(reply, "no_advertiser")
        return ()
    for advertiser_id in routed:
        batch.note(advertiser_id, reply, e164)
        if reply.kind is ReplyKind.STOP:
            batch.stops[advertiser_id].append((position, reply))
            batch.last_stop[(advertiser_id, e164)] = position
    return routed


def _confirmation(batch: _Batch, reply: Reply, routed: tuple[int, ...]) -> OutboundMessage:
    assert reply.sender is not None
    names = [batch.advertisers[a].name for a in routed]
    return OutboundMessage(
        reference=CONFIRMATION_REFERENCE,
        sender=reply.short_number,
        recipient=reply.sender,
        text=confirmation_text(names),
    )


# --- reads ----------------------------------------------------------------------------------


def _route(conn: Connection, replies: Sequence[Reply]) -> _Batch:
    """Who owns the batch's short numbers, which advertisers know and messaged its numbers."""
    numbers = sorted({r.sender for r in replies if r.sender is not None})
    shorts = sorted({short_digits(r.short_number) for r in replies})
    if not numbers:
        return _Batch(Routing({}, frozenset()), {}, {})
    owners: dict[str, list[int]] = defaultdict(list)
    for advertiser_id, stop_number in conn.execute(
        select(advertisers.c.id, advertisers.c.stop_number)
        .where(advertisers.c.stop_number.in_(shorts))
        .order_by(advertisers.c.id)
    ):
        owners[stop_number].append(advertiser_id)
    unowned = sum(1 for r in replies if short_digits(r.short_number) not in owners)
    if unowned:
        logger.warning("%d replies to a short number that is no advertiser's STOP number", unowned)
        candidates = list(conn.execute(select(advertisers.c.id)).scalars())
    else:
        candidates = sorted({a for ids in owners.values() for a in ids})
    known = _known_contacts(conn, candidates, numbers)
    messaged = _messaged(conn, candidates, known)
    routing = Routing({k: tuple(v) for k, v in owners.items()}, messaged)
    involved = {
        a for r in replies if r.sender for a in routing.stop_targets(r.short_number, r.sender)
    }
    return _Batch(routing, known, advertisers_service.by_ids(conn, involved))


def _known_contacts(
    conn: Connection, advertiser_ids: list[int], numbers: list[str]
) -> dict[tuple[int, str], int]:
    """(advertiser id, E.164) -> contact id, for the live contacts among the numbers."""
    if not advertiser_ids:
        return {}
    rows = conn.execute(
        select(contacts.c.advertiser_id, contacts.c.e164, contacts.c.id).where(
            contacts.c.advertiser_id.in_(advertiser_ids), contacts.c.e164.in_(numbers)
        )
    )
    return {(advertiser_id, e164): contact_id for advertiser_id, e164, contact_id in rows}


def _messaged(
    conn: Connection, advertiser_ids: list[int], known: dict[tuple[int, str], int]
) -> frozenset[tuple[int, str]]:
    """The (advertiser, E.164) pairs with a message past `queued`. Outbox rows are found by
    campaign and contact, through the outbox's (campaign_id, contact_id) unique index."""
    if not known:
        return frozenset()
    their_campaigns = select(campaigns.c.id).where(campaigns.c.advertiser_id.in_(advertiser_ids))
    rows = conn.execute(
        select(outbox.c.advertiser_id, outbox.c.e164)
        .distinct()
        .where(
            outbox.c.campaign_id.in_(their_campaigns),
            outbox.c.contact_id.in_(sorted(set(known.values()))),
            outbox.c.advertiser_id.in_(advertiser_ids),
            outbox.c.state.in_(MESSAGED_STATES),
        )
    )
    return frozenset(
        (advertiser_id, e164) for advertiser_id, e164 in rows if (advertiser_id, e164) in known
    )


@dataclass(frozen=True, slots=True)
class _Standing:
    """What the ledger already says of one contact, to leave duplicates out."""

    latest_consent: datetime | None  # latest dated consent given, valid or not
    latest_keyword_consent: datetime | None
    latest_opposition: datetime | None  # latest dated opt-out or complaint
    undated_opposition: bool

    def opted_out(self) -> bool:
        """An opposition later than every consent (as the decision weighs them)."""
        if self.undated_opposition:
            return True
        if self.latest_opposition is None:
            return False
        return self.latest_consent is None or self.latest_opposition > self.latest_consent

    def keyword_consent_stands(self) -> bool:
        """A START consent not earlier than every opposition (the decision lets a consent win
        a tie): another START adds nothing."""
        if self.latest_keyword_consent is None or self.undated_opposition:
            return False
        return (
            self.latest_opposition is None or self.latest_keyword_consent >= self.latest_opposition
        )


_NOTHING = _Standing(None, None, None, undated_opposition=False)


def _standings(
    conn: Connection, advertiser_id: int, contact_ids: list[int]
) -> dict[int, _Standing]:
    """The consents and oppositions of these contacts of one advertiser."""
    if not contact_ids:
        return {}
    kinds = (EvidenceKind.CONSENT_GIVEN, EvidenceKind.OPT_OUT, EvidenceKind.COMPLAINT)
    facts: dict[int, list[tuple[str, datetime | None, Any]]] = defaultdict(list)
    for contact_id, kind, at, data in conn.execute(
        select(
            evidence.c.contact_id, evidence.c.kind, evidence.c.occurred_at, evidence.c.data
        ).where(
            evidence.c.advertiser_id == advertiser_id,
            evidence.c.contact_id.in_(contact_ids),
            evidence.c.kind.in_([k.value for k in kinds]),
        )
    ):
        facts[contact_id].append((kind, at, data))
    return {contact_id: _standing(found) for contact_id, found in facts.items()}


def _standing(facts: list[tuple[str, datetime | None, Any]]) -> _Standing:
    consents = [at for kind, at, _ in facts if kind == EvidenceKind.CONSENT_GIVEN and at]
    keyword = [
        at
        for kind, at, data in facts
        if kind == EvidenceKind.CONSENT_GIVEN
        and at
        and isinstance(data, dict)
        and data.get("method") == KEYWORD_CONSENT_METHOD
    ]
    oppositions = [at for kind, at, _ in facts if kind != EvidenceKind.CONSENT_GIVEN]
    dated = [at for at in oppositions if at is not None]
    return _Standing(
        latest_consent=max(consents, default=None),
        latest_keyword_consent=max(keyword, default=None),
        latest_opposition=max(dated, default=None),
        undated_opposition=len(dated) < len(oppositions),
    )


# --- writes ---------------------------------------------------------------------------------


def _origin(replies: Iterable[Reply]) -> str:
    """The evidence source: the short numbers written to."""
    shorts = sorted({audit.without_phones(r.short_number) for r in replies})
    return "sms-reply:" + ",".join(shorts)[:180]


def _record_stops(
    conn: Connection,
    batch: _Batch,
    advertiser_id: int,
    now: datetime,
    actor: str,
) -> set[int]:
    """Opt the STOP senders out of one advertiser; returns the positions of the replies that
    changed something (the others came from numbers already opted out)."""
    advertiser = batch.advertisers[advertiser_id]
    first: dict[str, int] = {}  # a second STOP of a number in the batch is a duplicate
    for position, reply in batch.stops[advertiser_id]:
        if reply.sender is not None:
            first.setdefault(reply.sender, position)
    numbers = list(first)
    contact_ids = [c for n in numbers if (c := batch.known.get((advertiser_id, n))) is not None]
    standings = _standings(conn, advertiser_id, contact_ids)
    unknown = [n for n in numbers if (advertiser_id, n) not in batch.known]
    already = set(suppression_entries(conn, advertiser, unknown))
    for number in numbers:
        contact_id = batch.known.get((advertiser_id, number))
        if contact_id is not None and standings.get(contact_id, _NOTHING).opted_out():
            already.add(number)
    fresh = [n for n in numbers if n not in already]
    tally = batch.tally(advertiser_id, ReplyKind.STOP)
    added = 0
    if fresh:
        added = record_optouts(
            conn,
            advertiser,
            [(n, OptOutSource.SMS_STOP, now) for n in fresh],
            origin=_origin(r for _, r in batch.stops[advertiser_id]),
            actor=actor,
            now=now,
            written=tally.written,
        )
    # A number opted out by its ledger alone gets its suppression entry too (a no-op if held).
    tally.written.add(
        record_suppressions(
            conn, advertiser, [(n, OptOutSource.SMS_STOP.value, now) for n in already], now
        )
    )
    tally.counts["evidence_added"] += added
    tally.counts["already_opted_out"] += len(numbers) - len(fresh)
    return {first[n] for n in fresh}


def _record_starts(
    conn: Connection,
    batch: _Batch,
    advertiser_id: int,
    now: datetime,
    actor: str,
) -> set[int]:
    """Record the START senders' consent to one advertiser, for its known contacts; returns
    the positions of the replies whose consent stands (recorded now or before). A START that a
    later STOP of the batch overrides is left out: the last word counts, and both would carry
    the same instant, which the decision reads as consent winning."""
    tally = batch.tally(advertiser_id, ReplyKind.START)
    last: dict[str, tuple[int, Reply]] = {}
    for position, reply in batch.starts[advertiser_id]:
        assert reply.sender is not None
        if (advertiser_id, reply.sender) not in batch.known:
            tally.counts["unknown_contacts"] += 1
        elif batch.last_stop.get((advertiser_id, reply.sender), -1) > position:
            tally.counts["followed_by_stop"] += 1
        else:
            last[reply.sender] = (position, reply)
    contact_ids = [batch.known[(advertiser_id, n)] for n in last]
    standings = _standings(conn, advertiser_id, contact_ids)
    rows = []
    dialect = conn.dialect.name
    for number, (_, reply) in last.items():
        contact_id = batch.known[(advertiser_id, number)]
        if standings.get(contact_id, _NOTHING).keyword_consent_stands():
            tally.counts["consent_already_given"] += 1
            continue
        event = keyword_consent(reply.short_number, now)
        rows.append(
            (advertiser_id, contact_id, event.kind.value, copy_time(dialect, now), event.data_json,
             event.fingerprint, _origin([reply]), copy_time(dialect, now), actor)
        )  # fmt: skip
    tally.written.evidence += insert_evidence(conn, rows)
    tally.counts["consents_added"] += len(rows)
    return {position for position, _ in last.values()}


class _Row(NamedTuple):
    """A `replies` row to write: who it is for and what the reply said."""

    advertiser_id: int | None
    e164: str  # the E.164, or the address as the carrier gave it when it is not a number
    to_number: str
    text: str
    meaning: str
    status: str

    @property
    def key(self) -> tuple[int | None, str, str, str]:
        """What a reply delivered again has the same."""
        return (self.advertiser_id, self.e164, self.to_number, self.text)


def _rows(reply: Reply, routed: tuple[int, ...]) -> list[_Row]:
    """The rows of one reply: one per advertiser it was routed to, else one without any."""
    number = (reply.sender or reply.sender_address.strip())[:MAX_ADDRESS]
    to_number = reply.short_number.strip()[:MAX_ADDRESS]
    text = reply.text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold a NUL
    rows = []
    for advertiser_id in routed or (None,):
        opted_out = reply.kind is ReplyKind.STOP and advertiser_id is not None
        status = ReplyStatus.OPTED_OUT if opted_out else ReplyStatus.NEW
        rows.append(_Row(advertiser_id, number, to_number, text, reply.kind.value, status.value))
    return rows


def _keep(
    conn: Connection,
    batch: _Batch,
    replies: Sequence[Reply],
    targets: Sequence[tuple[int, ...]],
    now: datetime,
    actor: str,
) -> list[list[int]]:
    """Keep every reply in `replies` (see the module docstring); returns the ids of each
    reply's rows. A STOP's rows are handled already: by `actor`, now."""
    planned = [
        (position, row)
        for position, (reply, routed) in enumerate(zip(replies, targets, strict=True))
        for row in _rows(reply, routed)
    ]
    seen = _recently_kept(conn, [row for _, row in planned], now - DUPLICATE_WINDOW)
    fresh: list[tuple[int, _Row]] = []
    for position, row in planned:
        if row.key not in seen:
            seen.add(row.key)
            fresh.append((position, row))
    kept: list[list[int]] = [[] for _ in replies]
    if not fresh:
        return kept
    values = []
    for _, row in fresh:
        handled = row.status == ReplyStatus.OPTED_OUT
        values.append(
            {
                **row._asdict(),
                "received_at": now,
                "handled_at": now if handled else None,
                "handled_by": actor[:100] if handled else None,
            }
        )
    ids = conn.execute(
        insert(replies_table).returning(replies_table.c.id, sort_by_parameter_order=True), values
    ).scalars()
    for (position, row), reply_id in zip(fresh, ids, strict=True):
        kept[position].append(reply_id)
        batch.tally(row.advertiser_id, replies[position].kind).kept.append(reply_id)
    return kept


def _recently_kept(
    conn: Connection, rows: Sequence[_Row], since: datetime
) -> set[tuple[int | None, str, str, str]]:
    """The keys of the rows like `rows` kept since `since`, read through the (advertiser_id,
    received_at) index."""
    if not rows:
        return set()
    advertiser_ids = sorted({r.advertiser_id for r in rows if r.advertiser_id is not None})
    found = conn.execute(
        select(
            replies_table.c.advertiser_id,
            replies_table.c.e164,
            replies_table.c.to_number,
            replies_table.c.text,
        ).where(
            or_(
                replies_table.c.advertiser_id.in_(advertiser_ids),
                replies_table.c.advertiser_id.is_(None),
            ),
            replies_table.c.received_at >= since,
            replies_table.c.e164.in_(sorted({r.e164 for r in rows})),
        )
    )
    return {(a, e164, to, text) for a, e164, to, text in found}


def keyword_consent(short_number: str, at: datetime) -> Evidence:
    """The consent a START gives, shaped as an imported consent by SMS keyword (see the
    sample file): channel sms, method `sms_keyword`, to the advertiser that owns the number."""
    return Evidence(
        EvidenceKind.CONSENT_GIVEN,
        at,
        {
            "channels": ["sms"],
            "method": KEYWORD_CONSENT_METHOD,
            "source": "SMS START",
            "wording": f"START au {audit.without_phones(short_number)}",
        },
    )


def _audit(conn: Connection, batch: _Batch, actor: str, now: datetime) -> None:
    """One audit entry per advertiser and kind of reply."""
    for (advertiser_id, kind), tally in sorted(
        batch.tallies.items(), key=lambda item: (item[0][0] or 0, item[0][1].value)
    ):
        audit.append(
            conn,
            actor=actor,
            action=f"reply.{kind.value}",
            advertiser_id=advertiser_id,
            details=tally.details(),
            at=now,
        )
