"""Reading the evidence ledger back: one contact with its timeline, or every contact streamed."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from tambour.contacts.ledger import Evidence, EvidenceKind, facts_of
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.rules.facts import ContactFacts, OptOut
from tambour.services.advertisers import Advertiser
from tambour.services.suppression import entries as suppression_entries
from tambour.services.views import View
from tambour.sms.phone import parse_phone
from tambour.store.tables import contacts, evidence

STREAM_BATCH = 2000


@dataclass(frozen=True, slots=True)
class StoredContact:
    id: int
    e164: str
    kind: ContactKind
    profile: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    events: tuple[Evidence, ...]
    suppression: OptOut | None

    def facts(self) -> ContactFacts:
        return facts_of(
            parse_phone(self.e164),
            self.kind,
            self.profile,
            self.events,
            first_seen_at=self.created_at,
            suppression=self.suppression,
        )


@dataclass(frozen=True, slots=True)
class Event(View):
    """One fact of a contact's evidence, as recorded."""

    kind: str  # an EvidenceKind's value
    at: datetime | None  # when it happened (None: not dated)
    data: dict[str, Any]
    source: str  # where it was learnt (a file, a reply, an opt-out)
    recorded_at: datetime
    recorded_by: str


def timeline(conn: Connection, advertiser: Advertiser, contact_id: int) -> list[Event]:
    """The contact's evidence in the order it was recorded."""
    rows = conn.execute(
        select(evidence)
        .where(evidence.c.advertiser_id == advertiser.id, evidence.c.contact_id == contact_id)
        .order_by(evidence.c.id)
    )
    return [
        Event(r.kind, r.occurred_at, r.data, r.source, r.recorded_at, r.recorded_by) for r in rows
    ]


def _with_evidence(
    conn: Connection, advertiser: Advertiser, rows: Sequence[Row[Any]]
) -> list[StoredContact]:
    """Contacts rows completed with their evidence (one query) and suppression entries."""
    ids = [r.id for r in rows]
    events: dict[int, list[Evidence]] = {i: [] for i in ids}
    for contact_id, kind, at, data in conn.execute(
        select(evidence.c.contact_id, evidence.c.kind, evidence.c.occurred_at, evidence.c.data)
        .where(evidence.c.advertiser_id == advertiser.id, evidence.c.contact_id.in_(ids))
        .order_by(evidence.c.contact_id, evidence.c.id)
    ):
        events[contact_id].append(Evidence(EvidenceKind(kind), at, data))
    suppressed = {
        number: OptOut(OptOutSource(entry.source), entry.suppressed_at)
        for number, entry in suppression_entries(conn, advertiser, (r.e164 for r in rows)).items()
    }
    return [
        StoredContact(
            id=r.id,
            e164=r.e164,
            kind=ContactKind(r.kind),
            profile=r.profile,
            created_at=r.created_at,
            updated_at=r.updated_at,
            events=tuple(events[r.id]),
            suppression=suppressed.get(r.e164),
        )
        for r in rows
    ]


def find(conn: Connection, advertiser: Advertiser, e164: str) -> StoredContact | None:
    row = conn.execute(
        select(contacts).where(contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164)
    ).first()
    return None if row is None else _with_evidence(conn, advertiser, [row])[0]


def stream(conn: Connection, advertiser: Advertiser) -> Iterator[StoredContact]:
    """Every live contact of the advertiser, by id, with its evidence; constant memory.

    Contacts are read in pages by id; each page's evidence and suppression entries in one query.
    """
    last_id = 0
    while True:
        page = conn.execute(
            select(contacts)
            .where(
                contacts.c.advertiser_id == advertiser.id,
                contacts.c.id > last_id,
                contacts.c.e164.is_not(None),
            )
            .order_by(contacts.c.id)
            .limit(STREAM_BATCH)
        ).all()
        if not page:
            return
        last_id = page[-1].id
        yield from _with_evidence(conn, advertiser, page)
