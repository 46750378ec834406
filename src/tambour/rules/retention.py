"""rules.md section 3 step 5: prospect data kept 3 years from collection or the person's last
action; a customer stays one for 3 years after the last purchase."""

from datetime import datetime

from tambour.rules.codes import Basis
from tambour.rules.facts import ContactFacts

RETENTION_YEARS = 3


def add_years(when: datetime, years: int) -> datetime:
    """Same date `years` later; 29 February becomes 28 February."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)


def retention_reference(contact: ContactFacts, basis: Basis) -> datetime | None:
    """The instant the retention period runs from, for the basis the contact is reached on."""
    if basis is Basis.EXISTING_CUSTOMER:
        return contact.last_purchase_at
    actions = [
        contact.collection.at,
        contact.last_activity_at,
        contact.last_purchase_at,
        *(c.at for c in contact.consents if c.given),
    ]
    known = [a for a in actions if a is not None]
    if known:
        return max(known)
    return contact.first_seen_at


def retention_lapsed(contact: ContactFacts, basis: Basis, at: datetime) -> bool:
    if basis is Basis.TRANSACTIONAL:
        return False
    reference = retention_reference(contact, basis)
    return reference is not None and at >= add_years(reference, RETENTION_YEARS)
