"""rules.md section 3 step 5: prospect data kept 3 years from collection or the person's last
action; a customer stays one for 3 years after the last purchase."""

from dataclasses import dataclass
from datetime import datetime

from tambour.rules.basis import scan_consents
from tambour.rules.codes import Basis, Channel
from tambour.rules.facts import AdvertiserFacts, ContactFacts

RETENTION_YEARS = 3


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    """How long what is not a contact's own evidence is kept, in days (settings.py): message
    texts, reply texts, short-link clicks."""

    texts_days: int = 365
    replies_days: int = 365
    clicks_days: int = 90


def add_years(when: datetime, years: int) -> datetime:
    """Same date `years` later; 29 February becomes 28 February."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)


def retention_reference(
    contact: ContactFacts, basis: Basis, latest_consent_at: datetime | None = None
) -> datetime | None:
    """The instant the retention period runs from, for the basis the contact is reached on.

    Only a valid consent restarts the clock: a pre-ticked, bundled or misaddressed one, or one
    for another channel, is no action of the person towards this advertiser. The caller gives
    the latest valid one's instant (`basis.scan_consents`)."""
    if basis is Basis.EXISTING_CUSTOMER:
        return contact.last_purchase_at
    latest = None  # asked for every send of a plan: no list built
    for at in (
        contact.collection.at,
        contact.last_activity_at,
        contact.last_purchase_at,
        contact.membership_at,
        latest_consent_at,
    ):
        if at is not None and (latest is None or at > latest):
            latest = at
    return contact.first_seen_at if latest is None else latest


def retained_until(
    contact: ContactFacts, basis: Basis, latest_consent_at: datetime | None = None
) -> datetime | None:
    """When the contact's data lapses for prospection on `basis` (None: no limit known)."""
    if basis is Basis.TRANSACTIONAL:
        return None
    reference = retention_reference(contact, basis, latest_consent_at)
    return None if reference is None else add_years(reference, RETENTION_YEARS)


def retention_lapsed(
    contact: ContactFacts, basis: Basis, at: datetime, latest_consent_at: datetime | None = None
) -> bool:
    until = retained_until(contact, basis, latest_consent_at)
    return until is not None and at >= until


def data_lapses_at(contact: ContactFacts, advertiser: AdvertiserFacts, at: datetime) -> datetime:
    """When the contact's data lapses as a whole, for the retention run to erase it: while
    any basis may still reach the person, the data stays. That is 3 years after the latest
    of collection, last action, last purchase, membership and the latest consent valid for
    any channel (the customer basis runs from the last purchase alone, which this covers);
    with none of them, from when the contact was first seen. `at`: the run's instant (a
    consent dated after it is no prior consent)."""
    latest_consent: datetime | None = None
    if contact.consents:
        for channel in Channel:
            found = scan_consents(contact, channel, advertiser, at).latest_valid_at
            if found is not None and (latest_consent is None or found > latest_consent):
                latest_consent = found
    reference = retention_reference(contact, Basis.CONSENT, latest_consent)
    return add_years(reference if reference is not None else at, RETENTION_YEARS)
