"""rules/retention.py `data_lapses_at`: when the retention run erases a contact's data."""

from datetime import UTC, datetime

from tambour.rules.facts import AdvertiserFacts, Collection, Consent, ContactFacts
from tambour.rules.retention import data_lapses_at
from tambour.sms.phone import PhoneInfo

PHONE = PhoneInfo("+33612345678", True, True, "FR")
SHOP = AdvertiserFacts("maison-lumiere", "Maison Lumière SAS", ("MLUMIERE",))
NOW = datetime(2029, 11, 1, tzinfo=UTC)


def day(year: int, month: int = 1, d: int = 1) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


def valid(at: datetime, channels: frozenset[str] = frozenset({"sms"})) -> Consent:
    return Consent(given=True, at=at, channels=channels, method="web_form", source="site")


def contact(**facts: object) -> ContactFacts:
    return ContactFacts(PHONE, first_seen_at=day(2026, 12), **facts)  # type: ignore[arg-type]


def test_three_years_after_the_latest_fact_of_any_basis() -> None:
    assert data_lapses_at(contact(), SHOP, NOW) == day(2029, 12)  # first seen, nothing else
    collected = contact(collection=Collection(at=day(2026, 3), informed=True))
    assert data_lapses_at(collected, SHOP, NOW) == day(2029, 3)
    consented = contact(consents=(valid(day(2026, 10)),), collection=Collection(at=day(2025)))
    assert data_lapses_at(consented, SHOP, NOW) == day(2029, 10)
    # A purchase (the customer basis), an action, a membership: each keeps the data.
    for name in ("last_purchase_at", "last_activity_at", "membership_at"):
        later = contact(consents=(valid(day(2026, 10)),), **{name: day(2028, 6)})
        assert data_lapses_at(later, SHOP, NOW) == day(2031, 6), name


def test_only_a_valid_consent_restarts_the_clock() -> None:
    old = Collection(at=day(2026, 1), informed=True, objection_offered=True)
    flawed = [
        Consent(given=True, at=day(2028), method="web_form", source="s", prechecked=True),
        Consent(given=True, at=day(2028), method="web_form", source="s", bundled_with_terms=True),
        Consent(given=True, at=day(2028), method="web_form", source="s", advertiser="Autre SA"),
        Consent(given=True, at=day(2028)),  # nothing that could be shown: unproven
        valid(day(2030)),  # after the run's instant: no prior consent
    ]
    for consent in flawed:
        assert data_lapses_at(contact(collection=old, consents=(consent,)), SHOP, NOW) == day(
            2029, 1
        ), consent
    # A consent for MMS alone counts: the data serves either channel.
    mms = contact(collection=old, consents=(valid(day(2028), frozenset({"mms"})),))
    assert data_lapses_at(mms, SHOP, NOW) == day(2031)


def test_an_opt_out_is_no_action_that_keeps_the_data() -> None:
    from tambour.rules.codes import OptOutSource
    from tambour.rules.facts import OptOut

    stopped = contact(
        consents=(valid(day(2026, 10)),), opt_outs=(OptOut(OptOutSource.SMS_STOP, day(2028)),)
    )
    assert data_lapses_at(stopped, SHOP, NOW) == day(2029, 10)
