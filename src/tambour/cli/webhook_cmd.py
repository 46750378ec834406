"""`tambour webhook`: an advertiser's webhook endpoints, their delivery log, and delivering.

Endpoints are https URLs on the public Internet unless [webhooks] allow_private_targets says
otherwise (TAMBOUR_CONFIG); `deliver` runs what a worker runs to send them (on its own, for a
host that sends no SMS, or in a test)."""

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated, Any

import typer

from tambour.cli.context import open_context, refusals, running_clock
from tambour.cli.log_options import LogFormat, LogLevel, configure_logs
from tambour.cli.output import fail, print_json
from tambour.dispatch.config import ConfigError, WebhooksConfig, webhooks_config
from tambour.services import webhooks
from tambour.settings import Settings
from tambour.store.engine import make_engine
from tambour.webhooks.delivery import Deliverer, DeliverySettings

app = typer.Typer(no_args_is_help=True, help="Webhook endpoints, deliveries and their log.")

Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OPTIONS = {
    "slug": "--advertiser",
    "url": "--url",
    "events": "--event",
    "description": "--description",
    "overlap": "--overlap-hours",
    "limit": "--limit",
    "endpoint_id": "ENDPOINT",
    "delivery_id": "DELIVERY",
}


def _config() -> WebhooksConfig:
    try:
        return webhooks_config()
    except ConfigError as error:
        fail(str(error))


