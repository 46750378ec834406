"""A contact's standing today: which legal bases hold for a commercial and a non-commercial SMS
campaign, and why not for the others. Computed by the core from the derived facts."""

from datetime import datetime
from typing import Any

from tambour.rules.basis import basis_attempts
from tambour.rules.codes import Channel, Nature
from tambour.rules.decision import decide
from tambour.rules.facts import AdvertiserFacts, CampaignFacts, ContactFacts


def standing(contact: ContactFacts, advertiser: AdvertiserFacts, at: datetime) -> dict[str, Any]:
    """For each nature: the decision now, and per basis `holds`, a reason, or `not_applicable`.

    The commercial campaign promotes all the advertiser's categories; the B2B check assumes a
    campaign aimed at the contact's own professions (the topic test needs a real campaign).
    """
    result: dict[str, Any] = {}
    for nature in (Nature.COMMERCIAL, Nature.NON_COMMERCIAL):
        campaign = CampaignFacts(
            nature=nature,
            channel=Channel.SMS,
            start=at,
            categories=advertiser.categories if nature is Nature.COMMERCIAL else frozenset(),
            professions=contact.profession_tags,
        )
        decision = decide(contact, campaign, advertiser, at)
        bases = {
            str(basis): ("holds" if reason is None else str(reason) if reason else "not_applicable")
            for basis, reason in basis_attempts(contact, campaign, advertiser, at)
        }
        result[nature.value] = {
            "decision": decision.decision,
            "basis": decision.basis,
            "reason": decision.reason,
            "bases": bases,
        }
    return result
