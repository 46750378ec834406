"""`tambour campaign`: define, plan, launch, cancel and follow campaigns."""

import csv
import json
import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from tambour.cli.campaign_report import print_report
from tambour.cli.context import open_context, refusals
from tambour.cli.output import create_file, fail, parse_instant, print_json, progress
from tambour.outfiles import spreadsheet_row
from tambour.services import campaigns, plan_reads, planner, unknown_messages
from tambour.services.context import Context
from tambour.store.engine import reader

app = typer.Typer(no_args_is_help=True, help="Campaigns: definition, plan, launch.")

Name = Annotated[str, typer.Argument(help="The campaign's name.")]
Owner = Annotated[
    str | None,
    typer.Option("--advertiser", help="The advertiser's slug (needed when two share the name)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("create")
def create(
    advertiser: Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")],
    name: Annotated[str, typer.Option("--name", help="A name, unique for the advertiser.")],
    nature: Annotated[
        str,
        typer.Option("--nature", help="commercial, non_commercial, political or transactional."),
    ],
    sender: Annotated[str, typer.Option("--sender", help="One of the advertiser's sender IDs.")],
    text: Annotated[
        str,
        typer.Option(
            "--text",
            help="The message; {field} or {field|default} for any contact field; - reads stdin.",
        ),
    ],
    channel: Annotated[str, typer.Option("--channel", help="sms.")] = "sms",
    categories: Annotated[
        str, typer.Option("--categories", help="'a;b' product categories promoted.")
    ] = "",
    professions: Annotated[
        str, typer.Option("--professions", help="'x;y' professions aimed at (B2B).")
    ] = "",
    tags: Annotated[
        str, typer.Option("--tags", help="'t;u' contacts with any of these tags (default: all).")
    ] = "",
    start: Annotated[
        str | None,
        typer.Option("--start", help="ISO 8601, Paris time without an offset (default: now)."),
    ] = None,
    send_by: Annotated[
        str | None, typer.Option("--send-by", help="ISO 8601 deadline, Paris time by default.")
    ] = None,
    transaction_field: Annotated[
        str | None,
        typer.Option(
            "--transaction-field",
            help="Transactional: the contact field holding each recipient's transaction "
            "(order, appointment or delivery reference).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Define a campaign. Nothing is decided yet: `campaign plan` does it."""
    if text == "-":
        text = sys.stdin.read().removesuffix("\n")
    for option, value in (("--name", name), ("--text", text), ("--categories", categories),
                          ("--professions", professions), ("--tags", tags)):  # fmt: skip
        if "\x00" in value:  # a file read from stdin: no database stores it, no phone shows it
            fail(f"{option}: holds a NUL character (U+0000) at character {value.index(chr(0)) + 1}")
    starts = parse_instant(start, "--start") if start else None
    deadline = parse_instant(send_by, "--send-by") if send_by else None
    ctx = open_context()
    with refusals():
        campaign, content = campaigns.create(
            ctx, slug=advertiser, name=name, nature=nature, channel=channel, sender=sender,
            text=text, categories=categories, professions=professions, tags=tags,
            start=starts, send_by=deadline, transaction_field=transaction_field,
        )  # fmt: skip
    blocks = [{"code": b.code.value, "message": b.message} for b in content.blocks]
    if as_json:
        print_json({"campaign": campaign.as_dict(), "blocks": blocks})
        return
    typer.echo(f"created {campaign.name!r} for {advertiser} ({campaign.nature.value})")
    if campaign.nature.value == "commercial" and not campaign.categories:
        typer.echo("  no --categories: existing customers can be reached only with their consent")
    for block in blocks:
        typer.echo(f"  will block: {block['code']}: {block['message']}")
    typer.echo(f"next: tambour campaign plan {campaign.name!r}")


def _write_csv(ctx: Context, campaign: campaigns.Campaign, handle: IO[str]) -> None:
    """Every row of the plan; no cell a spreadsheet would run (`outfiles.spreadsheet_cell`)."""
    assert campaign.plan_generation is not None
    fields = list(plan_reads.ROW_FIELDS)
    with reader(ctx.engine) as conn:
        writer = csv.writer(handle)
        writer.writerow(spreadsheet_row(fields))
        for row in plan_reads.rows(conn, campaign.id, campaign.plan_generation):
            writer.writerow(spreadsheet_row(row.get(field, "") for field in fields))


def _stream_json(ctx: Context, campaign: campaigns.Campaign, summary: dict[str, Any]) -> None:
    """The plan as one JSON document, its rows streamed one a line (never all in memory)."""
    assert campaign.plan_generation is not None
    blocks = summary.get("blocks", [])
    figures = {k: v for k, v in summary.items() if k not in ("blocks", "seconds")}
    out = sys.stdout
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    out.write('{"campaign": ' + dumps(campaign.as_dict()) + ",\n")
    out.write(' "blocks": ' + dumps([b["code"] for b in blocks]) + ",\n")
    out.write(' "block_details": ' + dumps(blocks) + ",\n")
    out.write(' "summary": ' + dumps(figures) + ",\n")
    out.write(' "rows": [')
    separator = "\n"
    with reader(ctx.engine) as conn:
        for row in plan_reads.rows(conn, campaign.id, campaign.plan_generation):
            out.write(separator + dumps(row))
            separator = ",\n"
    out.write("\n]}\n")
    out.flush()


@app.command("plan")
def plan(
    name: Name,
    advertiser: Owner = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan, every row included, as JSON.")
    ] = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write every row to this CSV file.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            help="Processes deciding contacts (default: one per core for "
            "large audiences, 0: none).",
        ),
    ] = None,
) -> None:
    """Decide every targeted contact, store the plan (replacing the previous one) and print
    the report, or the whole plan as JSON."""
    ctx = open_context()
    # Created (new, owner-only) before planning: a path that is taken is refused at once.
    table = create_file(csv_path, "--csv") if csv_path is not None else None
    try:
        with refusals(), progress(f"planning {name}", "contacts", quiet=as_json) as advance:
            campaign = planner.plan(
                ctx, name=name, slug=advertiser, workers=workers, progress=advance
            )
        if table is not None:
            with refusals(), table:
                _write_csv(ctx, campaign, table)
    except BaseException:  # no empty or half-written file left behind
        if table is not None and csv_path is not None:
            table.close()
            csv_path.unlink(missing_ok=True)
        raise
    assert campaign.plan_generation is not None and campaign.plan_summary is not None
    summary = campaign.plan_summary
    with refusals():
        if as_json:
            _stream_json(ctx, campaign, summary)
            return
        with reader(ctx.engine) as conn:
            samples = plan_reads.samples(
                conn, campaign.id, campaign.plan_generation, plan_reads.most_parts(summary)
            )
    print_report(campaign, summary, summary.get("blocks", []), samples)
    if csv_path is not None:
        typer.echo(f"every row, with its decision and text: {csv_path}")


@app.command("launch")
def launch(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Freeze the plan and queue one message per `send` row, each due at its send time."""
    ctx = open_context()
    with refusals():
        done = campaigns.launch(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(done)
        return
    typer.echo(
        f"launched {done['campaign']!r}: {done['queued']:,} message(s) queued "
        f"({done['parts'] or 0:,} part(s)); follow it with `tambour campaign status {name!r}`"
    )


@app.command("cancel")
def cancel(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Cancel the campaign: its queued messages are withdrawn."""
    ctx = open_context()
    with refusals():
        done = campaigns.cancel(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(done)
        return
    typer.echo(f"cancelled {done['campaign']!r}: {done['withdrawn']:,} queued message(s) withdrawn")
    if done["already_sent"]:
        typer.echo(f"  {done['already_sent']:,} already handed to the carrier cannot be recalled")


@app.command("requeue-unknown")
def requeue_unknown(
    name: Name,
    advertiser: Owner = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            help="Confirm that the carrier's records show these messages were not taken.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Queue again the campaign's unknown messages, once the carrier's records show they did
    not leave (a worker sends them, re-checking opt-outs and the window). Messages the carrier
    took some parts of stay unknown. Never done by itself: a message sent twice is worse."""
    if not yes:
        fail(
            "check with the carrier that these messages were not taken (its records of the "
            "account's submits), then run again with --yes"
        )
    ctx = open_context()
    with refusals():
        done = unknown_messages.requeue_unknown(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(done)
        return
    typer.echo(f"{done['campaign']!r}: {done['requeued']:,} unknown message(s) queued again")
    if done["kept_unknown"]:
        typer.echo(f"  {done['kept_unknown']:,} stay unknown: the carrier took some of their parts")


def _counts(found: dict[str, Any]) -> str:
    plan = found["plan"]
    planned = (
        f"plan: {plan['send']:,} send, {plan['exclude']:,} exclude, {plan['parts']:,} part(s)"
        + (f", BLOCKED ({', '.join(b['code'] for b in plan['blocks'])})" if plan["blocks"] else "")
        if plan
        else "not planned"
    )
    messages = ", ".join(f"{state} {n:,}" for state, n in found["messages"].items() if n)
    return f"{planned}; messages: {messages or 'none'}"


@app.command("status")
def status(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """The campaign's state and its messages counted by state."""
    ctx = open_context()
    with refusals():
        found = campaigns.status(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(found)
        return
    typer.echo(f"{found['name']!r} of {found['advertiser']}: {found['status']}")
    typer.echo(f"  {_counts(found)}")
    for state, reasons in found["reasons"].items():
        said = ", ".join(f"{why}: {n:,}" for why, n in sorted(reasons.items()))
        typer.echo(f"  {state}: {said}")
    if found["messages"].get("unknown"):
        typer.echo(
            "  unknown: handed to the carrier or not, nobody can tell (a worker stopped, or the "
            "connection dropped, mid-submit); never sent again by itself, so never twice. When "
            "the carrier's records show they were not taken: tambour campaign requeue-unknown"
        )


@app.command("list")
def list_cmd(advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Campaigns, of one advertiser or all, with their status and counts."""
    ctx = open_context()
    with refusals():
        found = campaigns.list_campaigns(ctx, advertiser)
    if as_json:
        print_json(found)
        return
    for campaign in found:
        typer.echo(
            f"{campaign['advertiser']}: {campaign['name']!r} ({campaign['nature']}, "
            f"{campaign['status']}); {_counts(campaign)}"
        )
