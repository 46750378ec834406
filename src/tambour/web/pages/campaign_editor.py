"""Campaigns: the list, and the editor (text with a live counter, targeting, schedule).

- /a/{slug}/campaigns: the advertiser's campaigns, newest first, a page at a time;
- /a/{slug}/campaigns/new and /a/{slug}/campaigns/{id}/edit: the editor (services/
  campaign_drafts.py: services/campaigns.create and campaign_edit.edit); a campaign that can
  no longer change, or a reader's visit, shows it without a form;
- /a/{slug}/campaigns/{id}/delete: a draft or planned campaign deleted after a page that asks
  to confirm (services/campaign_edit.delete_campaign: what it refuses is said in words);
- /a/{slug}/campaigns/counter, /gsm7, /schedule: the editor's live parts (htmx fragments):
  the counter and previews (services/campaign_preview.py), the text with its GSM-7
  alternatives, the sending windows by territory (services/campaign_schedule.py); the
  counter of an A/B test's variant is the same route, asked with `?variant=` (0: B).

Every form works without JavaScript: the counter's buttons then send the whole form, which
comes back with the text changed or the previews updated, nothing recorded.
"""

from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any, Final

from babel.dates import format_date, get_day_names
from fastapi import Depends, Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tambour import i18n
from tambour.rules.ab_tests import WinnerBy
from tambour.rules.codes import Channel, Nature
from tambour.rules.template import parse_template
from tambour.services import (
    campaign_drafts,
    campaign_edit,
    campaign_preview,
    campaign_schedule,
    campaigns,
)
from tambour.services.campaign_drafts import VARIANT_FIELDS, Draft
from tambour.services.campaign_preview import Preview
from tambour.services.campaigns import PLANNABLE, SHOWN_STATUSES, Campaign
from tambour.services.context import ServiceError
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.pages.campaign_views import NATURES as NATURES_SHORT
from tambour.web.pages.campaign_views import TERRITORIES
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page

router = WebRouter()
N_ = i18n.N_
PAGE_SIZE: Final = 25

STATUSES: Final = {
    "draft": N_("draft"),
    "planned": N_("planned"),
    "launched": N_("launched"),
    "paused": N_("paused"),
    "finished": N_("finished"),
    "cancelled": N_("cancelled"),
}
NATURES: Final = {
    "commercial": N_("Commercial (prospection for products or services)"),
    "non_commercial": N_("Non-commercial (association, foundation, public body)"),
    "political": N_("Political"),
    "transactional": N_("Transactional (order, appointment, delivery, code)"),
}
SAVED: Final = {
    "created": N_("The campaign is created. Next: plan it, to see who may receive it."),
    "edited": N_("The campaign is saved."),
    "replanned": N_("The campaign is saved; its plan was made on the old text: plan it again."),
    "unchanged": N_("Nothing changed: the campaign has this definition already."),
}
# An A/B test's criteria (rules/ab_tests.WinnerBy), as the editor offers them.
WINNERS_BY: Final = {
    WinnerBy.CLICKS.value: N_("the most people following the short link (clicks)"),
    WinnerBy.OPTOUTS.value: N_("the fewest opt-outs"),
}
LIST_SAVED: Final = {
    "deleted": N_(
        "The campaign is deleted, with its plan. The audit log keeps what it was and that it "
        "was deleted."
    ),
}

Line = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=64)]
List = Annotated[str, Form(max_length=2000)]
Message = Annotated[str, Form(max_length=5000)]


async def draft_form(
    name: Line = "",
    nature: Annotated[Nature, Form()] = Nature.COMMERCIAL,
    channel: Annotated[Channel, Form()] = Channel.SMS,
    sender: Short = "",
    text: Message = "",
    categories: List = "",
    professions: List = "",
    tags: List = "",
    start: Short = "",
    send_by: Short = "",
    transaction_field: Short = "",
    variant_b: Message = "",
    variant_c: Message = "",
    variant_d: Message = "",
    test_share: Short = "",
    winner_by: Short = "",
    test_hours: Short = "",
) -> Draft:
    """The editor's fields as typed (async: read in the event loop, no thread for it)."""
    return Draft(
        name=name, nature=nature, channel=channel, sender=sender, text=text,
        categories=categories, professions=professions, tags=tags, start=start,
        send_by=send_by, transaction_field=transaction_field,
        variants=(variant_b, variant_c, variant_d), test_share=test_share,
        winner_by=winner_by, test_hours=test_hours,
    )  # fmt: skip


Drafted = Annotated[Draft, Depends(draft_form)]


