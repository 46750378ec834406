"""A contact's standing today: which legal bases hold for a commercial and a non-commercial SMS
campaign, and why not for the others. Computed by the core from the derived facts."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tambour.rules.basis import basis_attempts
from tambour.rules.codes import Channel, Nature
from tambour.rules.decision import decide
from tambour.rules.facts import AdvertiserFacts, CampaignFacts, ContactFacts
from tambour.services.views import View


@dataclass(frozen=True, slots=True)
class Standing(View):
    """The decision for a campaign of one nature now: send (on `basis`) or exclude (for
    `reason`), and for each legal basis `holds`, the reason it does not, or `not_applicable`."""

    decision: str
    basis: str | None
    reason: str | None
    bases: Mapping[str, str]


def standing(
    contact: ContactFacts, advertiser: AdvertiserFacts, at: datetime
) -> dict[str, Standing]:
    """For each nature (by its value): the decision now, and per basis `holds`, a reason, or
    `not_applicable`.

    The commercial campaign promotes all the advertiser's categories; the B2B check assumes a
    campaign aimed at the contact's own professions (the topic test needs a real campaign).
    """
    result: dict[str, Standing] = {}
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
        result[nature.value] = Standing(decision.decision, decision.basis, decision.reason, bases)
    return result
