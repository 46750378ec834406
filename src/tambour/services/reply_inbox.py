"""The replies an advertiser reads (rules.md section 6: every reply is kept for the advertiser to
read, never discarded; services/replies.py keeps them): list them, mark one read, or mark one
as an opt-out that the core could not read for sure ("j'en veux plus", a typo of STOP...).

Every call names the advertiser: a reply kept for another one is "not found", like one that
does not exist (tenants never see each other's data).

Marking a reply as an opt-out records the person's opposition through the opt-out service, as
a STOP reply would: source `sms_stop` (the person refused by replying to an SMS; `manual` is an
opposition made elsewhere, a call or a letter, written down by hand) dated when the reply
came, so that a consent the person gave later still counts; the number is on the advertiser's
suppression list at once, and a message queued for it is cancelled before it leaves. Who
marked it is in the reply row (`handled_by`) and the audit log.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update

from tambour.rules.codes import OptOutSource
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.context import ConflictError, Context, InvalidInputError, NotFoundError
from tambour.services.optouts import record_optouts
from tambour.services.replies import ReplyStatus
from tambour.services.seals import Written, with_rows
from tambour.services.suppression import phone_hash
from tambour.sms.phone import parse_phone
from tambour.store.engine import reader
from tambour.store.tables import replies

PARIS: Final = ZoneInfo("Europe/Paris")
DEFAULT_LIMIT: Final = 50
MARKED_OPT_OUT_SOURCE: Final = OptOutSource.SMS_STOP

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "limit": "{limit} is not a positive number",
    "not_from_number": (
        "reply {reply_id} did not come from a phone number: there is no number to opt out"
    ),
    "reply_not_found": "no reply {reply_id} for {slug}",
}


@dataclass(frozen=True, slots=True)
class KeptReply:
    """A reply as its advertiser reads it."""

    id: int
    number: str  # E.164 (or the address as the carrier gave it, when it is not a number)
    to: str  # the short number written to
    text: str
    meaning: str  # stop, start, other: what the core read in it
    status: str  # new, read, opted_out
    received_at: datetime
    handled_at: datetime | None
    handled_by: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON: the instants in ISO 8601, Paris time with its offset."""
        return {
            "id": self.id,
            "number": self.number,
            "to": self.to,
            "text": self.text,
            "meaning": self.meaning,
            "status": self.status,
            "received_at": self.received_at.astimezone(PARIS).isoformat(),
            "handled_at": self.handled_at.astimezone(PARIS).isoformat()
            if self.handled_at
            else None,
            "handled_by": self.handled_by,
        }


@dataclass(frozen=True, slots=True)
class Marked:
    """A reply marked (`changed`), or left as it was; an opt-out recorded says its source, the
    number's suppression hash (its start) and whether it is a contact of the advertiser."""

    id: int
    status: str  # new, read, opted_out
    changed: bool
    source: str | None = None
    phone_hash: str | None = None
    known_contact: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.id, "status": self.status, "changed": self.changed}
        if self.source is not None:
            found.update(
                source=self.source, phone_hash=self.phone_hash, known_contact=self.known_contact
            )
        return found


@dataclass(frozen=True, slots=True)
class ReplyPosition:
    """Where a page of replies starts: after the reply received at `received_at` with `id`
    (replies come newest first; two received at one instant, by id)."""

    received_at: datetime
    id: int


@dataclass(frozen=True, slots=True)
class ReplyPage:
    replies: list[KeptReply]
    next_after: ReplyPosition | None  # None: the last page


def list_replies(
    ctx: Context,
    *,
    slug: str,
    status: ReplyStatus | None = None,
    limit: int = DEFAULT_LIMIT,
    after: ReplyPosition | None = None,
) -> ReplyPage:
    """The advertiser's replies, newest first, `limit` at most, of one status or all; those
    received before `after` (the page after another), through the (advertiser, received_at)
    index."""
    if limit < 1:
        said = TEXTS["limit"].format(limit=limit)
        raise InvalidInputError("limit", "out_of_range", said)
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        query = (
            select(replies)
            .where(replies.c.advertiser_id == advertiser.id)
            .order_by(replies.c.received_at.desc(), replies.c.id.desc())
            .limit(limit + 1)
        )
        if status is not None:
            query = query.where(replies.c.status == status.value)
        if after is not None:
            query = query.where(
                (replies.c.received_at < after.received_at)
                | ((replies.c.received_at == after.received_at) & (replies.c.id < after.id))
            )
        found = [_kept(row) for row in conn.execute(query)]
    page = found[:limit]
    last = page[-1] if len(found) > limit else None
    return ReplyPage(page, None if last is None else ReplyPosition(last.received_at, last.id))


