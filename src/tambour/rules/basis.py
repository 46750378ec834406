"""rules.md section 3 step 4: the legal basis of a prospection message, or the reason none holds.

Each basis is checked as an ordered list of conditions. When none holds, the reason reported is
that of the basis that came closest: the one that passed the most conditions before failing
(its anchor counts as one: a consent given, a purchase made, a campaign of the right nature, a
professional contact), ties going to the basis listed first in rules.md. A contact with no anchor
at all gets `no_legal_basis`.
"""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from tambour.rules.codes import Basis, Channel, ContactKind, Nature, Reason
from tambour.rules.facts import AdvertiserFacts, CampaignFacts, Collection, Consent, ContactFacts
from tambour.rules.fold import fold

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


# What a consent "for our partners" says instead of naming whom it was given to (folded words).
_PARTNER_WORDS = re.compile(
    r"(?<!\w)(partenaires?|partners?|tiers|third part(?:y|ies)|affilies|"
    r"societes du groupe|entreprises du groupe|annonceurs)(?!\w)"
)


def consent_flaw(
    consent: Consent,
    channel: Channel,
    advertiser: AdvertiserFacts,
    at: datetime,
    *,
    third_party: bool = False,
) -> tuple[Reason | None, int]:
    """The first flaw of a given consent and how many conditions it passed (None: valid).

    `third_party`: the number came from someone other than the advertiser, so the consent
    was collected by them: it counts only when it names this advertiser or one of its brands.
    """
    if consent.at is None or consent.at > at:
        return Reason.NO_LEGAL_BASIS, 0  # undated or not yet given: not prior consent
    # The conditions in order; a failure reports its reason and its rank (1 to 5).
    if consent.prechecked:
        return Reason.CONSENT_PRECHECKED_BOX, 1
    if consent.bundled_with_terms:
        return Reason.CONSENT_BUNDLED_WITH_TERMS, 2
    if consent.advertiser is not None or third_party:  # else: given to this advertiser
        addressee = addressee_flaw(consent.advertiser, advertiser, third_party=third_party)
        if addressee is not None:
            return addressee, 3
    if not consent.channels & _COVERS[channel]:
        return Reason.CONSENT_OTHER_CHANNEL, 4
    if not consent.method and not consent.wording:  # stored stripped (contacts/row.py)
        return Reason.CONSENT_UNPROVEN, 5  # nothing that could be shown to the CNIL
    return None, 6


def addressee_flaw(
    named: str | None, advertiser: AdvertiserFacts, *, third_party: bool
) -> Reason | None:
    """Whom the consent was given to: this advertiser (or one of its brands), else a reason.

    An empty addressee means "this advertiser" only when the advertiser collected the number
    itself; a consent given "to our partners" names nobody and counts for none of them."""
    who = (named or "").strip()
    if not who:
        return Reason.CONSENT_PARTNER_UNNAMED if third_party else None
    if advertiser.is_mentioned(who):
        return None
    if _PARTNER_WORDS.search(fold(who)):
        return Reason.CONSENT_PARTNER_UNNAMED
    return Reason.CONSENT_OTHER_ADVERTISER


class ConsentScan(NamedTuple):
    """A contact's given consents, each weighed once for a campaign's channel at an instant:
    what they make of the consent basis, and when the latest valid one was given (opposition
    and retention weigh that one)."""

    attempt: _Attempt | None  # the consent basis: the first valid consent, else the closest
    latest_valid_at: datetime | None  # None: no valid consent


NO_CONSENT = ConsentScan(None, None)


def scan_consents(
    contact: ContactFacts, channel: Channel, advertiser: AdvertiserFacts, at: datetime
) -> ConsentScan:
    """Weigh every given consent of `contact` (`consent_flaw`): the consent basis holds by the
    first valid one, else comes as close as the one passing the most conditions (the first of
    equals); the latest valid one is the latest instant of a valid consent."""
    best: _Attempt | None = None
    latest: datetime | None = None
    third_party = is_third_party(contact.collection, advertiser)
    for consent in contact.consents:
        if not consent.given:
            continue
        reason, progress = consent_flaw(consent, channel, advertiser, at, third_party=third_party)
        if reason is None:
            given = consent.at  # dated: an undated consent has a flaw
            if given is not None and (latest is None or given > latest):
                latest = given
            if best is None or best.reason is not None:
                best = _Attempt(Basis.CONSENT, None, progress)
        elif best is None or (best.reason is not None and progress > best.progress):
            best = _Attempt(Basis.CONSENT, reason, progress)
    return ConsentScan(best, latest)


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
    if is_third_party(contact.collection, advertiser):
        # A purchase in a third party's file was not made from this advertiser.
        return _Attempt(Basis.EXISTING_CUSTOMER, Reason.CUSTOMER_NOT_OWN_SALE, 1)
    if not campaign.categories & contact.purchased_categories:
        return _Attempt(Basis.EXISTING_CUSTOMER, Reason.CUSTOMER_PRODUCT_NOT_SIMILAR, 2)
    reason, passed = collection_flaw(contact.collection, advertiser)
    return _Attempt(Basis.EXISTING_CUSTOMER, reason, 3 + passed)


