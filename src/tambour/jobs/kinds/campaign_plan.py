"""`campaign.plan`: every targeted contact decided and stored as the campaign's plan, by
services/planner.py, as `tambour campaign plan` does.

Progress: the recipients planned, chunk by chunk, of the advertiser's live contacts when the
campaign targets them all (with tags, how many it targets is known at the end only). A
cancellation stops the plan between two chunks: the planner removes the rows it wrote, and
the previous plan, if any, stays the campaign's."""

from typing import Any, Final

from sqlalchemy import func, select

from tambour.jobs.control import CancelRequested, JobControl
from tambour.jobs.kinds.campaigns import named, of_job
from tambour.services import planner
from tambour.services.campaigns import PLANNABLE
from tambour.services.context import Conflict, Context
from tambour.services.jobs import Job, JobRequest
from tambour.store.engine import reader
from tambour.store.tables import contacts

KIND: Final = "campaign.plan"
PHASE: Final = "recipients"

TEXTS: Final = {
    "frozen": "{name!r} is {status}: its plan can no longer change",
    "stopped": "cancelled: the plan was not finished; the campaign keeps its previous plan, if any",
}


def request(
    ctx: Context,
    *,
    campaign: str | None = None,
    advertiser: str | None = None,
    campaign_id: int | None = None,
) -> JobRequest:
    """A plan job for the campaign `campaign`, or the one of id `campaign_id` (of advertiser
    `advertiser`, a slug)."""
    found = named(ctx, campaign, advertiser, campaign_id)
    if found.status not in PLANNABLE:
        raise Conflict(
            TEXTS["frozen"].format(name=found.name, status=found.status),
            code="campaign_frozen",
            field="campaign",
        )
    return JobRequest(KIND, found.advertiser.id, {"campaign_id": found.id})


def run(ctx: Context, job: Job, control: JobControl) -> dict[str, Any]:
    campaign = of_job(ctx, job)
    total = None
    if not campaign.tags:  # every live contact is a recipient
        with reader(ctx.engine) as conn:
            total = conn.execute(
                select(func.count()).where(
                    contacts.c.advertiser_id == campaign.advertiser.id,
                    contacts.c.e164.is_not(None),
                )
            ).scalar_one()
    control.phase(PHASE, total)
    try:
        planned = planner.plan(
            ctx, name=campaign.name, slug=campaign.advertiser.slug, progress=control.advance
        )
    except CancelRequested as stop:
        stop.result = {
            "campaign": campaign.name,
            "campaign_id": campaign.id,
            "complete": False,
            "message": TEXTS["stopped"],
        }
        raise
    summary = planned.plan_summary or {}
    control.phase(PHASE, summary.get("targeted"), summary.get("targeted") or 0)
    return {
        "campaign": planned.name,
        "campaign_id": planned.id,
        "generation": planned.plan_generation,
        "status": planned.status,
        "summary": summary,
    }
