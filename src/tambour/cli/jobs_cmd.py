"""`tambour jobs`: run background jobs, and list, show or cancel them.

`tambour worker` runs jobs beside its dispatching (a child `tambour jobs run`); `jobs run`
runs jobs only, for a machine that sends nothing or a database without a transport. The
command line is the operator's: without --advertiser it sees every advertiser's jobs."""

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, Final

import typer

from tambour.cli.context import open_context, refusals, running_clock
from tambour.cli.log_options import LogFormat, LogLevel, configure_logs
from tambour.cli.output import fail, print_json, within
from tambour.contacts.values import paris_time
from tambour.jobs.runner import Runner
from tambour.services import advertisers, jobs
from tambour.services.context import Context
from tambour.services.jobs import Job, JobState
from tambour.store.engine import make_engine, reader

app = typer.Typer(no_args_is_help=True, help="Background jobs: imports, plans, exports.")

Advertiser = Annotated[
    str | None,
    typer.Option("--advertiser", help="Only this advertiser's jobs (its slug)."),
]
JobId = Annotated[int, typer.Argument(help="The job's number.", callback=within("ID", 1, 2**62))]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
MOST_LEASE: Final = 3600
_LONGEST: Final = 100  # characters of a result's value shown on its line


def _tenant(ctx: Context, slug: str | None) -> int | None:
    """The advertiser whose jobs the command sees; None: every one (the operator)."""
    if slug is None:
        return None
    with reader(ctx.engine) as conn:
        return advertisers.get(conn, slug).id


@app.command("run")
def run(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Return once no job is due.")
    ] = False,
    lease: Annotated[
        int,
        typer.Option(
            "--lease",
            callback=within("--lease", 2, MOST_LEASE),
            help="Seconds a job stays this runner's without news from it: a runner that "
            "dies leaves its job to another after that long.",
        ),
    ] = 30,
    log_level: LogLevel = "info",
    log_format: LogFormat = "json",
    as_json: AsJson = False,
    nice: Annotated[
        int,
        typer.Option(
            "--nice",
            callback=within("--nice", 0, 19),
            help="Lower this runner's CPU priority by this much (its imports' and plans' "
            "processes too): beside a worker, sending keeps the cores first.",
        ),
    ] = 0,
    parent: Annotated[
        int | None,
        typer.Option("--parent", hidden=True, help="Stop when this process is gone."),
    ] = None,
) -> None:
    """Run due jobs, one at a time, until interrupted (the job under way is queued again for
    another runner) or, with --until-idle, until none is due."""
    configure_logs(log_level, log_format)
    if nice:
        os.nice(nice)
    opened = open_context()
    # Pooled: the runner and its lease keeper each hold a connection for the job's length.
    engine = make_engine(opened.engine.url.render_as_string(hide_password=False))
    ctx = Context(
        engine=engine,
        actor=opened.actor,
        clock=running_clock(),
        keys=opened.keys,
        links=opened.links,
        retention=opened.retention,
        complaints=opened.complaints,
    )
    runner = Runner(ctx, lease=timedelta(seconds=lease), parent=parent)
    try:
        with refusals(), _stopping_on_signals(runner):
            report = runner.run(until_idle=until_idle)
    finally:
        engine.dispose()
    if as_json:
        print_json(report.as_dict())
        return
    typer.echo(
        f"job runner stopped after {report.seconds:.1f} s: {report.succeeded} succeeded, "
        f"{report.failed} failed, {report.cancelled} cancelled"
        + (f", {report.requeued} queued again" if report.requeued else "")
        + (f", {report.lost} taken up by another runner" if report.lost else "")
        + (f"; {report.rescued} rescued from a stopped runner" if report.rescued else "")
    )


_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
_before_runner: dict[int, Any] = {}  # the handlers a forked process gets back


def _handlers_back() -> None:
    for signum, handler in _before_runner.items():
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signum, handler)


