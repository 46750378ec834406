"""`tambour links`: the clicks of short links (issue 17)."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import print_json
from tambour.services import click_reports, clicks

app = typer.Typer(no_args_is_help=True, help="Short links and their clicks.")


@app.command("erase-clicks")
def erase_clicks(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            max=3650,
            help="Keep this many days of clicks (default: TAMBOUR_CLICKS_RETENTION_DAYS, 90).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Erase the clicks older than the retention period (audited with the count). The job
    runners do it daily."""
    ctx = open_context()
    with refusals():
        done = clicks.erase_expired(ctx, kept_days=days)
    if as_json:
        print_json({"clicks": done.clicks, "before": done.before.isoformat()})
    else:
        typer.echo(f"{done.clicks} click(s) older than {done.before:%Y-%m-%d %H:%M} UTC erased")


@app.command("report")
def report(
    campaign: Annotated[str, typer.Argument(help="The campaign's name.")],
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="Its advertiser (when names repeat).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The clicks of a campaign's short links: people's, by territory, variant and day, and
    those left out (bots, link scanners, prefetches) by why. A click is never consent."""
    ctx = open_context()
    with refusals():
        found = click_reports.report(ctx, name=campaign, slug=advertiser)
    if as_json:
        print_json(found.as_dict())
        return
    typer.echo(
        f"{found.campaign}: {found.clicks:,} click(s) by people, on {found.people:,} message(s)"
    )
    left = ", ".join(f"{why} {n:,}" for why, n in found.not_counted.items()) or "none"
    typer.echo(f"  not counted (bots, scanners, prefetches): {left}")
    for title, counts in (
        ("territory", found.by_territory),
        ("variant", found.by_variant),
        ("day (UTC)", found.by_day),
    ):
        for key, n in counts.items():
            typer.echo(f"  {title:<10} {key or '-':<24} {n:>10,}")
