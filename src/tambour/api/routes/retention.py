"""`/api/v1/retention/runs`: the retention run as a job (operator): the contacts whose data
lapsed erased, texts, replies, clicks and webhook events past their periods removed
(services/retention.py). Follow the job at the address it answers with; its result holds the
run's counts by advertiser. The job runners also run it daily by themselves."""

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from tambour.api.auth import Caller, Shared, require
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.advertisers import Slug
from tambour.api.schemas.jobs import Job
from tambour.jobs.kinds import retention_run
from tambour.services import jobs
from tambour.services.api_keys import Scope

router = V1Router(prefix=f"{V1}/retention", tags=["retention"])


class RetentionRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=False, description="Say what would go; change nothing.")
    advertiser: Slug | None = Field(default=None, description="Only this advertiser (a slug).")


@router.post(
    "/runs",
    status_code=202,
    summary="Apply the retention limits as a job, then follow it for the counts (operator)",
)
def run_retention(body: RetentionRun, caller: Caller, shared: Shared, response: Response) -> Job:
    require(caller, Scope.OPERATOR)
    ctx = shared.context(caller)
    wanted = retention_run.request(ctx, dry_run=body.dry_run, advertiser=body.advertiser)
    job = jobs.submit(ctx, wanted)
    response.headers["Location"] = f"{V1}/jobs/{job.id}"
    return Job.of(job)
