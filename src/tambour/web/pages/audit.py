"""The audit log of an advertiser, and its verification.

- GET /a/{slug}/audit: the advertiser's entries, newest first, a page at a time (services/
  audit_reads.page): when, who, what, and the entry's details summed up. The log never holds
  a phone number in clear (services/audit.append refuses one), so the details are shown as
  they are, shortened;
- POST /a/{slug}/audit/verify: the whole check (services/audit_reads.verify): the hash chain
  of the platform's log, and every sealed row against its seal, asked for as a job
  (services/audit_jobs.py: a minute on a large ledger), then
- /a/{slug}/audit/verifications/{job_id}: its progress (htmx swaps /status in every second;
  without JavaScript the page reloads itself, and says so), then its result explained in
  words; of the platform it says only what an advertiser may know (whether all is intact,
  and the anchor to keep outside), nothing of other advertisers' rows. /cancel stops it.
"""

import json
from typing import Annotated, Any, Final

from fastapi import Query, Request
from starlette.responses import Response

from tambour import i18n
from tambour.api.routes.tenancy import Id
from tambour.jobs import on_demand
from tambour.services import audit_jobs, audit_reads
from tambour.services.audit import AuditEntry
from tambour.services.context import Problem, ServiceError
from tambour.services.jobs import Job, JobState
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page

router = WebRouter()
N_ = i18n.N_
PAGE_SIZE: Final = 50
MOST_SHOWN: Final = 6  # details shown an entry
MOST_CHARACTERS: Final = 80  # a detail's value, shortened
POLL_SECONDS: Final = 1  # the progress, asked again by htmx
RELOAD_SECONDS: Final = 3  # the page, reloaded without JavaScript

STATES: Final = {
    JobState.QUEUED.value: N_("Waiting to start"),
    JobState.RUNNING.value: N_("Checking"),
    JobState.SUCCEEDED.value: N_("Check finished"),
    JobState.FAILED.value: N_("Check failed"),
    JobState.CANCELLED.value: N_("Check stopped"),
}
PHASES: Final = {
    audit_reads.ENTRIES: N_("entries of the log"),
    audit_reads.ROWS: N_("sealed rows"),
}

ACTIONS: Final = {
    "advertiser.create": N_("advertiser created"),
    "advertiser.update": N_("advertiser changed"),
    "apikey.create": N_("API key created"),
    "apikey.revoke": N_("API key revoked"),
    "campaign.create": N_("campaign created"),
    "campaign.edit": N_("campaign changed"),
    "campaign.delete": N_("campaign deleted"),
    "campaign.plan": N_("campaign planned"),
    "campaign.launch": N_("campaign launched"),
    "campaign.cancel": N_("campaign cancelled"),
    "campaign.finish": N_("campaign over"),
    "campaign.export": N_("campaign exported"),
    "campaign.requeue_unknown": N_("messages in doubt queued again"),
    "campaign.winner": N_("A/B test winner chosen"),
    "campaign.rest_written": N_("the rest of an A/B test given the winner's text"),
    "campaign.rest_released": N_("the rest of an A/B test all given the winner's text"),
    "contacts.import": N_("contacts imported"),
    "contacts.import.rows": N_("contact rows recorded"),
    "contacts.export": N_("contacts exported"),
    "contacts.mapping": N_("column mapping saved"),
    "dispatch.batch": N_("messages handed to the carrier"),
    "dispatch.rescued": N_("messages left in doubt by a stopped worker"),
    "dispatch.proven": N_("messages in doubt proven taken"),
    "message.queue": N_("message queued"),
    "optout.add": N_("opt-out recorded"),
    "optout.import": N_("opt-outs imported"),
    "reply.read": N_("reply read"),
    "reply.optout": N_("opt-out from a reply"),
    "reply.stop": N_("STOP received"),
    "reply.start": N_("START received"),
    "reply.other": N_("reply received"),
    "user.create": N_("account created"),
    "user.invite": N_("invitation created"),
    "user.invitation_revoke": N_("invitation revoked"),
    "user.accept_invitation": N_("invitation accepted"),
    "user.disable": N_("account disabled"),
    "user.enable": N_("account enabled"),
    "user.role_change": N_("role changed"),
    "webhook.endpoint_created": N_("webhook endpoint created"),
    "webhook.endpoint_updated": N_("webhook endpoint changed"),
    "webhook.endpoint_disabled": N_("webhook endpoint disabled"),
    "webhook.secret_rotated": N_("webhook secret rotated"),
    "webhook.replayed": N_("webhook delivery replayed"),
    "job.submitted": N_("job asked for"),
    "job.started": N_("job started"),
    "job.succeeded": N_("job done"),
    "job.failed": N_("job failed"),
    "job.cancelled": N_("job cancelled"),
    "job.cancel_requested": N_("job cancellation asked"),
    "job.requeued": N_("job queued again"),
}