@app.command("create")
def create(
    advertiser: Advertiser,
    url: Annotated[str, typer.Option("--url", help="Where events are POSTed (https://...).")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event type it receives (repeat it); none: every event."),
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    as_json: AsJson = False,
) -> None:
    """Add an endpoint; its signing secret is printed this once."""
    ctx = open_context()
    with refusals(OPTIONS):
        made = webhooks.create_endpoint(
            ctx,
            advertiser=advertiser,
            url=url,
            events=event or [],
            description=description,
            allow_private=_config().allow_private_targets,
        )
    _with_secret(made, as_json)


def _with_secret(made: webhooks.WithSecret, as_json: bool) -> None:
    if as_json:
        print_json({**made.endpoint.as_dict(), "secret": made.secret})
        return
    typer.echo(f"endpoint {made.endpoint.id}: {made.endpoint.url}")
    typer.echo(f"secret (shown once, keep it where the receiver reads it): {made.secret}")


@app.command("list")
def list_cmd(advertiser: Advertiser, as_json: AsJson = False) -> None:
    """The advertiser's endpoints."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = webhooks.list_endpoints(ctx, advertiser=advertiser)
    _listing(
        found, as_json, lambda e: f"{e.id}\t{_state(e)}\t{','.join(e.events) or '*'}\t{e.url}",
        empty="no webhook endpoint",
    )  # fmt: skip


def _listing(
    found: Sequence[Any], as_json: bool, line: Callable[[Any], str], empty: str = ""
) -> None:
    """A list as JSON, or one tab-separated line an item (`empty` said when there is none)."""
    if as_json:
        print_json([item.as_dict() for item in found])
        return
    if not found and empty:
        typer.echo(empty)
    for item in found:
        typer.echo(line(item))


def _status(status: int | None) -> str:
    return "-" if status is None else str(status)


def _state(endpoint: webhooks.Endpoint) -> str:
    if endpoint.state == "enabled":
        return "failing" if endpoint.failing_since else "enabled"
    return f"disabled ({endpoint.disabled_reason})"


@app.command("show")
def show(
    endpoint: Annotated[int, typer.Argument(metavar="ENDPOINT")],
    advertiser: Advertiser,
    as_json: AsJson = False,
) -> None:
    """One endpoint."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = webhooks.get_endpoint(ctx, advertiser=advertiser, endpoint_id=endpoint)
    _print(found.as_dict(), as_json)


def _print(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(payload)
        return
    for key, value in payload.items():
        typer.echo(f"{key}: {value}")


@app.command("update")
def update(
    endpoint: Annotated[int, typer.Argument(metavar="ENDPOINT")],
    advertiser: Advertiser,
    url: Annotated[str | None, typer.Option("--url")] = None,
    event: Annotated[list[str] | None, typer.Option("--event")] = None,
    all_events: Annotated[
        bool, typer.Option("--all-events", help="Receive every event type.")
    ] = False,
    description: Annotated[str | None, typer.Option("--description")] = None,
    enable: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Enable again (failures forgotten) or disable."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change an endpoint's URL, events, description, or state."""
    if event and all_events:
        fail("--event and --all-events: one or the other")
    ctx = open_context()
    with refusals(OPTIONS):
        found = webhooks.update_endpoint(
            ctx,
            advertiser=advertiser,
            endpoint_id=endpoint,
            url=url,
            events=[] if all_events else event,
            description=description,
            enabled=enable,
            allow_private=_config().allow_private_targets,
        )
    _print(found.as_dict(), as_json)


@app.command("rotate-secret")
def rotate_secret(
    endpoint: Annotated[int, typer.Argument(metavar="ENDPOINT")],
    advertiser: Advertiser,
    overlap_hours: Annotated[
        float,
        typer.Option("--overlap-hours", help="How long the old secret signs too (0: not at all)."),
    ] = 24.0,
    as_json: AsJson = False,
) -> None:
    """A new signing secret, printed this once; the old one signs beside it for a while."""
    ctx = open_context()
    with refusals(OPTIONS):
        made = webhooks.rotate_secret(
            ctx,
            advertiser=advertiser,
            endpoint_id=endpoint,
            overlap=timedelta(hours=overlap_hours),
        )
    _with_secret(made, as_json)


@app.command("deliveries")
def deliveries(
    endpoint: Annotated[int, typer.Argument(metavar="ENDPOINT")],
    advertiser: Advertiser,
    state: Annotated[
        str | None, typer.Option("--state", help="pending, sending, delivered, failed, dropped")
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    before: Annotated[int | None, typer.Option("--before", help="Older than this id.")] = None,
    as_json: AsJson = False,
) -> None:
    """An endpoint's deliveries, newest first."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = webhooks.deliveries(
            ctx, advertiser=advertiser, endpoint_id=endpoint, before=before, limit=limit,
            state=state,
        )  # fmt: skip
    _listing(
        found, as_json,
        lambda d: f"{d.id}\t{d.event_type}\t{d.state}\t{d.attempts} attempt(s)\t"
        f"{_status(d.last_status)}",
    )  # fmt: skip


@app.command("attempts")
def attempts(
    delivery: Annotated[int, typer.Argument(metavar="DELIVERY")],
    advertiser: Advertiser,
    as_json: AsJson = False,
) -> None:
    """Every attempt of a delivery."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = webhooks.attempts(ctx, advertiser=advertiser, delivery_id=delivery)
    _listing(
        found, as_json,
        lambda a: f"{a.attempted_at.isoformat()}\t{_status(a.status)}\t{a.duration_ms} ms\t"
        f"{a.error or ''}",
    )  # fmt: skip


@app.command("replay")
def replay(
    delivery: Annotated[int, typer.Argument(metavar="DELIVERY")],
    advertiser: Advertiser,
    as_json: AsJson = False,
) -> None:
    """Deliver a delivery's event again (same webhook-id) to its endpoint."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = webhooks.replay(ctx, advertiser=advertiser, delivery_id=delivery)
    _print(found.as_dict(), as_json)


@app.command("deliver")
def deliver(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Return once nothing is due now.")
    ] = False,
    log_level: LogLevel = "info",
    log_format: LogFormat = "json",
    as_json: AsJson = False,
    parent: Annotated[
        int | None,
        typer.Option("--parent", hidden=True, help="Stop when this process is gone."),
    ] = None,
) -> None:
    """Deliver due webhooks until interrupted (what `tambour worker` does beside sending)."""
    configure_logs(log_level, log_format)
    ctx = open_context()
    config = _config()
    settings = DeliverySettings(
        concurrency=config.concurrency,
        timeout=config.timeout,
        allow_private=config.allow_private_targets,
        retry_after=tuple(timedelta(seconds=s) for s in config.retry_after),
    )
    engine = make_engine(Settings.from_env().database_url)  # pooled: it runs for long
    deliverer = Deliverer(
        engine,
        owner=f"webhooks:{socket.gethostname()}:{os.getpid()}",
        actor=ctx.actor,
        keys=ctx.keys,
        clock=running_clock(),
        settings=settings,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        watch = asyncio.create_task(_watch_parent(parent, stop)) if parent else None
        try:
            await deliverer.run(until_idle=until_idle, stop=stop)
        finally:
            if watch is not None:
                watch.cancel()

    try:
        with refusals():
            asyncio.run(run())
    finally:
        engine.dispose()
    report = deliverer.report
    payload = {
        "delivered": report.delivered,
        "failed_attempts": report.failed_attempts,
        "rescued": report.rescued,
        "by_status": report.by_status,
    }
    if as_json:
        print_json(payload)
    else:
        typer.echo(
            f"{report.delivered} delivered, {report.failed_attempts} failed attempt(s)"
            + (f", {report.rescued} rescued" if report.rescued else "")
        )


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """A worker's deliverer stops when its worker is gone (killed without a word)."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    stop.set()
