"""The web app's contact pages: a number looked up (one index probe, whatever the ledger's
size), the advertiser's counts, and one contact with all the web page shows of it: its record
(profile, evidence, standing: contact_reads.get), where it is (the time zone its times are
shown in), the messages its campaigns sent it and the replies it wrote.

Every read names the advertiser: another advertiser's contact, messages and replies for the
same number are never read.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import phonenumbers
from sqlalchemy import func, select

from tambour.rules.territory import locate
from tambour.services import advertisers, contact_reads
from tambour.services.contacts import ContactRecord, valid_number
from tambour.services.context import Context
from tambour.services.optouts import OptOutStatus, check
from tambour.sms.phone import parse_phone
from tambour.store.engine import reader
from tambour.store.tables import campaigns, contacts, outbox, replies, suppressions

MESSAGES_SHOWN: Final = 50
REPLIES_SHOWN: Final = 50
DEFAULT_ZONE: Final = "Europe/Paris"


@dataclass(frozen=True, slots=True)
class Found:
    """A number looked up: its contact's id (None: not a contact) and, when it is not one,
    whether the number is on the suppression list all the same."""

    e164: str
    contact_id: int | None
    optout: OptOutStatus | None


@dataclass(frozen=True, slots=True)
class Counts:
    contacts: int
    opted_out: int  # numbers on the suppression list (contacts or not)


@dataclass(frozen=True, slots=True)
class SentMessage:
    campaign: str
    kind: str  # campaign, message (one sent by itself through the API)
    state: str  # an outbox state
    reason: str | None  # why held, cancelled or expired (a rules.md code)
    parts: int
    encoding: str
    text: str
    send_at: datetime
    submitted_at: datetime | None
    done_at: datetime | None


_SENT: Final = (
    campaigns.c.name, campaigns.c.kind, outbox.c.state, outbox.c.reason, outbox.c.parts,
    outbox.c.encoding, outbox.c.text, outbox.c.send_at, outbox.c.submitted_at, outbox.c.done_at,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    meaning: str  # stop, start, other
    status: str  # new, read, opted_out
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ContactPage:
    record: ContactRecord
    zone: str  # the IANA time zone the contact's times are shown in
    national: str  # the number as written in its country ("06 12 34 56 78")
    messages: tuple[SentMessage, ...]  # newest first
    replies: tuple[Reply, ...]  # newest first


def find(ctx: Context, *, slug: str, number: str) -> Found:
    """The contact of `number` (any notation) at advertiser `slug`, by its (advertiser,
    number) index; InvalidInputError (about `number`) for what is not a phone number."""
    e164 = valid_number(number)
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        found = conn.execute(
            select(contacts.c.id).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164
            )
        ).scalar_one_or_none()
    if found is not None:
        return Found(e164, found, None)
    return Found(e164, None, check(ctx, slug=slug, number=e164))


def counts(ctx: Context, *, slug: str) -> Counts:
    """The advertiser's live contacts and opted-out numbers (each an index-only count)."""
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        live = conn.execute(
            select(func.count())
            .select_from(contacts)
            .where(contacts.c.advertiser_id == advertiser.id, contacts.c.e164.is_not(None))
        ).scalar_one()
        opposed = conn.execute(
            select(func.count())
            .select_from(suppressions)
            .where(suppressions.c.advertiser_id == advertiser.id)
        ).scalar_one()
    return Counts(live, opposed)


def zone_of(e164: str, postal_code: str | None) -> str:
    """The time zone a contact's times are shown in: its territory's (by its number and postal
    code), Paris when none can be told."""
    try:
        return locate(parse_phone(e164), postal_code).timezones[0]
    except ValueError:
        return DEFAULT_ZONE


def national(e164: str) -> str:
    """The number as written in its country: "06 12 34 56 78", "0690 12 34 56"."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def page(ctx: Context, *, slug: str, contact_id: int) -> ContactPage:
    """Contact `contact_id` of advertiser `slug` as its page shows it; NotFoundError when the
    advertiser has no such contact."""
    record = contact_reads.get(ctx, slug=slug, contact_id=contact_id)
    contact = record.contact
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        # One probe of the (campaign, contact) unique index per campaign of the advertiser.
        sent = conn.execute(
            select(*_SENT)
            .join(campaigns, campaigns.c.id == outbox.c.campaign_id)
            .where(
                outbox.c.campaign_id.in_(
                    select(campaigns.c.id).where(campaigns.c.advertiser_id == advertiser.id)
                ),
                outbox.c.contact_id == contact.id,
                outbox.c.advertiser_id == advertiser.id,
            )
            .order_by(outbox.c.send_at.desc(), outbox.c.id.desc())
            .limit(MESSAGES_SHOWN)
        ).all()
        written = conn.execute(
            select(replies.c.text, replies.c.meaning, replies.c.status, replies.c.received_at)
            .where(replies.c.advertiser_id == advertiser.id, replies.c.e164 == contact.e164)
            .order_by(replies.c.received_at.desc(), replies.c.id.desc())
            .limit(REPLIES_SHOWN)
        ).all()
    postal = contact.profile.get("postal_code")
    return ContactPage(
        record,
        zone_of(contact.e164, postal if isinstance(postal, str) else None),
        national(contact.e164),
        tuple(SentMessage(*row) for row in sent),  # type: ignore[call-arg]
        tuple(Reply(*row) for row in written),
    )
