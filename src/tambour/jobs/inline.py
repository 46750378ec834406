"""A job run inline: submitted and run in this process, now, for the command line's
synchronous commands (`contacts import`, `campaign plan`... may go through jobs this way and
keep their behaviour: the work done here, its progress shown, its result printed).

The job is created already running, leased to this process, so no worker takes it; it gets one
attempt only (a person who killed the command does not expect it to start again later: the
rescue fails it with `worker_lost`). Ctrl-C cancels it. Not for the web server: nothing is
forked there, and a plan or an import is a worker's to run."""

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta

from tambour.jobs.kinds import JobKind
from tambour.jobs.runner import Runner
from tambour.services import jobs
from tambour.services.context import Context
from tambour.services.jobs import DEFAULT_LEASE, Job, JobRequest, Progress


def run_inline(
    ctx: Context,
    request: JobRequest,
    *,
    kinds: Mapping[str, JobKind] | None = None,
    lease: timedelta = DEFAULT_LEASE,
    listener: Callable[[Progress], None] | None = None,
) -> Job:
    """Submit `request` and run it here; returns the job as it ended (succeeded, failed with
    its error, or cancelled). `listener` hears its progress."""
    runner = Runner(ctx, kinds=kinds, lease=lease)
    job = jobs.submit(ctx, replace(request, max_attempts=1), run_by=runner.name, lease=lease)
    return runner.execute(job, listener=listener)
