"""A campaign's plan report, its launch, its live view while it sends, and its proof.

This module: the plan report (/a/{slug}/campaigns/{id}/plan) and planning as a job, its
progress followed by htmx until the report shows. The campaign's overview, live view, launch
and cancel are campaign_run.py's; its proof and export campaign_proof.py's: their routes are
this module's router's too (web/__init__.py registers this one).

The report reads the plan summary stored with the campaign when it was planned and three
sample rows through the plan's primary key (services/plan_report.py): as fast for a plan of a
million recipients as for ten.
"""

from typing import Any

from fastapi import Request
from starlette.responses import Response

from tambour import i18n
from tambour.jobs import on_demand
from tambour.rules import labels
from tambour.services import campaign_jobs, plan_report
from tambour.services.context import Problem, ServiceError
from tambour.services.jobs import Job, JobState
from tambour.services.plan_report import PlanView
from tambour.services.roles import Action
from tambour.web import charts, refusals
from tambour.web.pages import campaign_proof, campaign_run
from tambour.web.pages.campaign_views import (
    CAMPAIGN_STATUSES,
    NATURES,
    TERRITORIES,
    CampaignId,
    campaign_menu,
    local_wall_time,
    said,
)
from tambour.web.responses import redirect, with_cookies
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page

router = WebRouter()
CAMPAIGN = "/a/{slug}/campaigns/{campaign_id}"


def _job_said(job: Job | None, view: PlanView, lang: str) -> dict[str, Any] | None:
    """The plan job the page tells about: one under way, or one that failed or was cancelled
    after the current plan (None: nothing to tell)."""
    if job is None:
        return None
    planned_at = view.campaign.planned_at
    active = job.state in campaign_jobs.ACTIVE
    ended_badly = job.state in (JobState.FAILED, JobState.CANCELLED) and (
        planned_at is None or (job.finished_at is not None and job.finished_at > planned_at)
    )
    if not (active or ended_badly):
        return None
    error = None
    if job.state == JobState.FAILED:
        problem = Problem(None, job.error_code or "internal_error", job.error_message or "")
        error = refusals.problem_text(problem, lang)
    return {"job": job, "active": active, "error": error}


def _charts(view: PlanView, lang: str) -> dict[str, Any]:
    summary = view.summary or {}
    gettext = i18n.translator(lang).gettext

    def fmt(value: float) -> str:
        return i18n.format_decimal(value, lang)

    found: dict[str, Any] = {
        "decisions": charts.bars(
            "plan-decisions",
            gettext("Recipients by decision"),
            [
                (gettext("messages to send"), summary.get("send", 0)),
                (gettext("contacts excluded"), summary.get("exclude", 0)),
            ],
            fmt=fmt,
        )
    }
    if summary.get("by_basis"):
        found["bases"] = charts.bars(
            "plan-bases",
            gettext("Messages to send, by legal basis"),
            [(labels.label(code, lang) or code, n) for code, n in summary["by_basis"].items()],
            fmt=fmt,
            tone="ok",
        )
    if summary.get("by_reason"):
        found["reasons"] = charts.bars(
            "plan-reasons",
            gettext("Recipients excluded, by reason"),
            [(labels.label(code, lang) or code, n) for code, n in summary["by_reason"].items()],
            fmt=fmt,
            tone="bad",
        )
    return found


def _values(desk: Desk, view: PlanView, lang: str, **more: Any) -> dict[str, Any]:
    summary = view.summary or {}
    territories = [
        {
            "code": code,
            "name": said(TERRITORIES, code, lang),
            "send": place.get("send", 0),
            "exclude": place.get("exclude", 0),
            "first": local_wall_time(place.get("first_send_at"), lang),
        }
        for code, place in (summary.get("by_territory") or {}).items()
    ]
    job = campaign_jobs.last_plan(
        desk.ctx, advertiser_id=desk.advertiser.id, campaign_id=view.campaign.id
    )
    return {
        "desk": desk,
        "view": view,
        "status_text": said(CAMPAIGN_STATUSES, view.status, lang),
        "shown": view.status,
        "nature_text": said(NATURES, view.campaign.nature.value, lang),
        "territory_names": {code: said(TERRITORIES, code, lang) for code in TERRITORIES},
        "ucs2": [
            {"char": char, "point": f"U+{ord(char[0]):04X}", "n": n}
            for char, n in (summary.get("ucs2_chars") or {}).items()
        ],
        "campaign": view.campaign,
        "summary": summary,
        "territories": territories,
        "menu": campaign_menu(desk, view.campaign),
        "may_write": desk.can(Action.WRITE_CAMPAIGNS),
        "plan_job": _job_said(job, view, lang),
        "charts": _charts(view, lang) if view.planned else {},
        "error": None,
        **more,
    }


@router.get(CAMPAIGN + "/plan")
def plan_page(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    view = plan_report.plan_view(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
    return render(request, "campaign_plan/plan.html", _values(desk, view, state.lang))


@router.post(CAMPAIGN + "/plan")
def plan_campaign(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    """Plan it as a job (a runner beside this server takes it when no worker does)."""
    desk.require(Action.WRITE_CAMPAIGNS)
    try:
        campaign_jobs.submit_plan(
            desk.ctx, slug=desk.slug, advertiser_id=desk.advertiser.id, campaign_id=campaign_id
        )
    except ServiceError as error:
        view = plan_report.plan_view(desk.ctx, slug=desk.slug, campaign_id=campaign_id)
        values = _values(desk, view, state.lang, error=refusals.said(error, state.lang))
        return render(request, "campaign_plan/plan.html", values, status=error.status)
    on_demand.kick()
    return redirect(request, f"/a/{desk.slug}/campaigns/{campaign_id}/plan")


@router.get(CAMPAIGN + "/plan/progress")
def plan_progress(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    """The plan job's progress (htmx polls it); once it is over, the page is loaded again
    (HX-Redirect) to show the report or why it failed."""
    job = campaign_jobs.last_plan(
        desk.ctx, advertiser_id=desk.advertiser.id, campaign_id=campaign_id
    )
    if job is None or job.state not in campaign_jobs.ACTIVE:
        done = Response(status_code=200)
        done.headers["HX-Redirect"] = f"/a/{desk.slug}/campaigns/{campaign_id}/plan"
        return with_cookies(request, done)
    return render(request, "campaign_plan/_plan_progress.html", {"job": job, "desk": desk})


router.include_router(campaign_run.router)
router.include_router(campaign_proof.router)
