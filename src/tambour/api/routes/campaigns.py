"""`/api/v1/campaigns`: an advertiser's campaigns, by id (names stay unique per advertiser):
define, list, read with its status, edit or delete while it is a draft or planned, plan as a
job and read the plan (its report, its rows a page at a time), launch, cancel, and export a
launched one's proof as a job. Each route is a use case of services/campaigns.py,
campaign_edit.py or plan_reads.py, or submits a job of jobs/kinds/; another advertiser's
campaign is 404 there, exactly as one that does not exist.

Scopes: `read` to read, `write` to define, plan, cancel and export, `send` to launch."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated

from fastapi import Query, Request, Response

from tambour.api import pagination, texts
from tambour.api.auth import Caller, Shared, require
from tambour.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from tambour.api.problems import ApiError, FieldError, language
from tambour.api.routes.tenancy import Id, Tenant, id_cursor
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.campaigns import (
    NOT_NULL,
    ABTestReport,
    Campaign,
    CampaignCreate,
    CampaignDefined,
    CampaignDeleted,
    CampaignEdited,
    CampaignPage,
    CampaignState,
    CampaignStatus,
    CampaignUpdate,
    Cancelled,
    Decision,
    ExportCreate,
    Launched,
    PlanReport,
    PlanRow,
    PlanRowPage,
    WinnerChoice,
    WinnerChosen,
)
from tambour.api.schemas.clicks import Clicks
from tambour.api.schemas.complaints import Resumed
from tambour.api.schemas.jobs import Job
from tambour.jobs.kinds import campaign_export, campaign_plan
from tambour.jobs.kinds.campaigns import named
from tambour.services import (
    ab_tests,
    campaign_edit,
    campaigns,
    click_reports,
    complaints,
    jobs,
    plan_reads,
)
from tambour.services.api_keys import Scope
from tambour.services.context import InvalidInputError
from tambour.services.jobs import JobRequest

router = V1Router(prefix=f"{V1}/campaigns", tags=["campaigns"])
JOBS = f"{V1}/jobs"
READ = (Scope.OPERATOR, Scope.READ)
CHANGE = (Scope.OPERATOR, Scope.WRITE)
SEND = (Scope.OPERATOR, Scope.SEND)
CANCEL = (Scope.OPERATOR, Scope.WRITE, Scope.SEND)


# The A/B test's parameters of the use cases, as the body names them (under `ab_test`).
_AB_TEST_FIELDS = {
    "variants": "ab_test.variants",
    "test_share": "ab_test.test_share",
    "winner_by": "ab_test.winner_by",
    "test_duration": "ab_test.test_minutes",
}


@contextmanager
def _ab_test_named() -> Iterator[None]:
    """A refusal about the A/B test named where the body has it (`/ab_test/variants/0`)."""
    try:
        yield
    except InvalidInputError as error:
        problems = [
            replace(p, field=_AB_TEST_FIELDS[head] + p.field[len(head) :])
            if p.field and (head := p.field.split("[", 1)[0]) in _AB_TEST_FIELDS
            else p
            for p in error.problems
        ]
        raise InvalidInputError.many(problems) from None


@router.post("", status_code=201, summary="Define a campaign (nothing is decided until planned)")
def create_campaign(
    body: CampaignCreate, caller: Caller, advertiser: Tenant, shared: Shared, response: Response
) -> CampaignDefined:
    require(caller, *CHANGE)
    with _ab_test_named():
        done = campaigns.create(
            shared.context(caller), slug=advertiser, name=body.name, nature=body.nature,
            sender=body.sender, text=body.text, channel=body.channel, categories=body.categories,
            professions=body.professions, tags=body.tags, start=body.start,
            send_by=body.send_by, transaction_field=body.transaction_field,
            **(body.ab_test.given() if body.ab_test else {}),
        )  # fmt: skip
    response.headers["Location"] = f"{router.prefix}/{done.campaign.id}"
    return CampaignDefined.made(done.campaign, done.content)


@router.get("", summary="The advertiser's campaigns, newest first")
def list_campaigns(
    request: Request,
    response: Response,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    status: Annotated[CampaignState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> CampaignPage:
    require(caller, *READ)
    found = campaigns.page_campaigns(
        shared.context(caller),
        slug=advertiser,
        status=status,
        before=id_cursor(request, cursor),
        limit=limit,
    )
    after = None if found.next_before is None else str(found.next_before)
    return CampaignPage(
        items=[Campaign.of(overview) for overview in found.campaigns],
        next=pagination.next_link(request, response, after),
    )


@router.get(
    "/{campaign_id}",
    summary="One campaign: its plan's figures, its messages by state, why, and by carrier",
)
def get_campaign(
    campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> CampaignStatus:
    require(caller, *READ)
    found = campaigns.status(shared.context(caller), slug=advertiser, campaign_id=campaign_id)
    return CampaignStatus.of_status(found)


@router.patch(
    "/{campaign_id}",
    summary="Change a draft or planned campaign (its plan is dropped: plan again)",
)
def edit_campaign(
    campaign_id: Id,
    body: CampaignUpdate,
    request: Request,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
) -> CampaignEdited:
    require(caller, *CHANGE)
    nulls = sorted(n for n in NOT_NULL if n in body.model_fields_set and getattr(body, n) is None)
    if nulls:
        detail = texts.detail("value_required", language(request)) or ""
        raise ApiError(
            422,
            "validation_failed",
            errors=[FieldError(f"/{name}", "value_required", detail) for name in nulls],
        )
    if not body.model_fields_set:
        raise ApiError(422, "nothing_to_change")
    with _ab_test_named():
        done = campaign_edit.edit(
            shared.context(caller), slug=advertiser, campaign_id=campaign_id,
            changes=body.changes(),
        )  # fmt: skip
    return CampaignEdited.edited(done)


@router.delete(
    "/{campaign_id}",
    summary="Delete a draft or planned campaign and its plan (the audit log keeps that it was)",
)
def delete_campaign(
    campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> CampaignDeleted:
    require(caller, *CHANGE)
    done = campaign_edit.delete_campaign(
        shared.context(caller), slug=advertiser, campaign_id=campaign_id
    )
    return CampaignDeleted(id=campaign_id, name=done.name, was=done.was, plan_rows=done.plan_rows)  # type: ignore[arg-type]


def _queued(shared: Shared, caller: Caller, request: JobRequest, response: Response) -> Job:
    job = jobs.submit(shared.context(caller), request)
    response.headers["Location"] = f"{JOBS}/{job.id}"
    return Job.of(job)


@router.post(
    "/{campaign_id}/plan",
    status_code=202,
    summary="Plan it as a job: every targeted contact decided (follow the job, then the report)",
)
def plan_campaign(
    campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared, response: Response
) -> Job:
    require(caller, *CHANGE)
    wanted = campaign_plan.request(
        shared.context(caller), advertiser=advertiser, campaign_id=campaign_id
    )
    return _queued(shared, caller, wanted, response)


@router.get(
    "/{campaign_id}/report",
    summary="The plan's report: figures, exclusions by reason, send days, sample messages",
)
def get_plan_report(
    campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> PlanReport:
    require(caller, *READ)
    found = plan_reads.report(shared.context(caller), slug=advertiser, campaign_id=campaign_id)
    return PlanReport.of(found)


@router.get(
    "/{campaign_id}/clicks",
    summary="Clicks of the campaign's short links: people's, by territory, variant and day",
    description="Only people's clicks are counted; bots, link scanners and prefetches are "
    "left out and counted apart in `not_counted` by why (`head`, `prefetch`, `user_agent`, "
    "`too_soon`: within a second of the message leaving). A click is never consent.",
)
def get_clicks(campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared) -> Clicks:
    require(caller, *READ)
    found = click_reports.report(shared.context(caller), slug=advertiser, campaign_id=campaign_id)
    return Clicks(**found.as_dict())


@router.get("/{campaign_id}/rows", summary="The plan's rows, in contact order, a page at a time")
def list_plan_rows(
    request: Request,
    response: Response,
    campaign_id: Id,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    decision: Annotated[Decision | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> PlanRowPage:
    require(caller, *READ)
    found = plan_reads.rows_page(
        shared.context(caller),
        slug=advertiser,
        campaign_id=campaign_id,
        after=id_cursor(request, cursor),
        limit=limit,
        decision=decision,
    )
    after = None if found.next_after is None else str(found.next_after)
    return PlanRowPage(
        items=[PlanRow.of(row) for row in found.rows],
        next=pagination.next_link(request, response, after),
    )


@router.post(
    "/{campaign_id}/launch",
    summary="Launch: freeze the plan and queue its messages, each due at its send time",
)
def launch_campaign(
    campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> Launched:
    require(caller, *SEND)
    done = campaigns.launch(shared.context(caller), slug=advertiser, campaign_id=campaign_id)
    return Launched(
        campaign_id=campaign_id,
        campaign=done.campaign,
        queued=done.queued,
        parts=done.parts,
        launched_at=done.launched_at,
        held=done.held,
    )


@router.get(
    "/{campaign_id}/ab-test",
    summary="Its A/B test: each variant's messages, people clicking and opting out, the "
    "leader and the winner",
)
def ab_test_report(
    campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> ABTestReport:
    require(caller, *READ)
    found = ab_tests.report(shared.context(caller), slug=advertiser, campaign_id=campaign_id)
    return ABTestReport.of(campaign_id, found)


@router.post(
    "/{campaign_id}/ab-test/winner",
    status_code=202,
    summary="Choose its A/B test's winner: by the figures once the test is over (the job "
    "runners do it by themselves), or the variant named, now; the rest is given its text by "
    "a job (follow it at the Location given)",
)
def choose_ab_winner(
    campaign_id: Id,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    response: Response,
    body: WinnerChoice | None = None,
) -> WinnerChosen:
    require(caller, *SEND)
    done = ab_tests.choose(
        shared.context(caller), slug=advertiser, campaign_id=campaign_id,
        variant=(body or WinnerChoice()).variant, release_now=False,
    )  # fmt: skip
    if done.job is not None:
        response.headers["Location"] = f"{JOBS}/{done.job}"
    return WinnerChosen(campaign_id=campaign_id, **done.as_dict())


@router.post(
    "/{campaign_id}/cancel",
    summary="Cancel: its queued messages are withdrawn (those handed to a carrier are not)",
)
def cancel_campaign(
    campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> Cancelled:
    require(caller, *CANCEL)
    done = campaigns.cancel(shared.context(caller), slug=advertiser, campaign_id=campaign_id)
    return Cancelled(
        campaign_id=campaign_id,
        campaign=done.campaign,
        was=done.was,  # type: ignore[arg-type]
        withdrawn=done.withdrawn,
        already_sent=done.already_sent,
    )


@router.post(
    "/{campaign_id}/resume",
    summary="Resume a campaign paused for its advertiser's 33700 complaint rate (the "
    "operator's key only)",
)
def resume_campaign(campaign_id: Id, caller: Caller, advertiser: Tenant, shared: Shared) -> Resumed:
    ctx = shared.context(caller)
    named(ctx, None, advertiser, campaign_id)  # another's: 404, before the scope is checked
    require(caller, Scope.OPERATOR)
    done = complaints.resume(ctx, slug=advertiser, campaign_id=campaign_id)
    return Resumed(
        campaign_id=done.campaign_id, campaign=done.campaign, paused_at=done.paused_at,
        requeued=done.requeued,
    )  # fmt: skip


@router.post(
    "/{campaign_id}/exports",
    status_code=202,
    summary="Export a launched campaign's proof as a job (its file: GET /api/v1/jobs/{id}/file)",
)
def export_campaign(
    campaign_id: Id,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    response: Response,
    body: ExportCreate | None = None,
) -> Job:
    require(caller, *CHANGE)
    form = (body or ExportCreate()).form
    ctx = shared.context(caller)
    found = named(ctx, None, advertiser, campaign_id)  # 404 before a file name is made
    path, file = campaign_export.fresh_file(shared.settings.base.files_dir, found, form, ctx.now())
    wanted = campaign_export.request(
        ctx, advertiser=advertiser, campaign_id=found.id, path=path, form=form, file=file
    )
    return _queued(shared, caller, wanted, response)
