"""`retention.run`: the retention run (services/retention.py, as `tambour retention run`
does), asked for by the operator through the API: on a ledger of a million contacts it takes
minutes, a job rather than a request that would time out. The job runners also run it daily
by themselves (jobs/runner.py).

Progress: the contacts read, of the live contacts of the advertisers it covers. The run is
made to be run again: an attempt cut short leaves what it erased erased, and the next one
goes on with the rest."""

from typing import Any, Final

from sqlalchemy import func, select

from tambour.jobs.control import JobControl
from tambour.jobs.kinds import argument
from tambour.services import advertisers, retention
from tambour.services.context import Context
from tambour.services.jobs import Job, JobRequest
from tambour.store.engine import reader
from tambour.store.tables import contacts

KIND: Final = "retention.run"
PHASE: Final = "contacts"


def request(ctx: Context, *, dry_run: bool = False, advertiser: str | None = None) -> JobRequest:
    """A run over every advertiser, or the one of slug `advertiser` (which must exist)."""
    if advertiser is not None:
        with reader(ctx.engine) as conn:
            advertisers.get(conn, advertiser)
    return JobRequest(KIND, None, {"dry_run": dry_run, "advertiser": advertiser})


def run(ctx: Context, job: Job, control: JobControl) -> dict[str, Any]:
    dry_run = argument(job, "dry_run", bool)
    slug = argument(job, "advertiser", str, required=False)
    with reader(ctx.engine) as conn:
        query = select(func.count()).where(contacts.c.e164.is_not(None))
        if slug is not None:
            query = query.where(contacts.c.advertiser_id == advertisers.get(conn, slug).id)
        total = conn.execute(query).scalar_one()
    control.phase(PHASE, total)
    done = retention.run(ctx, dry_run=dry_run, slug=slug, progress=control.advance)
    return {**done.as_dict(), "counts": done.counts()}
