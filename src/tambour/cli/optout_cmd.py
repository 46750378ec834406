"""`tambour optout`: oppositions, effective at once."""

from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import parse_choice, print_json
from tambour.rules.codes import OptOutSource
from tambour.services import optouts

app = typer.Typer(no_args_is_help=True, help="Opt-outs and opposition lists.")

Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
Source = Annotated[
    str,
    typer.Option("--source", help="manual, link, sms_stop, complaint_33700 or data_request."),
]
OPTIONS = {"slug": "--advertiser", "source": "--source"}  # the use cases' parameters


@app.command("add")
def add(
    number: Annotated[str, typer.Argument()],
    advertiser: Advertiser,
    source: Source = "manual",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Opt a number out for good (unless the person consents again later)."""
    origin = parse_choice(source, OptOutSource, "--source")
    ctx = open_context()
    with refusals(OPTIONS):
        result = optouts.add(ctx, slug=advertiser, number=number, source=origin)
    if as_json:
        print_json(result.as_dict())
    else:
        known = "known contact" if result.known_contact else "not a contact: suppressed anyway"
        typer.echo(f"opted out ({result.source}, {known})")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="One number a line, or a CSV with a phone column.")],
    advertiser: Advertiser,
    source: Source = "manual",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import an opposition list."""
    origin = parse_choice(source, OptOutSource, "--source")
    ctx = open_context()
    with refusals(OPTIONS):
        result = optouts.import_file(ctx, slug=advertiser, path=file, source=origin)
    if as_json:
        print_json(result.as_dict())
        return
    typer.echo(f"{result.accepted:,} numbers opted out, {len(result.rejected):,} rejected")
    for reject in result.rejected[:20]:
        typer.echo(f"  rejected, line {reject.line}: {reject.field}: {reject.reason}")
    for warning in result.warnings[:20]:
        typer.echo(f"  opted out now, line {warning.line}: {warning.field}: {warning.reason}")


@app.command("check")
def check(
    number: Annotated[str, typer.Argument()],
    advertiser: Advertiser,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Whether a number is on the advertiser's suppression list, since when and why."""
    ctx = open_context()
    with refusals(OPTIONS):
        status = optouts.check(ctx, slug=advertiser, number=number)
    if as_json:
        print_json(status.as_dict())
    elif status.opted_out and status.since is not None:
        typer.echo(f"opted out since {status.since:%Y-%m-%d %H:%M} ({status.source})")
    else:
        typer.echo("not opted out")