@dataclass(frozen=True, slots=True)
class Chosen:
    """The phone preview's contact (one of the short list, or searched by its number), and
    the button that sent the form."""

    contact_id: int | None = None
    number: str = ""
    action: str = "save"


async def chosen_form(
    preview_contact: Annotated[str, Form(max_length=20)] = "",
    number: Annotated[str, Form(max_length=40)] = "",
    action: Annotated[str, Form(max_length=16)] = "save",
) -> Chosen:
    contact_id = int(preview_contact) if preview_contact.isdigit() else None
    return Chosen(contact_id, number.strip(), action)


ChosenContact = Annotated[Chosen, Depends(chosen_form)]


# --- the values of the pages ------------------------------------------------------------------


def _formats(lang: str) -> dict[str, Any]:
    """What the templates of these pages format with: dates and weekdays in the language."""
    days = get_day_names("wide", locale=lang)

    def day(value: date) -> str:
        return format_date(value, "full", locale=lang)

    return {
        "day": day,
        "weekday": lambda n: days[n],
        "statuses": STATUSES,
        "natures": NATURES,
        "natures_short": NATURES_SHORT,
        "territories": TERRITORIES,
        "winners_by": WINNERS_BY,
        "variant_fields": VARIANT_FIELDS,
    }


def _preview(
    desk: Desk, draft: Draft, chosen: Chosen | None, lang: str
) -> tuple[Preview, dict[str, str]]:
    """The counter and previews of the draft; a chosen contact that cannot be previewed
    (a number that is not one, or not a contact) is said beside the number's field."""
    contact_id = chosen.contact_id if chosen else None
    number = chosen.number if chosen else ""
    try:
        found = campaign_preview.preview(
            desk.ctx, desk.advertiser, text=draft.text, nature=draft.nature,
            sender=draft.sender, transaction_field=draft.transaction_field or None,
            contact_id=contact_id, number=number,
        )  # fmt: skip
        return found, {}
    except ServiceError as error:
        errors = refusals.by_field(error, lang)
        bare = campaign_preview.preview(
            desk.ctx, desk.advertiser, text=draft.text, nature=draft.nature,
            sender=draft.sender, transaction_field=draft.transaction_field or None,
        )  # fmt: skip
        return bare, {"number": errors.get("number") or refusals.said(error, lang)}


def _variant_previews(desk: Desk, draft: Draft) -> list[Preview]:
    """The counter of each variant's text (B, C, D) as written: no contact's values."""
    found = []
    for text in draft.variants:
        counted = campaign_preview.preview(
            desk.ctx, desk.advertiser, text=text, nature=draft.nature, sender=draft.sender,
            transaction_field=draft.transaction_field or None,
        )  # fmt: skip
        found.append(counted)
    return found


def _winner_by(draft: Draft) -> str:
    """The criterion the form shows chosen: the draft's, else the one a test gets when it
    names none (services/campaign_definition.ab_test): clicks when the text has a short
    link, else opt-outs."""
    if draft.winner_by in WINNERS_BY:
        return draft.winner_by
    has_link = any(link.kind == "go" for link in parse_template(draft.text).links)
    return WinnerBy.CLICKS.value if has_link else WinnerBy.OPTOUTS.value


def _schedule(desk: Desk, draft: Draft) -> campaign_schedule.Schedule:
    return campaign_schedule.schedule(
        desk.ctx, desk.advertiser, nature=draft.nature,
        start=campaign_drafts.instant_or_none(draft.start),
        send_by=campaign_drafts.instant_or_none(draft.send_by),
    )  # fmt: skip


