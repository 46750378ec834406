"""`tambour retention`: apply the retention limits (issue 18; services/retention.py)."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import print_json
from tambour.services import retention

app = typer.Typer(no_args_is_help=True, help="Retention limits: what may no longer be kept.")

_ROWS = (
    ("contacts_erased", "contacts erased (their data lapsed: 3 years without a new fact)"),
    ("contacts_waiting", "lapsed contacts kept until their open data request is answered"),
    ("campaigns", "campaigns whose message texts went"),
    ("message_texts", "message texts removed"),
    ("plan_texts", "plan row texts removed (sealed again)"),
    ("replies", "reply texts removed"),
    ("webhook_events", "webhook events deleted or scrubbed"),
    ("form_submissions", "unconfirmed form submissions deleted"),
)


@app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; change nothing.")
    ] = False,
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="Only this advertiser (its slug).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Erase the contacts whose data lapsed and remove the message texts, reply texts, clicks
    and webhook events past their periods (TAMBOUR_TEXTS_RETENTION_DAYS,
    TAMBOUR_REPLIES_RETENTION_DAYS, TAMBOUR_CLICKS_RETENTION_DAYS). Audited with its counts.
    The job runners run it daily."""
    ctx = open_context()
    with refusals():
        report = retention.run(ctx, dry_run=dry_run, slug=advertiser)
    if as_json:
        print_json(report.as_dict())
        return
    counts = report.counts()
    verb = "would go" if dry_run else "done"
    typer.echo(
        f"Retention run ({verb}), {report.contacts_read:,} contact(s) read in "
        f"{report.seconds:.1f} s:"
    )
    for name, said in _ROWS:
        typer.echo(f"  {counts.get(name, 0):>10,}  {said}")
    typer.echo(f"  {report.clicks:>10,}  short-link clicks erased")
