"""`ab_test.release`: the rest of an A/B test's audience given its winner's text
(services/ab_tests.release), once the winner was named through the API or a page: on a large
campaign it takes seconds to minutes, a job rather than a request. The job runners also carry
on by themselves with any rest left held (jobs/runner.py).

Progress: the messages of the rest written (or cancelled). The release is made to be run again:
an attempt cut short leaves what it wrote written, and the next goes on with the rest."""

from typing import Any, Final

from sqlalchemy import func, select

from tambour.jobs.control import JobControl
from tambour.jobs.kinds.campaigns import of_job
from tambour.services import ab_tests
from tambour.services.campaigns import Campaign
from tambour.services.context import Context
from tambour.services.jobs import Job, JobRequest
from tambour.store.engine import reader
from tambour.store.tables import outbox

KIND: Final = "ab_test.release"
PHASE: Final = "messages"


def request(campaign: Campaign) -> JobRequest:
    """The release of `campaign`'s rest (its winner chosen)."""
    return JobRequest(KIND, campaign.advertiser.id, {"campaign_id": campaign.id})


def run(ctx: Context, job: Job, control: JobControl) -> dict[str, Any]:
    campaign = of_job(ctx, job)
    with reader(ctx.engine) as conn:
        held = conn.execute(
            select(func.count()).where(
                outbox.c.campaign_id == campaign.id, outbox.c.state == "held"
            )
        ).scalar_one()
    control.phase(PHASE, held)
    released, cancelled = ab_tests.release(ctx, campaign, progress=control.advance)
    return {"winner": campaign.winner, "released": released, "cancelled": cancelled}
