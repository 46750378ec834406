"""`audit.verify`: the whole check of the audit log (services/audit_reads.verify, as `tambour
audit verify` runs it): the hash chain of the platform's log, then every sealed row against
its seal and the entries that wrote it. On a ledger of a million contacts it takes a minute:
a job, asked for from an advertiser's audit page, not a request that would time out.

The job is the advertiser's who asked; its result says only what an advertiser may know of
the platform's check (`Verification.for_advertiser`: intact or not, where the chain breaks,
how many rows were changed, the anchor), never which rows (they may be another advertiser's).
Progress: the entries, then the rows, checked; a cancellation stops the check between two
chunks. The check only reads: an attempt cut short is simply made again."""

from typing import Any, Final

from tambour.jobs.control import JobControl
from tambour.jobs.kinds import advertiser_slug
from tambour.services import advertisers, audit_reads
from tambour.services.context import Context
from tambour.services.jobs import Job, JobRequest
from tambour.store.engine import reader

KIND: Final = "audit.verify"


def request(ctx: Context, *, advertiser: str) -> JobRequest:
    """A verification asked for by advertiser `advertiser` (its slug)."""
    with reader(ctx.engine) as conn:
        owner = advertisers.get(conn, advertiser)
    return JobRequest(KIND, owner.id, {})


def run(ctx: Context, job: Job, control: JobControl) -> dict[str, Any]:
    advertiser_slug(ctx, job)  # the advertiser still exists
    checked = audit_reads.verify(ctx, progress=control)
    return checked.for_advertiser()
