"""`/api/v1/jobs`: the background jobs of the caller's advertiser (an operator key: every
job), their progress and result, and cancelling one (services/jobs.py). Another advertiser's
job is 404 there, as one that does not exist."""

from typing import Annotated

from fastapi import Query, Request, Response

from tambour.api import pagination
from tambour.api.auth import Caller, Shared, require
from tambour.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from tambour.api.routes.tenancy import Id, id_cursor
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.jobs import Job, JobPage
from tambour.services import jobs
from tambour.services.api_keys import Scope
from tambour.services.jobs import JobState

router = V1Router(prefix=f"{V1}/jobs", tags=["jobs"])
Kind = Annotated[
    str | None,
    Query(max_length=jobs.MAX_KIND, pattern=r"^[a-z][a-z0-9_.]*$", examples=["campaign.plan"]),
]


@router.get("", summary="Jobs, newest first")
def list_jobs(
    request: Request,
    response: Response,
    caller: Caller,
    shared: Shared,
    state: Annotated[JobState | None, Query()] = None,
    kind: Kind = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> JobPage:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = jobs.list_jobs(
        shared.context(caller),
        advertiser_id=caller.advertiser_id,
        state=state,
        kind=kind,
        before=id_cursor(request, cursor),
        limit=limit,
    )
    after = None if found.next_before is None else str(found.next_before)
    return JobPage(
        items=[Job.of(job) for job in found.jobs],
        next=pagination.next_link(request, response, after),
    )


@router.get("/{job_id}", summary="One job: its state, progress and result")
def get_job(job_id: Id, caller: Caller, shared: Shared) -> Job:
    require(caller, Scope.OPERATOR, Scope.READ)
    return Job.of(jobs.get(shared.context(caller), job_id, advertiser_id=caller.advertiser_id))


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a job: a queued one at once, a running one at its next step",
)
def cancel_job(job_id: Id, caller: Caller, shared: Shared) -> Job:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    cancelled = jobs.request_cancel(
        shared.context(caller), job_id, advertiser_id=caller.advertiser_id
    )
    return Job.of(cancelled)
