"""The background jobs of one campaign (jobs/kinds/campaign_plan.py and campaign_export.py), as
its pages follow them: the plan under way or the last one that failed, the exports made and
their files. Every read names the advertiser: another's job is not found.

A job's arguments are its canonical JSON (services/jobs.py: compact, keys sorted), so a
campaign's jobs are found by their `"campaign_id":N` among the advertiser's jobs of that kind,
newest first through the (advertiser, id) index, then checked once parsed.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, select

from tambour.jobs import files
from tambour.jobs.kinds import campaign_export, campaign_plan
from tambour.jobs.kinds.campaigns import named
from tambour.services import campaigns as campaign_service
from tambour.services import jobs as queue
from tambour.services.context import Context, InvalidInputError, NotFoundError
from tambour.services.jobs import Job, JobState
from tambour.store.engine import reader
from tambour.store.tables import campaigns as campaign_rows
from tambour.store.tables import jobs

ACTIVE: Final = (JobState.QUEUED, JobState.RUNNING)
TEXTS: Final = {
    "file_not_found": "no file of export {job_id} of this campaign",
    "form": "{form!r} is not a form of export (csv, excel, json)",
}


def _of_campaign(
    ctx: Context, advertiser_id: int, kind: str, campaign_id: int, limit: int
) -> list[Job]:
    said = f'"campaign_id":{int(campaign_id)}'
    query = (
        select(jobs.c.id)
        .where(
            jobs.c.advertiser_id == advertiser_id,
            jobs.c.kind == kind,
            jobs.c.arguments.like(f"%{said},%") | jobs.c.arguments.like(f"%{said}}}%"),
        )
        .order_by(jobs.c.id.desc())
        .limit(limit)
    )
    with reader(ctx.engine) as conn:
        _check_owner(conn, advertiser_id, campaign_id)
        ids = list(conn.execute(query).scalars())
    found = [queue.get(ctx, job_id, advertiser_id=advertiser_id) for job_id in ids]
    return [job for job in found if job.arguments.get("campaign_id") == campaign_id]


def _check_owner(conn: Connection, advertiser_id: int, campaign_id: int) -> None:
    """NotFoundError for a campaign that is not this advertiser's, as for one that does not
    exist (a page asking for another's campaign learns nothing, not even that it is empty)."""
    found = conn.execute(
        select(campaign_rows.c.id).where(
            campaign_rows.c.id == campaign_id, campaign_rows.c.advertiser_id == advertiser_id
        )
    ).first()
    if found is None:
        said = campaign_service.TEXTS["campaign_id_not_found"].format(campaign_id=campaign_id)
        raise NotFoundError(said, code="campaign_not_found", field="campaign_id")


def last_plan(ctx: Context, *, advertiser_id: int, campaign_id: int) -> Job | None:
    """The campaign's latest plan job (None: it was never planned by a job)."""
    found = _of_campaign(ctx, advertiser_id, campaign_plan.KIND, campaign_id, 1)
    return found[0] if found else None


def submit_plan(ctx: Context, *, slug: str, advertiser_id: int, campaign_id: int) -> Job:
    """Plan campaign `campaign_id` as a job (jobs/kinds/campaign_plan.py), unless a plan of
    it is queued or running already: that one is returned (a second click plans once).
    Refused as the kind refuses: a campaign launched or cancelled (`campaign_frozen`)."""
    wanted = campaign_plan.request(ctx, advertiser=slug, campaign_id=campaign_id)
    under_way = last_plan(ctx, advertiser_id=advertiser_id, campaign_id=campaign_id)
    if under_way is not None and under_way.state in ACTIVE:
        return under_way
    return queue.submit(ctx, wanted)


def submit_export(
    ctx: Context, *, slug: str, campaign_id: int, form: str, files_dir: str | Path
) -> Job:
    """Export launched campaign `campaign_id`'s proof as a job, to a new file of the
    advertiser's exports folder under `files_dir` (as the API does). Refused: a campaign not
    launched (`campaign_not_launched`), a form that is none of csv, excel, json."""
    try:
        chosen = campaign_export.ExportForm(form)
    except ValueError:
        said = TEXTS["form"].format(form=form)
        raise InvalidInputError("form", "invalid_form", said) from None
    found = named(ctx, None, slug, campaign_id)
    path, file = campaign_export.fresh_file(files_dir, found, chosen, ctx.now())
    wanted = campaign_export.request(
        ctx, advertiser=slug, campaign_id=found.id, path=path, form=chosen, file=file
    )
    return queue.submit(ctx, wanted)


def exports(ctx: Context, *, advertiser_id: int, campaign_id: int, limit: int = 5) -> Sequence[Job]:
    """The campaign's latest export jobs, newest first."""
    return _of_campaign(ctx, advertiser_id, campaign_export.KIND, campaign_id, limit)


def campaign_job(
    ctx: Context, *, advertiser_id: int, campaign_id: int, job_id: int, kind: str
) -> Job:
    """Job `job_id` if it is a `kind` job of this campaign of this advertiser; else
    NotFoundError (`job_not_found`), as for a job that does not exist."""
    job = queue.get(ctx, job_id, advertiser_id=advertiser_id)
    if job.kind != kind or job.arguments.get("campaign_id") != campaign_id:
        raise NotFoundError(
            queue.TEXTS["not_found"].format(job_id=job_id), code="job_not_found", field="job_id"
        )
    return job


def export_file(
    ctx: Context, *, advertiser_id: int, campaign_id: int, job_id: int, files_dir: str | Path
) -> Path:
    """The file export `job_id` of this campaign wrote (under the advertiser's folder of
    `files_dir`); NotFoundError while it is not written, or for another's."""
    job = campaign_job(
        ctx, advertiser_id=advertiser_id, campaign_id=campaign_id, job_id=job_id,
        kind=campaign_export.KIND,
    )  # fmt: skip
    path = None
    if job.state == JobState.SUCCEEDED and job.result is not None:
        path = files.job_file(files_dir, job.result.get(files.OUTPUT_KEY))
    if path is None:
        said = TEXTS["file_not_found"].format(job_id=job_id)
        raise NotFoundError(said, code="job_file_not_found", field="job_id")
    return path
