"""The verification of the audit log as an advertiser's pages follow it: asked for as a job
(jobs/kinds/audit_verify.py: a minute on a large ledger, too long for a request), its progress,
its result in words, the latest one. Every read names the advertiser: another's job is not
found, exactly as one that does not exist."""

from dataclasses import dataclass
from typing import Any, Final

from tambour.jobs.kinds import audit_verify
from tambour.services import advertisers
from tambour.services import jobs as queue
from tambour.services.context import Context, NotFoundError
from tambour.services.jobs import Job, JobState
from tambour.services.views import View
from tambour.store.engine import reader

ACTIVE: Final = (JobState.QUEUED, JobState.RUNNING)
TEXTS: Final = {"not_a_verification": "job {job_id} is not a verification of the audit log"}


@dataclass(frozen=True, slots=True)
class Outcome(View):
    """A finished verification's result, as an advertiser may know it: whether all is intact;
    the chain (`count` entries, the last one's hash `head`: the anchor to keep outside; the
    first entry where it breaks); how many sealed rows no longer match."""

    ok: bool
    count: int
    head: str
    log_ok: bool
    first_bad: int | None
    rows_ok: bool
    row_problems: int


def _advertiser_id(ctx: Context, slug: str) -> int:
    with reader(ctx.engine) as conn:
        return advertisers.get(conn, slug).id


def latest(ctx: Context, *, slug: str) -> Job | None:
    """The advertiser's latest verification (None: it never asked for one)."""
    found = queue.list_jobs(
        ctx, advertiser_id=_advertiser_id(ctx, slug), kind=audit_verify.KIND, limit=1
    )
    return found.jobs[0] if found.jobs else None


def start(ctx: Context, *, slug: str) -> Job:
    """Verify the audit log as a job of advertiser `slug`, unless one of its verifications is
    queued or running already: that one is returned (a second click verifies once)."""
    under_way = latest(ctx, slug=slug)
    if under_way is not None and under_way.state in ACTIVE:
        return under_way
    return queue.submit(ctx, audit_verify.request(ctx, advertiser=slug))


def get(ctx: Context, *, slug: str, job_id: int) -> Job:
    """The advertiser's verification `job_id` (NotFoundError for another advertiser's job, or
    a job of another kind)."""
    job = queue.get(ctx, job_id, advertiser_id=_advertiser_id(ctx, slug))
    if job.kind != audit_verify.KIND:
        said = TEXTS["not_a_verification"].format(job_id=job_id)
        raise NotFoundError(said, code="job_not_found", field="job_id")
    return job


def cancel(ctx: Context, *, slug: str, job_id: int) -> Job:
    """Stop the advertiser's verification `job_id`: at once when queued, at its next chunk
    when running (Conflict `job_finished` when it is over)."""
    job = get(ctx, slug=slug, job_id=job_id)
    return queue.request_cancel(ctx, job.id, advertiser_id=job.advertiser_id)


def outcome(job: Job) -> Outcome | None:
    """The result of a verification that succeeded (None otherwise, or for a result that is
    not one: the row may have been written by anything)."""
    if job.kind != audit_verify.KIND or job.state is not JobState.SUCCEEDED:
        return None
    result: dict[str, Any] = dict(job.result or {})
    try:
        first_bad = result.get("first_bad")
        return Outcome(
            ok=bool(result["ok"]), count=int(result["count"]), head=str(result["head"]),
            log_ok=bool(result["log_ok"]),
            first_bad=None if first_bad is None else int(first_bad),
            rows_ok=bool(result["rows_ok"]), row_problems=int(result["row_problems"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None
