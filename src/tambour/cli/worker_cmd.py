"""`tambour worker`: send the launched campaigns' messages through the configured transport
(TAMBOUR_CONFIG), and record receipts and replies, until interrupted or, with --until-idle,
until nothing is due and the last receipts are in; then say when the next message is due.

Without a configured transport it refuses to start (exit 2) and says how to configure one:
nothing may look sent that was not. The record-only transport, named as such, stores what it
takes as `recorded` and the report says they were not sent."""

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

import typer

from tambour import logs
from tambour.cli.context import open_context, refusals, running_clock
from tambour.cli.output import fail, print_json
from tambour.contacts.values import paris_time
from tambour.dispatch.config import Config, ConfigError, OutboxTransportConfig, load_config
from tambour.dispatch.smpp.client import SmppError
from tambour.dispatch.transports.factory import make_transport
from tambour.dispatch.worker import Worker, WorkerReport, WorkerSettings
from tambour.jobs.companion import jobs_beside
from tambour.services import outbox
from tambour.store.engine import make_engine

PARIS: Final = ZoneInfo("Europe/Paris")
log = logging.getLogger("tambour.dispatch.worker")


def settings_of(config: Config) -> WorkerSettings:
    worker = config.worker
    return WorkerSettings(
        chunk=config.window,
        lease=timedelta(seconds=worker.lease),
        window_margin=timedelta(seconds=worker.window_margin),
        # The local outbox transport never has receipts to wait for.
        receipt_wait=0.0
        if isinstance(config.transport, OutboxTransportConfig)
        else worker.receipt_wait,
        confirm_stop=worker.confirm_stop,
    )


def worker(
    until_idle: Annotated[
        bool,
        typer.Option(
            "--until-idle",
            help="Return once nothing is due and no receipt is awaited (bounded wait).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            help=f"Log from this level on: {', '.join(logs.LEVELS)}.",
            case_sensitive=False,
        ),
    ] = "info",
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            help="json: one JSON object a line on stderr (start, bind, reconnects, throttling, "
            "database outages, stop), never a phone number or a text; text: plain lines.",
        ),
    ] = "json",
    jobs: Annotated[
        bool,
        typer.Option(
            "--jobs/--no-jobs",
            help="Also run background jobs (imports, plans, exports) in a child process.",
        ),
    ] = True,
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks/--no-webhooks",
            help="Also deliver webhooks (tambour webhook deliver) in a child process.",
        ),
    ] = True,
) -> None:
    """Send due messages, re-checking opt-outs and the sending window right before each, and
    record receipts and replies (STOP, START) as they come; run background jobs beside."""
    if log_level.lower() not in logs.LEVELS:
        fail(f"--log-level: expected one of {', '.join(logs.LEVELS)}, got {log_level!r}")
    if log_format not in ("json", "text"):
        fail(f"--log-format: expected json or text, got {log_format!r}")
    logs.configure(log_level.lower(), structured=log_format == "json")
    # The database threads wait on their sockets without the GIL; when an answer comes they
    # need it back from the busy SMPP loop, which Python hands over only every switch interval
    # (5 ms by default): five milliseconds a statement. 0.5 ms took PostgreSQL statements from
    # about 5 ms to under 1 in the worker. Three PostgreSQL runs each of bench_dispatch.py
    # (noisy on a shared VM): 0.5 ms 2,959-3,283 msg/s, 0.2 ms 3,153-3,569, 0.1 ms 2,345-3,071.
    sys.setswitchinterval(0.0002)
    try:
        config = load_config()
    except ConfigError as error:
        fail(str(error))
    record_only = isinstance(config.transport, OutboxTransportConfig)
    ctx = open_context()
    # Pooled: the worker's database thread keeps one connection for all its transactions.
    engine = make_engine(ctx.engine.url.render_as_string(hide_password=False))
    clock = running_clock()
    runner = Worker(
        engine,
        lambda on_inbound: make_transport(config.transport, on_inbound),
        settings=settings_of(config),
        clock=clock,
        actor=f"worker:{ctx.actor}",
    )
    if record_only:
        typer.echo(
            "note: the record-only transport sends nothing: the messages it takes are stored "
            "as `recorded`, not sent",
            err=True,
        )
    log.info(
        "worker %s starting (%s transport)",
        runner.name,
        type(config.transport).__name__,
        extra={"event": "start", "worker": runner.name, "until_idle": until_idle},
    )
    try:
        with refusals():
            try:
                with jobs_beside(
                    enabled=jobs, until_idle=until_idle, log_level=log_level.lower(),
                    log_format=log_format, webhooks=webhooks,
                ):  # fmt: skip
                    report = asyncio.run(_run(runner, until_idle))
            except (OSError, TimeoutError, SmppError) as error:
                fail(f"the transport cannot start: {error or type(error).__name__}")
            log.info(
                "worker %s stopped",
                runner.name,
                extra={"event": "stop", "worker": runner.name, **report.as_dict()},
            )
            with engine.connect() as conn:
                next_due = outbox.next_queued(conn)
    finally:
        engine.dispose()
    _print(report, as_json, record_only=record_only, next_due=next_due, now=clock)


async def _run(runner: Worker, until_idle: bool) -> WorkerReport:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, runner.stop)
    return await runner.run(until_idle=until_idle)


def _print(
    report: WorkerReport,
    as_json: bool,
    *,
    record_only: bool,
    next_due: datetime | None,
    now: Callable[[], datetime],
) -> None:
    if as_json:
        payload: dict[str, Any] = report.as_dict()
        payload["next_due"] = next_due.astimezone(PARIS).isoformat() if next_due else None
        print_json(payload)
        return
    sent = (
        f"{report.recorded:,} recorded (not sent: record-only transport)"
        if record_only
        else f"{report.submitted:,} submitted"
        + (f", {report.recorded:,} recorded (not sent)" if report.recorded else "")
    )
    typer.echo(
        f"worker stopped after {report.seconds:g} s: {sent}, "
        f"{report.failed:,} failed, {report.unknown:,} unknown, {report.held:,} held for later, "
        f"{report.cancelled:,} cancelled, {report.expired:,} expired; "
        f"{report.receipts:,} receipts, {report.replies:,} replies"
        + (f"; {report.rescued:,} rescued from a stopped worker" if report.rescued else "")
        + (f"; {report.proven:,} in doubt proven taken by their receipts" if report.proven else "")
    )
    typer.echo(_next(next_due, now(), idle=not (report.submitted or report.recorded)))


def _next(due: datetime | None, now: datetime, *, idle: bool) -> str:
    """When the next queued message is due, in Paris time and from now."""
    said = "nothing due now; " if idle else ""
    if due is None:
        return "nothing due now: nothing is queued" if idle else "nothing left queued"
    return f"{said}next message due {paris_time(due)} ({_from_now(due - now)})"


def _from_now(delta: timedelta) -> str:
    """`in 14 h 3 min`, `in 2 d 0 h 5 min`, `due now`."""
    seconds = delta.total_seconds()
    if seconds <= 0:
        return "due now"
    if seconds < 60:
        return "in less than a minute"
    days, minutes = divmod(round(seconds / 60), 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if days or hours else [])
    return "in " + " ".join([*parts, f"{minutes} min"])