def _non_commercial(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts
) -> _Attempt | None:
    """Persons and professionals alike: a charity's message asks no profession match."""
    if campaign.nature is not Nature.NON_COMMERCIAL:
        return None
    reason, passed = collection_flaw(contact.collection, advertiser)
    return _Attempt(Basis.NON_COMMERCIAL, reason, 1 + passed)


def _b2b(
    contact: ContactFacts, campaign: CampaignFacts, advertiser: AdvertiserFacts
) -> _Attempt | None:
    if contact.kind is not ContactKind.PROFESSIONAL or campaign.nature is not Nature.COMMERCIAL:
        return None  # non_commercial has its own basis; political needs consent or membership
    if campaign.channel is Channel.FAX:
        return None  # the CNIL requires prior consent for fax, professionals included
    reason, passed = collection_flaw(contact.collection, advertiser)
    if reason is not None:
        return _Attempt(Basis.B2B_LEGITIMATE_INTEREST, reason, 1 + passed)
    if not campaign.professions & contact.profession_tags:
        return _Attempt(Basis.B2B_LEGITIMATE_INTEREST, Reason.B2B_NOT_RELEVANT_TO_PROFESSION, 3)
    return _Attempt(Basis.B2B_LEGITIMATE_INTEREST, None, 4)


def _political(contact: ContactFacts, campaign: CampaignFacts, at: datetime) -> _Attempt | None:
    """Political communication without consent: only to members and people in regular contact
    with the organisation, as the ledger shows."""
    if campaign.nature is not Nature.POLITICAL:
        return None
    if contact.membership_at is not None and contact.membership_at <= at:
        return _Attempt(Basis.POLITICAL_MEMBERSHIP, None, 1)
    return _Attempt(Basis.POLITICAL_MEMBERSHIP, Reason.POLITICAL_NO_CONSENT, 0)


def _in_order(
    contact: ContactFacts,
    campaign: CampaignFacts,
    advertiser: AdvertiserFacts,
    at: datetime,
    consents: ConsentScan,
) -> Iterator[_Attempt | None]:
    """Each basis's attempt in the order of rules.md, computed only when asked for."""
    yield consents.attempt
    yield _existing_customer(contact, campaign, advertiser, at)
    yield _non_commercial(contact, campaign, advertiser)
    yield _b2b(contact, campaign, advertiser)
    yield _political(contact, campaign, at)


def legal_basis(
    contact: ContactFacts,
    campaign: CampaignFacts,
    advertiser: AdvertiserFacts,
    at: datetime,
    consents: ConsentScan | None = None,
) -> Basis | Reason:
    """The first basis that holds, in the order of rules.md; else the closest basis's reason.
    `consents`: the contact's `scan_consents` for the campaign's channel at `at`, when the
    caller has it already (made here otherwise).

    Bases are tried in that order and the first that holds ends the search (most contacts
    hold by consent: the others are then not even tried)."""
    if consents is None:
        consents = scan_consents(contact, campaign.channel, advertiser, at)
    tried: list[_Attempt] = []
    for attempt in _in_order(contact, campaign, advertiser, at, consents):
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
        Basis.CONSENT: scan_consents(contact, campaign.channel, advertiser, at).attempt,
        Basis.EXISTING_CUSTOMER: _existing_customer(contact, campaign, advertiser, at),
        Basis.NON_COMMERCIAL: _non_commercial(contact, campaign, advertiser),
        Basis.B2B_LEGITIMATE_INTEREST: _b2b(contact, campaign, advertiser),
        Basis.POLITICAL_MEMBERSHIP: _political(contact, campaign, at),
    }
    return [
        (basis, _NOT_APPLICABLE if attempt is None else attempt.reason)
        for basis, attempt in attempts.items()
    ]
