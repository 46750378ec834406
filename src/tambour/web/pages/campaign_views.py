"""What the pages of one campaign share (its plan report, launch, live view, proof and export:
campaign_plan.py, campaign_run.py, campaign_proof.py): the campaign id of their paths, the
words of states, territories and facts in the page's language, and the campaign's own menu."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import Path

from tambour import i18n
from tambour.jobs.kinds.campaigns import named
from tambour.services.campaigns import Campaign
from tambour.services.context import ServiceError
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.visitors import Desk

N_ = i18n.N_

CampaignId = Annotated[int, Path(ge=1, le=2**62)]

# A campaign's status as shown (services/campaigns.shown_status).
CAMPAIGN_STATUSES: Final = {
    "draft": N_("draft"),
    "planned": N_("planned"),
    "launched": N_("sending"),
    "paused": N_("paused (33700 complaints)"),
    "finished": N_("finished"),
    "cancelled": N_("cancelled"),
}
# A message's state in the outbox (store/tables.OUTBOX_STATES), in the order of its life.
MESSAGE_STATES: Final = {
    "queued": N_("waiting to leave"),
    "submitting": N_("being handed to the carrier"),
    "submitted": N_("with the carrier, awaiting its receipt"),
    "recorded": N_("recorded, not sent (record-only transport)"),
    "delivered": N_("delivered to the recipient"),
    "failed": N_("not delivered (failed)"),
    "expired": N_("expired before delivery"),
    "cancelled": N_("withdrawn before leaving"),
    "unknown": N_("unknown (handed over or not: nobody can tell)"),
    "paused": N_("held: its campaign is paused"),
    "held": N_("held until its A/B test's winner is chosen"),
}
TERRITORIES: Final = {
    "metropole": N_("Metropolitan France"),
    "alsace_moselle": N_("Alsace-Moselle"),
    "guadeloupe": N_("Guadeloupe"),
    "saint_barthelemy": N_("Saint Barthélemy"),
    "saint_martin": N_("Saint Martin"),
    "guyane": N_("French Guiana"),
    "martinique": N_("Martinique"),
    "reunion": N_("Réunion"),
    "mayotte": N_("Mayotte"),
    "saint_pierre_et_miquelon": N_("Saint Pierre and Miquelon"),
    "nouvelle_caledonie": N_("New Caledonia"),
    "polynesie": N_("French Polynesia"),
    "wallis_et_futuna": N_("Wallis and Futuna"),
    "foreign": N_("Abroad"),
    "unknown": N_("Number not located"),
}
# The kinds of facts of the evidence ledger (contacts/ledger.EvidenceKind).
FACT_KINDS: Final = {
    "consent_given": N_("consent given"),
    "consent_withdrawn": N_("consent withdrawn"),
    "collected": N_("number collected"),
    "account_created": N_("account created"),
    "purchase": N_("purchase"),
    "activity": N_("activity"),
    "opt_out": N_("opposition recorded"),
    "complaint": N_("complaint (33700)"),
    "erasure": N_("erasure of the data"),
    "membership": N_("member or regular contact"),
}
NATURES: Final = {
    "commercial": N_("commercial"),
    "transactional": N_("transactional"),
    "non_commercial": N_("non-commercial"),
    "political": N_("political"),
}
REPLY_MEANINGS: Final = {
    "stop": N_("opt-out (STOP)"),
    "start": N_("consent (START)"),
    "other": N_("other reply"),
}


def said(words: Mapping[str, str], code: str | None, lang: str) -> str:
    """The words of `code` in `lang` (the code itself when it has none)."""
    if code is None:
        return "—"
    known = words.get(code)
    return i18n.translator(lang).gettext(known) if known else code


def local_wall_time(iso: str | None, lang: str) -> str:
    """A local time stored with its offset ('2026-12-08T09:00:00-04:00') written as its own
    place reads it, in the page's conventions."""
    if not iso:
        return "—"
    local = datetime.fromisoformat(iso)
    return i18n.format_datetime(local.replace(tzinfo=UTC), "UTC", lang)


def errors_of(error: ServiceError, lang: str) -> dict[str, str]:
    """A refusal's texts beside the fields they are about ('' for the whole form)."""
    return refusals.by_field(error, lang)


def campaign_menu(desk: Desk, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's own pages, for its menu: what this account may open at its status."""
    campaign_id, status = campaign.id, campaign.status
    base = f"/a/{desk.slug}/campaigns/{campaign_id}"
    entries: list[dict[str, Any]] = [{"href": base, "text": N_("Overview")}]
    if status in ("draft", "planned") and desk.can(Action.WRITE_CAMPAIGNS):
        entries.append({"href": f"{base}/edit", "text": N_("Edit")})
    entries.append({"href": f"{base}/plan", "text": N_("Plan report")})
    entries.append({"href": f"{base}/proof", "text": N_("Proof")})
    if campaign.launched_at is not None:
        entries.append({"href": f"{base}/export", "text": N_("Proof export")})
    return entries


def campaign_header(desk: Desk, campaign: Campaign, shown: str, lang: str) -> dict[str, Any]:
    """What every page of one campaign shows at its top: the campaign, its status as shown
    (`shown`: campaigns.shown_status, or a live figure's), and its own menu."""
    return {
        "desk": desk,
        "campaign": campaign,
        "status_text": said(CAMPAIGN_STATUSES, shown, lang),
        "shown": shown,
        "menu": campaign_menu(desk, campaign),
    }


def campaign_of(desk: Desk, campaign_id: int) -> Campaign:
    """The advertiser's campaign `campaign_id` by its row alone (NotFoundError for another's):
    a page that shows no message figure never counts the messages."""
    return named(desk.ctx, None, desk.slug, campaign_id)
