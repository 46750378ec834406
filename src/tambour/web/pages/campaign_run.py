"""A campaign's overview and live view while it sends (/a/{slug}/campaigns/{id}), its launch
after a confirmation that repeats the number of messages and asks for the campaign's name, and
its cancellation. Each is a use case of services/campaigns.py or campaign_live.py.

A launched campaign with an A/B test shows its test (services/ab_tests.report): each
variant's figures, the one leading, when the test ends, the winner once chosen and the rest
waiting; a member who may launch may end the test sooner, sending a variant to the rest
(POST /a/{slug}/campaigns/{id}/winner: services/ab_tests.choose).

The live figures are a fragment htmx polls every 2 s in an aria-live region while messages
are queued, leaving or awaiting their receipt: unchanged figures answer 204 (nothing is
swapped, nothing is read out again), and the last answer 286 (htmx stops polling)."""

import hashlib
from typing import Annotated, Any, Final

from babel.dates import format_date, format_time
from fastapi import Form, Query, Request
from starlette.responses import Response

from tambour import i18n
from tambour.jobs import on_demand
from tambour.rules.template import parse_template
from tambour.services import ab_tests, campaign_live, campaigns, click_reports, plan_report
from tambour.services.ab_tests import ABReport
from tambour.services.campaign_live import LiveCampaign, Timeline
from tambour.services.campaigns import Campaign
from tambour.services.click_reports import ClickReport
from tambour.services.context import ServiceError
from tambour.services.roles import Action
from tambour.web import charts, refusals
from tambour.web.pages.campaign_views import (
    CAMPAIGN_STATUSES,
    MESSAGE_STATES,
    NATURES,
    REPLY_MEANINGS,
    CampaignId,
    campaign_menu,
    said,
)
from tambour.web.responses import redirect, with_cookies
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page

router = WebRouter()
CAMPAIGN: Final = "/a/{slug}/campaigns/{campaign_id}"
N_ = i18n.N_
STOP_POLLING: Final = 286  # htmx: swap this answer, then poll no more
CANCELLABLE: Final = ("draft", "planned", "launched", "paused")
# What the overview says after a launch or a cancellation (?done=).
DONE: Final = {
    "launched": N_("Launched: its messages are queued and leave at their send times."),
    "cancelled": N_("Cancelled: its queued messages are withdrawn."),
    "winner": N_("The winner is chosen: the rest of the audience is sent its text."),
}
NAME_MISMATCH: Final = N_(
    "This is not the campaign's name: type it exactly as shown, capitals and accents included."
)


def _bucket_label(instant: Any, unit: str, lang: str) -> str:
    local = instant.astimezone(campaign_live.PARIS)
    locale = i18n.resolve(lang)
    if unit == "day":
        return format_date(local.date(), "d MMM", locale=locale)
    if unit == "hour":
        return format_time(local.time(), "HH:mm", locale=locale)
    return format_time(local.time(), "HH:mm", locale=locale)


def _timeline_chart(timeline: Timeline, lang: str) -> Any:
    gettext = i18n.translator(lang).gettext
    titles = {
        "minute": gettext("Delivered and failed, by minute (Paris time)"),
        "hour": gettext("Delivered and failed, by hour (Paris time)"),
        "day": gettext("Delivered and failed, by day"),
    }
    return charts.time_series(
        "live-timeline",
        titles[timeline.unit],
        [_bucket_label(b.start, timeline.unit, lang) for b in timeline.buckets],
        [
            charts.Series(
                gettext("messages delivered"), [b.delivered for b in timeline.buckets], "ok"
            ),
            charts.Series(gettext("messages failed"), [b.failed for b in timeline.buckets], "bad"),
        ],
        fmt=lambda value: i18n.format_decimal(value, lang),
    )


def _fingerprint(live: LiveCampaign) -> str:
    """What the live fragment shows, in a few characters: the same, nothing to swap."""
    replies = live.replies.total if live.replies else 0
    seen = (
        live.status,
        sorted(live.messages.items()),
        sorted((k, sorted(v.items())) for k, v in live.reasons.items()),
        replies,
    )
    return hashlib.sha256(repr(seen).encode()).hexdigest()[:16]