def mark_read(ctx: Context, *, slug: str, reply_id: int) -> Marked:
    """Mark a new reply read (audited); a reply read or opted out already stays as it is."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        found = _find(conn, advertiser, reply_id)
        if found.status != ReplyStatus.NEW:
            return Marked(reply_id, found.status, changed=False)
        _handled(conn, advertiser, reply_id, ReplyStatus.READ, now, ctx.actor)
        audit.append(
            conn,
            actor=ctx.actor,
            action="reply.read",
            advertiser_id=advertiser.id,
            details={"reply_id": reply_id},
            at=now,
        )
    return Marked(reply_id, ReplyStatus.READ.value, changed=True)


def mark_opted_out(ctx: Context, *, slug: str, reply_id: int) -> Marked:
    """Record the opposition a reply states (see the module docstring), audited; a reply marked
    (or read by the core as a STOP) already stays as it is."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        found = _find(conn, advertiser, reply_id)
        if found.status == ReplyStatus.OPTED_OUT:
            return Marked(reply_id, found.status, changed=False)
        phone = parse_phone(found.number)
        if phone.e164 is None or not phone.valid:
            said = TEXTS["not_from_number"].format(reply_id=reply_id)
            raise ConflictError(said, code="reply_not_from_number", field="reply_id")
        written = Written()
        recorded = record_optouts(
            conn,
            advertiser,
            [(phone.e164, MARKED_OPT_OUT_SOURCE, found.received_at)],
            origin=f"sms-reply:{audit.without_phones(found.to)} reply {reply_id}, marked",
            actor=ctx.actor,
            now=now,
            written=written,
        )
        _handled(conn, advertiser, reply_id, ReplyStatus.OPTED_OUT, now, ctx.actor)
        reference = phone_hash(advertiser, phone.e164).hex()[:16]
        details = {
            "reply_id": reply_id,
            "source": MARKED_OPT_OUT_SOURCE.value,
            "phone_hash": reference,
            "known_contact": bool(recorded),
        }
        audit.append(
            conn,
            actor=ctx.actor,
            action="reply.optout",
            advertiser_id=advertiser.id,
            details=with_rows(details, written),
            at=now,
        )
    return Marked(
        reply_id,
        ReplyStatus.OPTED_OUT.value,
        changed=True,
        source=MARKED_OPT_OUT_SOURCE.value,
        phone_hash=reference,
        known_contact=bool(recorded),
    )


def _kept(row: Any) -> KeptReply:
    return KeptReply(
        id=row.id,
        number=row.e164,
        to=row.to_number,
        text=row.text,
        meaning=row.meaning,
        status=row.status,
        received_at=row.received_at,
        handled_at=row.handled_at,
        handled_by=row.handled_by,
    )


def _find(conn: Connection, advertiser: Advertiser, reply_id: int) -> KeptReply:
    """The advertiser's reply `reply_id`; another advertiser's is not found, as none is."""
    row = conn.execute(
        select(replies).where(replies.c.id == reply_id, replies.c.advertiser_id == advertiser.id)
    ).first()
    if row is None:
        said = TEXTS["reply_not_found"].format(reply_id=reply_id, slug=advertiser.slug)
        raise NotFoundError(said, code="reply_not_found", field="reply_id")
    return _kept(row)


def _handled(
    conn: Connection,
    advertiser: Advertiser,
    reply_id: int,
    status: ReplyStatus,
    now: datetime,
    actor: str,
) -> None:
    conn.execute(
        update(replies)
        .where(replies.c.id == reply_id, replies.c.advertiser_id == advertiser.id)
        .values(status=status.value, handled_at=now, handled_by=actor[:100])
    )
