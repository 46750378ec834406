"""What the campaign job kinds share: the campaign a job names, found again when it runs."""

from sqlalchemy.exc import NoResultFound

from tambour.jobs.kinds import argument
from tambour.services import campaigns
from tambour.services.campaigns import Campaign
from tambour.services.context import Context, NotFoundError
from tambour.services.jobs import Job
from tambour.store.engine import reader


def named(
    ctx: Context, name: str | None, advertiser: str | None, campaign_id: int | None = None
) -> Campaign:
    """The campaign `name`, or the one of id `campaign_id` (of advertiser `advertiser`, a
    slug, when given: another advertiser's campaign is not found)."""
    with reader(ctx.engine) as conn:
        return campaigns.locate(conn, name=name, slug=advertiser, campaign_id=campaign_id)


def of_job(ctx: Context, job: Job) -> Campaign:
    """The campaign the job was submitted for, by its id: renaming it meanwhile changes
    nothing, and another advertiser's campaign is never found."""
    campaign_id = argument(job, "campaign_id", int)
    try:
        if job.advertiser_id is None:
            raise NoResultFound
        with reader(ctx.engine) as conn:
            return campaigns.by_id(conn, campaign_id, job.advertiser_id)
    except NoResultFound:
        raise NotFoundError(
            f"the campaign of this job (id {campaign_id}) no longer exists",
            code="campaign_not_found",
            field="arguments.campaign_id",
        ) from None