def _live_values(desk: Desk, live: LiveCampaign, lang: str) -> dict[str, Any]:
    counts = live.messages
    return {
        "desk": desk,
        "live": live,
        "campaign": live.campaign,
        "counts": counts,
        "total": live.total,
        "states": [
            (state, said(MESSAGE_STATES, state, lang), counts.get(state, 0))
            for state in MESSAGE_STATES
        ],
        "state_names": {s: said(MESSAGE_STATES, s, lang) for s in MESSAGE_STATES},
        "meanings": {m: said(REPLY_MEANINGS, m, lang) for m in REPLY_MEANINGS},
        "fingerprint": _fingerprint(live),
        "base": f"/a/{desk.slug}/campaigns/{live.campaign.id}",
    }


def _overview(
    request: Request, desk: Desk, lang: str, campaign_id: int, notice: str | None = None,
    *, error: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    live = campaign_live.live(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    campaign = live.campaign
    ab = _ab_test(desk, campaign)
    values = {
        **_live_values(desk, live, lang),
        "status_text": said(CAMPAIGN_STATUSES, live.status, lang),
        "shown": live.status,
        "nature_text": said(NATURES, campaign.nature.value, lang),
        "plan": live.plan,
        "menu": campaign_menu(desk, campaign),
        "may_write": desk.can(Action.WRITE_CAMPAIGNS),
        "cancellable": live.status in CANCELLABLE,
        "notice": notice,
        "clicks": _clicks(desk, campaign) if campaign.launched_at else None,
        "ab": ab,
        # The same role as the launch's: a viewer reads the test, never ends it.
        "may_choose": ab is not None
        and ab.winner is None
        and campaign.status == "launched"
        and desk.can(Action.WRITE_CAMPAIGNS),
        "error": error,
    }
    return render(request, "campaign_plan/campaign.html", values, status=status)


def _ab_test(desk: Desk, campaign: Campaign) -> ABReport | None:
    """The figures of the campaign's A/B test once launched; None without a test."""
    if campaign.ab is None or campaign.launched_at is None:
        return None
    return ab_tests.report(desk.ctx, slug=desk.slug, campaign_id=campaign.id)


def _clicks(desk: Desk, campaign: Campaign) -> ClickReport | None:
    """The clicks of the campaign's short links, when its text has any."""
    if not any(link.kind == "go" for link in parse_template(campaign.text).links):
        return None
    return click_reports.report(desk.ctx, slug=desk.slug, campaign_id=campaign.id)


@router.get(CAMPAIGN)
def campaign_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: CampaignId,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    notice = DONE.get(done or "")
    told = i18n.translator(state.lang).gettext(notice) if notice else None
    return _overview(request, desk, state.lang, campaign_id, told)


@router.get(CAMPAIGN + "/live")
def live_fragment(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: CampaignId,
    seen: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The live figures (htmx polls them): 204 when nothing changed since `seen`, 286 once the
    campaign sends no more."""
    live = campaign_live.live(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    values = _live_values(desk, live, state.lang)
    if live.sending and seen == values["fingerprint"]:
        return with_cookies(request, Response(status_code=204))
    status = 200 if live.sending else STOP_POLLING
    return render(request, "campaign_plan/_live.html", values, status=status)


@router.get(CAMPAIGN + "/timeline")
def timeline_page(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    """Delivered and failed over time: a fragment for htmx (asked again every 30 s while the
    campaign sends, 286 once it sends no more), a page of its own without JavaScript."""
    found = campaign_live.timeline(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    chart = _timeline_chart(found.timeline, state.lang) if found.timeline.buckets else None
    values: dict[str, Any] = {"desk": desk, "timeline": found.timeline, "timeline_chart": chart}
    if request.headers.get("HX-Request") == "true":
        status = 200 if found.sending else STOP_POLLING
        return render(request, "campaign_plan/_timeline.html", values, status=status)
    live = campaign_live.live(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    values.update(
        campaign=live.campaign,
        status_text=said(CAMPAIGN_STATUSES, live.status, state.lang),
        shown=live.status,
        menu=campaign_menu(desk, live.campaign),
    )
    return render(request, "campaign_plan/timeline.html", values)


# --- launch -----------------------------------------------------------------------------------


def _launch_page(
    request: Request, desk: Desk, lang: str, campaign_id: int, *, status: int = 200, **more: Any
) -> Response:
    view = plan_report.plan_view(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    values = {
        "desk": desk,
        "view": view,
        "campaign": view.campaign,
        "summary": view.summary or {},
        "status_text": said(CAMPAIGN_STATUSES, view.status, lang),
        "shown": view.status,
        "menu": campaign_menu(desk, view.campaign),
        "may_write": desk.can(Action.WRITE_CAMPAIGNS),
        "typed": "",
        "errors": {},
        "error": None,
        **more,
    }
    return render(request, "campaign_plan/launch.html", values, status=status)


@router.get(CAMPAIGN + "/launch")
def launch_page(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    return _launch_page(request, desk, state.lang, campaign_id)


@router.post(CAMPAIGN + "/launch")
def launch_campaign(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: CampaignId,
    confirmation: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Launch once the campaign's name is typed exactly (422 beside the field otherwise);
    what the service refuses (blocked, stale plan, changed recipients...) is said whole."""
    desk.require(Action.WRITE_CAMPAIGNS)
    view = plan_report.plan_view(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    if confirmation != view.campaign.name:
        text = i18n.translator(state.lang).gettext(NAME_MISMATCH)
        return _launch_page(
            request, desk, state.lang, campaign_id, status=422, typed=confirmation,
            errors={"confirmation": text},
        )  # fmt: skip
    try:
        campaigns.launch(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    except ServiceError as error:
        return _launch_page(
            request, desk, state.lang, campaign_id, status=error.status, typed=confirmation,
            error=refusals.said(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"/a/{desk.slug}/campaigns/{campaign_id}?done=launched")


# --- an A/B test's winner ----------------------------------------------------------------------


@router.post(CAMPAIGN + "/winner")
def choose_winner(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: CampaignId,
    variant: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """End the A/B test sooner: `variant` (A, B...) is sent to the rest of the audience.
    What the service refuses (a winner chosen already, a campaign cancelled) is said on the
    campaign's page; a campaign that is not the advertiser's, or has no test, is not found."""
    desk.require(Action.WRITE_CAMPAIGNS)
    try:
        ab_tests.choose(
            desk.ctx, slug=desk.slug, campaign_id=campaign_id, variant=variant or None,
            release_now=False,  # a job writes the rest: a large one takes longer than a request
        )  # fmt: skip
    except ServiceError as error:
        if error.status == 404:
            raise
        return _overview(
            request, desk, state.lang, campaign_id, error=refusals.said(error, state.lang),
            status=error.status,
        )  # fmt: skip
    on_demand.kick()
    return redirect(request, f"/a/{desk.slug}/campaigns/{campaign_id}?done=winner")


# --- cancel -----------------------------------------------------------------------------------


def _cancel_page(
    request: Request, desk: Desk, lang: str, campaign_id: int, *, status: int = 200, **more: Any
) -> Response:
    found = campaign_live.live(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    counts = found.messages
    values = {
        "desk": desk,
        "campaign": found.campaign,
        "shown": found.status,
        "status_text": said(CAMPAIGN_STATUSES, found.status, lang),
        "menu": campaign_menu(desk, found.campaign),
        "may_write": desk.can(Action.WRITE_CAMPAIGNS),
        "cancellable": found.status in CANCELLABLE,
        "queued": counts.get("queued", 0),
        "gone": sum(counts.get(s, 0) for s in ("submitting", "submitted", "delivered", "unknown")),
        "error": None,
        **more,
    }
    return render(request, "campaign_plan/cancel.html", values, status=status)


@router.get(CAMPAIGN + "/cancel")
def cancel_page(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    return _cancel_page(request, desk, state.lang, campaign_id)


@router.post(CAMPAIGN + "/cancel")
def cancel_campaign(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    desk.require(Action.WRITE_CAMPAIGNS)
    try:
        campaigns.cancel(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    except ServiceError as error:
        return _cancel_page(
            request, desk, state.lang, campaign_id, status=error.status,
            error=refusals.said(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"/a/{desk.slug}/campaigns/{campaign_id}?done=cancelled")