def _editor(
    request: Request,
    desk: Desk,
    lang: str,
    draft: Draft,
    *,
    campaign: Campaign | None = None,
    chosen: Chosen | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """The editor (or, for a reader or a campaign that can no longer change, the campaign
    shown without a form) with its counter, previews and schedule."""
    preview, preview_errors = _preview(desk, draft, chosen, lang)
    writable = desk.can(Action.WRITE_CAMPAIGNS) and (
        campaign is None or campaign.status in PLANNABLE
    )
    values = {
        "desk": desk,
        "draft": draft,
        "campaign": campaign,
        "shown_status": campaigns.shown_status(campaign) if campaign else None,
        "writable": writable,
        "preview": preview,
        "chosen": chosen,
        "personalization": campaign_preview.personalization_fields(desk.ctx, desk.advertiser),
        "schedule": _schedule(desk, draft),
        "variant_previews": _variant_previews(desk, draft),
        "winner_by": _winner_by(draft),
        "winner_by_auto": draft.winner_by not in WINNERS_BY,
        "errors": {**preview_errors, **(errors or {})},
        "error": error,
        "notice": notice,
        "senders": _senders(desk),
        **_formats(lang),
    }
    template = "campaign_editor/editor.html" if writable else "campaign_editor/view.html"
    return render(request, template, values, status=status)


def _senders(desk: Desk) -> list[str]:
    """The sender IDs a campaign may use: the advertiser's brands, then its short number."""
    found = list(desk.advertiser.senders)
    if desk.advertiser.stop_number:
        found.append(desk.advertiser.stop_number)
    return found


def _refused(error: ServiceError, lang: str, draft: Draft) -> tuple[dict[str, str], str | None]:
    """A refusal beside its fields (a variant's beside its own text: the use cases name it by
    its place among the texts given); what is about no field (or a field the form does not
    show) at the top of the form."""
    shown = {"name", "nature", "channel", "sender", "text", "categories", "professions", "tags",
             "start", "send_by", "transaction_field", *VARIANT_FIELDS, "variants",
             "test_share", "winner_by", "test_hours"}  # fmt: skip
    by_field: dict[str, str] = {}
    for problem in error.problems:
        key = campaign_drafts.form_field(draft, problem.field)
        text = refusals.problem_text(problem, lang)
        by_field[key] = f"{by_field[key]} {text}" if key in by_field else text
    errors = {k: v for k, v in by_field.items() if k in shown}
    rest = " ".join(v for k, v in by_field.items() if k not in shown)
    return errors, rest or None


# --- the list ---------------------------------------------------------------------------------


@router.get("/a/{slug}/campaigns")
def campaign_list(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    status: Annotated[str, Query(max_length=16)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
    saved: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    found = campaigns.page_campaigns(
        desk.ctx, slug=desk.slug, status=status or None, before=before, limit=PAGE_SIZE
    )
    notice = LIST_SAVED.get(saved)
    values = {
        "notice": i18n.translator(state.lang).gettext(notice) if notice else None,
        "desk": desk,
        "page_of": found,
        "status": status,
        "before": before,
        "shown_statuses": SHOWN_STATUSES,
        "plannable": PLANNABLE,
        "may_write": desk.can(Action.WRITE_CAMPAIGNS),
        **_formats(state.lang),
    }
    return render(request, "campaign_editor/list.html", values)


# --- the editor -------------------------------------------------------------------------------


@router.get("/a/{slug}/campaigns/new")
def new_campaign(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    desk.require(Action.WRITE_CAMPAIGNS)
    senders = _senders(desk)
    draft = Draft(sender=senders[0] if senders else "")
    return _editor(request, desk, state.lang, draft)


@router.post("/a/{slug}/campaigns/new")
def create_campaign(
    request: Request, desk: AtAdvertiser, state: Page, draft: Drafted, chosen: ChosenContact
) -> Response:
    desk.require(Action.WRITE_CAMPAIGNS)
    if chosen.action != "save":
        return _changed_form(request, desk, state.lang, draft, chosen)
    try:
        done = campaign_drafts.create(desk.ctx, desk.advertiser, draft)
    except ServiceError as error:
        errors, rest = _refused(error, state.lang, draft)
        return _editor(
            request, desk, state.lang, draft, chosen=chosen, errors=errors, error=rest,
            status=error.status,
        )  # fmt: skip
    return redirect(request, f"/a/{desk.slug}/campaigns/{done.campaign.id}/edit?saved=created")


def _changed_form(
    request: Request,
    desk: Desk,
    lang: str,
    draft: Draft,
    chosen: Chosen,
    campaign: Campaign | None = None,
) -> Response:
    """The form sent by a button of the counter, without JavaScript: the text with its GSM-7
    alternatives, or the previews updated; nothing is recorded."""
    if chosen.action == "gsm7":
        draft = replace(draft, text=campaign_preview.replace_gsm7(draft.text))
    return _editor(request, desk, lang, draft, campaign=campaign, chosen=chosen)


@router.get("/a/{slug}/campaigns/{campaign_id}/edit")
def edit_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: int,
    saved: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    campaign = campaign_drafts.get(desk.ctx, desk.advertiser, campaign_id)
    notice = SAVED.get(saved)
    said = i18n.translator(state.lang).gettext(notice) if notice else None
    draft = Draft.of(campaign, state.lang)
    return _editor(request, desk, state.lang, draft, campaign=campaign, notice=said)


@router.post("/a/{slug}/campaigns/{campaign_id}/edit")
def edit_campaign(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: int,
    draft: Drafted,
    chosen: ChosenContact,
) -> Response:
    desk.require(Action.WRITE_CAMPAIGNS)
    campaign = campaign_drafts.get(desk.ctx, desk.advertiser, campaign_id)
    draft = replace(draft, name=campaign.name)  # a campaign keeps its name
    if chosen.action != "save":
        return _changed_form(request, desk, state.lang, draft, chosen, campaign)
    try:
        done = campaign_drafts.edit(desk.ctx, desk.advertiser, campaign_id, draft)
    except ServiceError as error:
        errors, rest = _refused(error, state.lang, draft)
        return _editor(
            request, desk, state.lang, draft, campaign=campaign, chosen=chosen, errors=errors,
            error=rest, status=error.status,
        )  # fmt: skip
    saved = "unchanged" if done is None else "replanned" if done.plan_dropped else "edited"
    return redirect(request, f"/a/{desk.slug}/campaigns/{campaign_id}/edit?saved={saved}")


# --- deleting a draft --------------------------------------------------------------------------


def _delete_page(
    request: Request, desk: Desk, campaign: Campaign, *, error: str | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    values = {
        "desk": desk,
        "campaign": campaign,
        "deletable": campaign.status in PLANNABLE,
        "shown_status": campaigns.shown_status(campaign),
        "statuses": STATUSES,
        "error": error,
    }
    return render(request, "campaign_editor/delete.html", values, status=status)


@router.get("/a/{slug}/campaigns/{campaign_id}/delete")
def delete_page(request: Request, desk: AtAdvertiser, state: Page, campaign_id: int) -> Response:
    """The campaign, and a button that deletes it (or why it cannot be)."""
    desk.require(Action.WRITE_CAMPAIGNS)
    campaign = campaign_drafts.get(desk.ctx, desk.advertiser, campaign_id)
    return _delete_page(request, desk, campaign)


@router.post("/a/{slug}/campaigns/{campaign_id}/delete")
def delete_campaign(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: int
) -> Response:
    desk.require(Action.WRITE_CAMPAIGNS)
    try:
        campaign_edit.delete_campaign(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    except ServiceError as error:
        if error.status == 404:
            raise
        campaign = campaign_drafts.get(desk.ctx, desk.advertiser, campaign_id)
        said = refusals.said(error, state.lang)
        return _delete_page(request, desk, campaign, error=said, status=error.status)
    return redirect(request, f"/a/{desk.slug}/campaigns?saved=deleted")


# --- the live parts ---------------------------------------------------------------------------


@router.post("/a/{slug}/campaigns/counter")
async def counter(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    draft: Drafted,
    chosen: ChosenContact,
    variant: Annotated[int | None, Query(ge=0, lt=len(VARIANT_FIELDS))] = None,
) -> Response:
    """The counter, the message as it will leave and the phone preview, for the text typed
    so far (records nothing: a reader may ask too). Asked at each pause in the typing: one
    trip to a thread for all of it (the contact's read and the page), none for the form.
    With `variant`, the counter alone of that variant's text (0: B)."""

    def answer() -> Response:
        if variant is not None:
            text = draft.variants[variant]
            shown = _variant_previews(desk, replace(draft, variants=(text,)))
            values = {"desk": desk, "preview": shown[0], "empty": not text.strip()}
            return render(request, "campaign_editor/variant_counter.html", values)
        preview, errors = _preview(desk, draft, chosen, state.lang)
        values = {"desk": desk, "draft": draft, "preview": preview, "errors": errors,
                  "writable": desk.can(Action.WRITE_CAMPAIGNS), "chosen": chosen}  # fmt: skip
        return render(request, "campaign_editor/counter.html", values)

    return await run_in_threadpool(answer)


@router.post("/a/{slug}/campaigns/gsm7")
def gsm7(
    request: Request, desk: AtAdvertiser, state: Page, draft: Drafted, chosen: ChosenContact
) -> Response:
    """The text field with every character that forces UCS-2 replaced by its GSM-7
    alternative, and the counter of the new text (nothing is recorded until saved)."""
    desk.require(Action.WRITE_CAMPAIGNS)
    draft = replace(draft, text=campaign_preview.replace_gsm7(draft.text))
    preview, errors = _preview(desk, draft, chosen, state.lang)
    values = {"desk": desk, "draft": draft, "preview": preview, "errors": errors,
              "writable": True, "chosen": chosen}  # fmt: skip
    return render(request, "campaign_editor/gsm7.html", values)


@router.post("/a/{slug}/campaigns/schedule")
def schedule(request: Request, desk: AtAdvertiser, state: Page, draft: Drafted) -> Response:
    """The sending windows by territory for the start and deadline chosen so far."""
    values = {"desk": desk, "draft": draft, "schedule": _schedule(desk, draft),
              **_formats(state.lang)}  # fmt: skip
    return render(request, "campaign_editor/schedule.html", values)
