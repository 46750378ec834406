"""`tambour complaints`: 33700 spam reports taken in and matched to the messages sent, complaint
rates per 1,000 messages, and the threshold that pauses an advertiser's campaigns
(`tambour campaign resume` lifts a pause)."""

from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import fail, print_json
from tambour.contacts.values import paris_time
from tambour.services import complaints
from tambour.services.complaints import ComplaintImport, ComplaintRates, Rate

app = typer.Typer(
    no_args_is_help=True, help="33700 complaints: reports in, rates, automatic pauses."
)

Owner = Annotated[
    str | None,
    typer.Option(
        "--advertiser",
        help="The advertiser's slug: its own messages only. Without: the operator's file, "
        "each report going to the advertiser that owns its sender.",
    ),
]
Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OPTIONS = {"slug": "--advertiser", "path": "FILE", "per_1000": "--per-1000"}


def _rate(rate: Rate) -> str:
    said = "no message sent" if rate.per_1000 is None else f"{rate.per_1000:g} per 1,000"
    return f"{rate.complaints:,} complaint(s) / {rate.sent:,} sent: {said}"


def print_import(done: ComplaintImport) -> None:
    typer.echo(
        f"{done.origin}: {done.received:,} report(s) read, {done.recorded:,} recorded "
        f"({done.matched:,} matched to a message, {done.unmatched:,} unmatched, "
        f"{done.unattributed:,} without advertiser), {done.already:,} known already"
    )
    for rejected in done.rejected[:20]:
        typer.echo(
            f"  {done.origin}: line {rejected.line}: {rejected.field}: {rejected.reason}", err=True
        )
    if len(done.rejected) > 20:
        typer.echo(f"  ... and {len(done.rejected) - 20:,} more rejected line(s)", err=True)
    for paused in done.paused:
        typer.echo(
            f"PAUSED {paused.advertiser}: {paused.campaign!r} ({paused.held:,} message(s) held): "
            f"{paused.per_1000:g} complaint(s) per 1,000 messages, threshold "
            f"{paused.threshold:g}; the operator resumes it with `tambour campaign resume`"
        )


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The 33700 file (CSV).")],
    advertiser: Owner = None,
    as_json: AsJson = False,
) -> None:
    """Take in a 33700 file: each report matched to the message sent (same number and sender,
    sent before it, within 30 days), recorded as a complaint and its number suppressed for
    good; an advertiser past its threshold has its running campaigns paused."""
    ctx = open_context()
    with refusals(OPTIONS):
        done = complaints.import_file(ctx, path=path, slug=advertiser)
    if as_json:
        print_json(done.as_dict())
        return
    print_import(done)


def _print_rates(found: ComplaintRates) -> None:
    whose = "its own" if found.own_threshold else "the operator's"
    typer.echo(
        f"{found.slug}, last {found.window_days} days: {_rate(found.advertiser)} "
        f"(threshold {found.threshold:g} per 1,000, {whose}, from {found.min_messages:,} "
        f"messages){'; THRESHOLD CROSSED' if found.crossed else ''}"
    )
    if found.unmatched:
        typer.echo(f"  {found.unmatched:,} report(s) matched no message")
    for rate in found.campaigns:
        typer.echo(f"  campaign {rate.name!r}: {_rate(rate)}")
    for rate in found.senders:
        typer.echo(f"  sender {rate.name}: {_rate(rate)}")
    for paused in found.paused:
        typer.echo(
            f"  PAUSED {paused.name!r} since {paris_time(paused.paused_at)} (Paris): "
            f"{paused.held:,} message(s) waiting"
        )


@app.command("report")
def report(advertiser: Advertiser, as_json: AsJson = False) -> None:
    """Complaint rates per 1,000 messages sent over the last 30 days: the advertiser's, each
    campaign's and each sender's; its campaigns paused now."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = complaints.rates(ctx, slug=advertiser)
    if as_json:
        print_json(found.as_dict())
        return
    _print_rates(found)


@app.command("list")
def list_cmd(
    advertiser: Advertiser,
    state: Annotated[str | None, typer.Option("--state", help="matched or unmatched.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    as_json: AsJson = False,
) -> None:
    """The advertiser's reports, newest first (the number by the start of its keyed hash)."""
    if state is not None and state not in ("matched", "unmatched"):
        fail(f"--state: {state!r} is not one of matched, unmatched")
    ctx = open_context()
    with refusals(OPTIONS):
        found = complaints.list_reports(ctx, slug=advertiser, state=state, limit=limit)
    if as_json:
        print_json([r.as_dict() for r in found])
        return
    if not found:
        typer.echo("no report")
    for r in found:
        about = f"campaign {r.campaign!r}, message {r.message_id}" if r.campaign else r.state
        typer.echo(f"{r.id:>6}  {paris_time(r.reported_at)}  {r.sender:<11} {r.phone_ref}  {about}")


@app.command("threshold")
def threshold(
    advertiser: Advertiser,
    per_1000: Annotated[
        float | None,
        typer.Option("--per-1000", help="Its own threshold: complaints per 1,000 messages."),
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Take the operator's threshold again.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Give the advertiser its own pause threshold, or the operator's again (--default)."""
    if (per_1000 is None) == (not default):
        fail("give --per-1000 RATE or --default")
    ctx = open_context()
    with refusals(OPTIONS):
        found = complaints.set_threshold(ctx, slug=advertiser, per_1000=per_1000)
    if as_json:
        print_json(found.as_dict())
        return
    _print_rates(found)


@app.command("paused")
def paused(advertiser: Owner = None, as_json: AsJson = False) -> None:
    """The campaigns paused now, every advertiser's (or one's): what the operator resumes."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = complaints.paused_campaigns(ctx, slug=advertiser)
    if as_json:
        print_json([p.as_dict() for p in found])
        return
    if not found:
        typer.echo("no campaign is paused")
    for p in found:
        typer.echo(
            f"{p.advertiser}: {p.name!r} paused since {paris_time(p.paused_at)} (Paris), "
            f"{p.held:,} message(s) waiting"
        )