def action_name(action: str, lang: str) -> str:
    """An action's name in words (its code when it has none)."""
    known = ACTIONS.get(action)
    return i18n.translator(lang).gettext(known) if known else action


def actor_name(actor: str, lang: str) -> str:
    """Who acted, in words: an account of the web app, an API key, a command."""
    _ = i18n.translator(lang).gettext
    kind, _sep, who = actor.partition(":")
    if kind == "web" and who:
        return _("{who} (web app)").format(who=who)
    if kind == "api" and who:
        return _("API key {who}").format(who=who)
    return actor


def summary(entry: AuditEntry) -> list[tuple[str, str]]:
    """The entry's details as (name, value) pairs, the first few, each value shortened."""
    pairs = []
    for name, value in list(entry.details.items())[:MOST_SHOWN]:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(shown) > MOST_CHARACTERS:
            shown = shown[: MOST_CHARACTERS - 1] + "…"
        pairs.append((name, shown))
    if len(entry.details) > MOST_SHOWN:
        pairs.append(("…", f"+{len(entry.details) - MOST_SHOWN}"))
    return pairs


def _page(request: Request, desk: Desk, before: int | None, lang: str) -> Response:
    found = audit_reads.page(desk.ctx, advertiser_id=desk.advertiser.id, before=before,
                             limit=PAGE_SIZE)  # fmt: skip
    last = audit_jobs.latest(desk.ctx, slug=desk.slug)
    values: dict[str, Any] = {
        "found": found,
        "before": before,
        "last_check": last,
        "last_outcome": None if last is None else audit_jobs.outcome(last),
        "states": STATES,
        "action_name": lambda action: action_name(action, lang),
        "actor_name": lambda actor: actor_name(actor, lang),
        "summary": summary,
    }
    return render(request, "audit/audit.html", values)


@router.get("/a/{slug}/audit")
def audit_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return _page(request, desk, before, state.lang)


@router.post("/a/{slug}/audit/verify")
def verify(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    """The check, asked for as a job (one under way already is shown instead)."""
    desk.require(Action.READ)  # a data-protection officer checks the log: reading is enough
    job = audit_jobs.start(desk.ctx, slug=desk.slug)
    on_demand.kick()
    return redirect(request, f"/a/{desk.slug}/audit/verifications/{job.id}")


def _job_values(desk: Desk, job: Job, lang: str, error: str | None = None) -> dict[str, Any]:
    progress = job.progress
    percent = None
    if job.state is JobState.RUNNING and progress.total:
        percent = min(100, round(100 * progress.done / progress.total))
    failed = None
    if job.error_code is not None:
        problem = Problem(None, job.error_code, job.error_message or "")
        failed = refusals.problem_text(problem, lang)
    return {
        "desk": desk,
        "job": job,
        "outcome": audit_jobs.outcome(job),
        "states": STATES,
        "phases": PHASES,
        "percent": percent,
        "polling": not job.finished,
        "poll_seconds": POLL_SECONDS,
        "reload_seconds": RELOAD_SECONDS,
        "runs_jobs": on_demand.enabled(),
        "failed": failed,
        "error": error,
    }


@router.get("/a/{slug}/audit/verifications/{job_id}")
def verification_page(request: Request, desk: AtAdvertiser, state: Page, job_id: Id) -> Response:
    job = audit_jobs.get(desk.ctx, slug=desk.slug, job_id=job_id)
    return render(request, "audit/verification.html", _job_values(desk, job, state.lang))


@router.get("/a/{slug}/audit/verifications/{job_id}/status")
def verification_status(request: Request, desk: AtAdvertiser, state: Page, job_id: Id) -> Response:
    """The progress, then the result, for htmx to swap in every second; 286 once it is over
    (htmx stops polling)."""
    job = audit_jobs.get(desk.ctx, slug=desk.slug, job_id=job_id)
    values = _job_values(desk, job, state.lang)
    return render(
        request, "audit/_verification_status.html", values, status=286 if job.finished else 200
    )


@router.post("/a/{slug}/audit/verifications/{job_id}/cancel")
def cancel_verification(request: Request, desk: AtAdvertiser, state: Page, job_id: Id) -> Response:
    desk.require(Action.READ)  # whoever may ask for the check may stop it
    try:
        audit_jobs.cancel(desk.ctx, slug=desk.slug, job_id=job_id)
    except ServiceError as error:
        if error.status == 404:
            raise
        job = audit_jobs.get(desk.ctx, slug=desk.slug, job_id=job_id)
        values = _job_values(desk, job, state.lang, refusals.said(error, state.lang))
        return render(request, "audit/verification.html", values, status=error.status)
    return redirect(request, f"/a/{desk.slug}/audit/verifications/{job_id}")
