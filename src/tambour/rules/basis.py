"""rules.md section 3 step 4: the legal basis of a prospection message, or the reason none holds.

Each basis is checked as an ordered list of conditions. When none holds, the reason reported is
that of the basis that came closest: the one that passed the most conditions before failing
(its anchor counts as one: a consent given, a purchase made, a campaign of the right nature, a
professional contact), ties going to the basis listed first in rules.md. A contact with no anchor
at all gets `no_legal_basis`.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from tambour.rules.codes import Basis, Channel, ContactKind, Nature, Reason
from tambour.rules.facts import AdvertiserFacts, CampaignFacts, Collection, Consent, ContactFacts

# Which consent channel covers which campaign channel: `sms` consent covers SMS and MMS.
_COVERS: dict[Channel, frozenset[str]] = {
    Channel.SMS: frozenset({"sms"}),
    Channel.MMS: frozenset({"sms", "mms"}),
    Channel.FAX: frozenset({"fax"}),
}


class _Attempt(NamedTuple):  # a named tuple: made several times for every contact decided
    basis: Basis
    reason: Reason | None  # None: the basis holds
    progress: int  # conditions passed before the failure


def consent_flaw(
    consent: Consent, channel: Channel, advertiser: AdvertiserFacts, at: datetime
) -> tuple[Reason | None, int]:
    """The first flaw of a given consent and how many conditions it passed (None: valid)."""
    if consent.at is None or consent.at > at:
        return Reason.NO_LEGAL_BASIS, 0  # undated or not yet given: not prior consent
    # The conditions in order; a failure reports its reason and its rank (1 to 4).
    if consent.prechecked:
        return Reason.CONSENT_PRECHECKED_BOX, 1
    if consent.bundled_with_terms:
        return Reason.CONSENT_BUNDLED_WITH_TERMS, 2
    if consent.advertiser is not None and not advertiser.is_named(consent.advertiser):
        return Reason.CONSENT_OTHER_ADVERTISER, 3
    if not consent.channels & _COVERS[channel]:
        return Reason.CONSENT_OTHER_CHANNEL, 4
    return None, 5


def valid_consents(
    contact: ContactFacts, channel: Channel, advertiser: AdvertiserFacts, at: datetime
) -> list[Consent]:
    return [
        c
        for c in contact.consents
        if c.given and consent_flaw(c, channel, advertiser, at)[0] is None
    ]


def _consent(
    contact: ContactFacts, channel: Channel, advertiser: AdvertiserFacts, at: datetime
) -> _Attempt | None:
    best: _Attempt | None = None
    for consent in contact.consents:
        if not consent.given:
            continue
        reason, progress = consent_flaw(consent, channel, advertiser, at)
        if best is None or reason is None or progress > best.progress:
            best = _Attempt(Basis.CONSENT, reason, progress)
            if reason is None:
                return best
    return best


def collection_flaw(
    collection: Collection, advertiser: AdvertiserFacts
) -> tuple[Reason | None, int]:
    """Was the person informed, and offered a free objection, when the number was collected?

    For third-party data the advertiser must hold proof of it (`third_party_information_proof`).
    """
    if is_third_party(collection, advertiser):
        if not collection.third_party_proof:
            return Reason.THIRD_PARTY_NOT_INFORMED, 0
        return None, 2
    if not collection.informed:
        return Reason.NOT_INFORMED_AT_COLLECTION, 0
    if not collection.objection_offered:
        return Reason.NO_OBJECTION_MEANS_AT_COLLECTION, 1
    return None, 2


def is_third_party(collection: Collection, advertiser: AdvertiserFacts) -> bool:
    by = (collection.by or "").strip()
    return bool(by) and by.casefold() != "advertiser" and not advertiser.is_named(by)


def _existing_customer(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts, at: datetime
) -> _Attempt | None:
    if contact.kind is not ContactKind.PERSON or campaign.nature is not Nature.COMMERCIAL:
        return None
    if contact.last_purchase_at is None or contact.last_purchase_at > at:
        if contact.account_created_at is not None:
            return _Attempt(Basis.EXISTING_CUSTOMER, Reason.CUSTOMER_ACCOUNT_ONLY, 0)
        return None
    if not campaign.categories & contact.purchased_categories:
        return _Attempt(Basis.EXISTING_CUSTOMER, Reason.CUSTOMER_PRODUCT_NOT_SIMILAR, 1)
    reason, passed = collection_flaw(contact.collection, advertiser)
    return _Attempt(Basis.EXISTING_CUSTOMER, reason, 2 + passed)


def _non_commercial(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts
) -> _Attempt | None:
    if contact.kind is not ContactKind.PERSON or campaign.nature is not Nature.NON_COMMERCIAL:
        return None
    reason, passed = collection_flaw(contact.collection, advertiser)
    return _Attempt(Basis.NON_COMMERCIAL, reason, 1 + passed)


def _b2b(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts
) -> _Attempt | None:
    if contact.kind is not ContactKind.PROFESSIONAL:
        return None
    reason, passed = collection_flaw(contact.collection, advertiser)
    if reason is not None:
        return _Attempt(Basis.B2B_LEGITIMATE_INTEREST, reason, 1 + passed)
    if not campaign.professions & contact.profession_tags:
        return _Attempt(Basis.B2B_LEGITIMATE_INTEREST, Reason.B2B_NOT_RELEVANT_TO_PROFESSION, 3)
    return _Attempt(Basis.B2B_LEGITIMATE_INTEREST, None, 4)


def _in_order(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts, at: datetime
) -> Iterator[_Attempt | None]:
    """Each basis's attempt in the order of rules.md, computed only when asked for."""
    yield _consent(contact, campaign.channel, advertiser, at)
    yield _existing_customer(contact, campaign, advertiser, at)
    yield _non_commercial(contact, campaign, advertiser)
    yield _b2b(contact, campaign, advertiser)


def legal_basis(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts, at: datetime
) -> Basis | Reason:
    """The first basis that holds, in the order of rules.md; else the closest basis's reason.

    Bases are tried in that order and the first that holds ends the search (most contacts
    hold by consent: the others are then not even tried)."""
    tried: list[_Attempt] = []
    for attempt in _in_order(contact, campaign, advertiser, at):
        if attempt is None:
            continue
        if attempt.reason is None:
            return attempt.basis
        tried.append(attempt)
    closest = max(tried, key=lambda a: a.progress, default=None)  # max keeps the first of equals
    if closest is None or closest.reason is None:
        return Reason.NO_LEGAL_BASIS
    return closest.reason


_NOT_APPLICABLE = ""


def basis_attempts(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts, at: datetime
) -> list[tuple[Basis, Reason | str | None]]:
    """Every prospection basis with None (holds), its reason, or "" when it does not apply."""
    attempts = {
        Basis.CONSENT: _consent(contact, campaign.channel, advertiser, at),
        Basis.EXISTING_CUSTOMER: _existing_customer(contact, campaign, advertiser, at),
        Basis.NON_COMMERCIAL: _non_commercial(contact, campaign, advertiser),
        Basis.B2B_LEGITIMATE_INTEREST: _b2b(contact, campaign, advertiser),
    }
    return [
        (basis, _NOT_APPLICABLE if attempt is None else attempt.reason)
        for basis, attempt in attempts.items()
    ]
