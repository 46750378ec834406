"""Reading an advertiser's contacts by their id: one with its evidence and standing, or a list
by pages in the order of their numbers (one query a page, along the (advertiser, number)
unique index), with filters."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import exists, select

from tambour.contacts.ledger import EvidenceKind
from tambour.rules.codes import ContactKind
from tambour.services import advertisers, ledger_reads
from tambour.services.contacts import ContactRecord
from tambour.services.context import Context, NotFoundError
from tambour.services.standing import standing
from tambour.store.engine import reader
from tambour.store.tables import contacts, evidence

MAX_PAGE: Final = 100
TEXTS: Final = {"contact_not_found": "{slug} has no contact {contact_id}"}
_OPPOSITIONS: Final = (EvidenceKind.OPT_OUT.value, EvidenceKind.COMPLAINT.value)


@dataclass(frozen=True, slots=True)
class ContactSummary:
    """One contact of a list: its number, kind and profile, and whether its evidence holds
    an opposition (an opt-out or a 33700 complaint, whatever came after it)."""

    id: int
    e164: str
    kind: ContactKind
    profile: dict[str, Any]
    opposed: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ContactPage:
    contacts: tuple[ContactSummary, ...]
    next_after: str | None  # the number the next page starts after; None: the last page


def get(ctx: Context, *, slug: str, contact_id: int) -> ContactRecord:
    """Advertiser `slug`'s contact `contact_id` with its evidence and standing now;
    NotFoundError when it has none of that id (another advertiser's, or erased)."""
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        e164 = conn.execute(
            select(contacts.c.e164).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.id == contact_id
            )
        ).scalar_one_or_none()
        contact = None if e164 is None else ledger_reads.find(conn, advertiser, e164)
        if contact is None:
            said = TEXTS["contact_not_found"].format(slug=slug, contact_id=contact_id)
            raise NotFoundError(said, code="contact_not_found", field="contact_id")
        events = ledger_reads.timeline(conn, advertiser, contact.id)
    return ContactRecord(
        contact, tuple(events), standing(contact.facts(), advertiser.facts, ctx.now())
    )


def list_contacts(
    ctx: Context,
    *,
    slug: str,
    e164: str | None = None,
    opposed: bool | None = None,
    updated_since: datetime | None = None,
    after: str | None = None,
    limit: int = 50,
) -> ContactPage:
    """A page of advertiser `slug`'s contacts (erased ones left out), by number, after the
    number `after`; only the one of number `e164`, those with (or without) an opposition in
    their evidence, those updated since `updated_since`."""
    limit = max(1, min(limit, MAX_PAGE))
    opposition = exists().where(
        evidence.c.contact_id == contacts.c.id,
        evidence.c.advertiser_id == contacts.c.advertiser_id,
        evidence.c.kind.in_(_OPPOSITIONS),
    )
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        query = (
            select(
                contacts.c.id,
                contacts.c.e164,
                contacts.c.kind,
                contacts.c.profile,
                contacts.c.created_at,
                contacts.c.updated_at,
                opposition.label("opposed"),
            )
            .where(contacts.c.advertiser_id == advertiser.id, contacts.c.e164.is_not(None))
            .order_by(contacts.c.e164)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(contacts.c.e164 > after)
        if e164 is not None:
            query = query.where(contacts.c.e164 == e164)
        if opposed is not None:
            query = query.where(opposition if opposed else ~opposition)
        if updated_since is not None:
            query = query.where(contacts.c.updated_at >= updated_since)
        rows = conn.execute(query).all()
    found = tuple(
        ContactSummary(
            r.id,
            r.e164,
            ContactKind(r.kind),
            dict(r.profile),
            bool(r.opposed),
            r.created_at,
            r.updated_at,
        )
        for r in rows[:limit]
    )
    return ContactPage(found, found[-1].e164 if len(rows) > limit else None)
