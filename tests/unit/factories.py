"""Builders for the core's facts with lawful defaults, so each test changes only what it tests."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tambour.rules.codes import Channel, ContactKind, Nature
from tambour.rules.facts import AdvertiserFacts, CampaignFacts, Collection, Consent, ContactFacts
from tambour.rules.fold import fold_set
from tambour.sms.phone import parse_phone

# A Tuesday, 10:00 in Paris (winter time): inside every metropolitan window.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

ADVERTISER = AdvertiserFacts(
    slug="maison-lumiere",
    name="Maison Lumière SAS",
    senders=("MLUMIERE",),
    stop_number="36111",
    categories=fold_set(["luminaires"]),
)


def consent(**changes: Any) -> Consent:
    base = Consent(
        given=True,
        at=datetime(2026, 6, 1, tzinfo=UTC),
        channels=frozenset({"sms"}),
        method="web_form",
    )
    return replace(base, **changes)


def informed(**changes: Any) -> Collection:
    base = Collection(at=datetime(2026, 1, 10, tzinfo=UTC), informed=True, objection_offered=True)
    return replace(base, **changes)


def contact(phone: str = "06 12 34 56 78", **changes: Any) -> ContactFacts:
    base = ContactFacts(
        phone=parse_phone(phone),
        kind=ContactKind.PERSON,
        postal_code="75011",
        first_seen_at=datetime(2026, 1, 10, tzinfo=UTC),
    )
    return replace(base, **changes)


def campaign(**changes: Any) -> CampaignFacts:
    base = CampaignFacts(
        nature=Nature.COMMERCIAL,
        channel=Channel.SMS,
        start=NOW,
        categories=fold_set(["Luminaires"]),
        professions=fold_set(["architecture"]),
    )
    return replace(base, **changes)
