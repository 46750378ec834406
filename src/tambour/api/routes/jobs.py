"""`/api/v1/jobs`: the background jobs of the caller's advertiser (an operator key: every
job), their progress and result, and cancelling one (services/jobs.py). Another advertiser's
job is 404 there, as one that does not exist.

`/{job_id}/file`: the file a succeeded job wrote (an export), which its result names as
`file`, relative to files_dir (jobs/files.py), streamed; 404 for a job without one."""

from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import FileResponse

from tambour.api import pagination
from tambour.api.auth import Caller, Shared, require
from tambour.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from tambour.api.problems import ApiError
from tambour.api.routes.tenancy import Id, id_cursor
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.jobs import Job, JobPage
from tambour.jobs import files
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


_FILE_TYPES = sorted(
    {media.split(";")[0] for media in files.MEDIA_TYPES.values()} | {"application/octet-stream"}
)


@router.get(
    "/{job_id}/file",
    summary="The file a finished export job wrote, streamed",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file (its form by its content type), as an attachment.",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}} for media in _FILE_TYPES
            },
        }
    },
)
def get_job_file(job_id: Id, caller: Caller, shared: Shared) -> FileResponse:
    require(caller, Scope.OPERATOR, Scope.READ)
    job = jobs.get(shared.context(caller), job_id, advertiser_id=caller.advertiser_id)
    path = None
    if job.state == JobState.SUCCEEDED and job.result is not None:
        path = files.job_file(shared.settings.base.files_dir, job.result.get(files.OUTPUT_KEY))
    if path is None:
        raise ApiError(404, "job_file_not_found", values={"job_id": job_id})
    return FileResponse(path, media_type=files.media_type(path), filename=path.name)
