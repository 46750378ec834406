"""`tambour contacts`: import, show, export."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import create_file, print_json, progress, within
from tambour.services import contacts, importer

app = typer.Typer(no_args_is_help=True, help="Contacts and their evidence.")

Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
MAX_WORKERS = 64


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV in the canonical format (rules.md §2).")],
    advertiser: Advertiser,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML file mapping your column names.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything, keep nothing.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Rejects file (default: beside the input).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            callback=within("--workers", 0, MAX_WORKERS),
            help="Processes reading and preparing rows while this one writes; 0: none "
            "(default: one per core for files over 2 MB).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import a contact file as evidence; invalid rows go whole to the rejects file."""
    ctx = open_context()
    with refusals(), progress(f"importing {file.name}", "rows", quiet=as_json) as advance:
        summary = importer.import_contacts(
            ctx,
            slug=advertiser,
            path=file,
            mapping_path=mapping,
            dry_run=dry_run,
            rejects_path=rejects,
            progress=advance,
            workers=workers,
        )
    if as_json:
        print_json(summary.as_dict())
        return
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{verb} {summary.rows:,} rows of {file.name} in {summary.seconds:.1f} s: "
        f"{summary.created:,} created, {summary.updated:,} updated, "
        f"{summary.unchanged:,} unchanged, {summary.rejected:,} rejected"
    )
    for reason, n in summary.rejected_by_reason.most_common():
        typer.echo(f"  {n:>8,}  {reason}")
    if summary.rejects_path:
        typer.echo(f"rejected rows, with their line, field and reason: {summary.rejects_path}")


@app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="The contact's phone number, any notation.")],
    advertiser: Advertiser,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A contact's evidence timeline and standing (which bases hold today, and why not)."""
    ctx = open_context()
    with refusals():
        payload = contacts.show(ctx, slug=advertiser, number=number)
    if as_json:
        print_json(payload)
        return
    contact = payload["contact"]
    typer.echo(f"{contact['e164']} ({contact['kind']}) of {advertiser}")
    for event in payload["evidence"]:
        typer.echo(f"  {event['at'] or 'undated':32} {event['kind']:18} {event['data'] or ''}")
    for nature, verdict in payload["standing"].items():
        outcome = verdict["basis"] or verdict["reason"]
        typer.echo(f"{nature} SMS today: {verdict['decision']} ({outcome})")
        for basis, state in verdict["bases"].items():
            typer.echo(f"    {basis:26} {state}")


@app.command("export")
def export(
    advertiser: Advertiser,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this new file, readable by you only (default: stdout).",
        ),
    ] = None,
) -> None:
    """Write the advertiser's contacts as a canonical CSV (it imports back as is)."""
    ctx = open_context()
    if output is None:
        with refusals():
            contacts.export(ctx, slug=advertiser, out=sys.stdout)
        return
    handle = create_file(output, "--output")
    try:
        with refusals(), handle:
            count = contacts.export(ctx, slug=advertiser, out=handle)
    except BaseException:  # nothing half-written is left behind
        output.unlink(missing_ok=True)
        raise
    typer.echo(f"exported {count:,} contacts of {advertiser} to {output}")