@contextlib.contextmanager
def _stopping_on_signals(runner: Runner) -> Iterator[None]:
    """SIGINT and SIGTERM stop the runner (its job is queued again) instead of killing it.
    The processes a use case forks (an import's readers, a plan's workers) get the handlers
    back that were there before: they must die of the SIGTERM their coordinator sends them,
    not ask a runner they are not to stop (the coordinator would wait for them forever)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are the main thread's
        return
    if not _before_runner:
        os.register_at_fork(after_in_child=_handlers_back)
    for signum in _SIGNALS:
        _before_runner[signum] = signal.signal(signum, lambda _signum, _frame: runner.stop())
    try:
        yield
    finally:
        _handlers_back()


@app.command("list")
def list_cmd(
    advertiser: Advertiser = None,
    state: Annotated[
        str | None,
        typer.Option("--state", help=f"Only jobs in this state: {', '.join(JobState)}."),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only jobs of this kind (contacts.import...).")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", callback=within("--limit", 1, jobs.MOST_LISTED), help="Jobs to show."
        ),
    ] = 20,
    before: Annotated[
        int | None,
        typer.Option("--before", help="Only jobs older than this one (the next page)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The jobs, newest first."""
    if state is not None and state not in set(JobState):
        fail(f"--state: expected one of {', '.join(JobState)}, got {state!r}")
    ctx = open_context()
    with refusals():
        page = jobs.list_jobs(
            ctx,
            advertiser_id=_tenant(ctx, advertiser),
            state=None if state is None else JobState(state),
            kind=kind,
            before=before,
            limit=limit,
        )
    if as_json:
        print_json({"jobs": [job.as_dict() for job in page.jobs], "next_before": page.next_before})
        return
    if not page.jobs:
        typer.echo("no job")
        return
    for job in page.jobs:
        typer.echo(
            f"{job.id:>6}  {job.kind:<16} {job.state.value:<10} {_progress(job):<28} "
            f"{paris_time(job.created_at)}"
        )
    if page.next_before is not None:
        typer.echo(f"more: tambour jobs list --before {page.next_before}")


@app.command("show")
def show(job_id: JobId, advertiser: Advertiser = None, as_json: AsJson = False) -> None:
    """A job: its progress, and its result or its error."""
    ctx = open_context()
    with refusals():
        job = jobs.get(ctx, job_id, advertiser_id=_tenant(ctx, advertiser))
    _print(job, as_json)


@app.command("cancel")
def cancel(job_id: JobId, advertiser: Advertiser = None, as_json: AsJson = False) -> None:
    """Cancel a job: a queued one at once, a running one at its next step (an import keeps
    the batches it committed, a plan leaves the previous one)."""
    ctx = open_context()
    with refusals():
        job = jobs.request_cancel(ctx, job_id, advertiser_id=_tenant(ctx, advertiser))
    _print(job, as_json)


def _progress(job: Job) -> str:
    done, total, phase = job.progress.done, job.progress.total, job.progress.phase or ""
    if total is None:
        return f"{done:,} {phase}".strip() if done or phase else ""
    share = f" ({min(100, 100 * done // total)} %)" if total else ""
    return f"{done:,} of {total:,} {phase}{share}".strip()


def _print(job: Job, as_json: bool) -> None:
    if as_json:
        print_json(job.as_dict())
        return
    lines = [
        f"job {job.id}: {job.kind}, {job.state.value}"
        + (f" (attempt {job.attempts} of {job.max_attempts})" if job.attempts else "")
    ]
    if progress := _progress(job):
        lines.append(f"progress: {progress}")
    lines.append(f"asked by {job.created_by} on {paris_time(job.created_at, seconds=True)} (Paris)")
    times: list[tuple[str, Any]] = [
        ("started", job.started_at),
        ("cancellation asked", job.cancel_requested_at),
        ("finished", job.finished_at),
    ]
    lines += [f"{what} on {paris_time(at, seconds=True)}" for what, at in times if at]
    if job.error_code is not None:
        lines.append(f"error ({job.error_code}): {job.error_message}")
    if job.result is not None:
        lines.append("result:")
        lines += [f"  {key}: {_value(value)}" for key, value in job.result.items()]
    typer.echo("\n".join(lines))


def _value(value: Any) -> str:
    """A result's value on one line: nested ones as compact JSON, cut when long (--json has
    them whole)."""
    if isinstance(value, str):
        return value
    said = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return said if len(said) <= _LONGEST else said[: _LONGEST - 1] + "… (--json: all of it)"
