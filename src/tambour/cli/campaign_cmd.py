"""`tambour campaign`: define, plan, launch, cancel and follow campaigns."""

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn

import typer

from tambour.cli.campaign_report import print_blocks, print_report
from tambour.cli.context import open_context, refusals
from tambour.cli.output import (
    BLOCKED,
    create_file,
    fail,
    listed,
    parse_choice,
    parse_instant,
    print_json,
    progress,
)
from tambour.contacts.values import paris_time
from tambour.outfiles import EXCEL, PLAIN, TableStyle, TableWriter
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import ContentCheck
from tambour.services import (
    ab_tests,
    campaign_edit,
    campaigns,
    complaints,
    plan_reads,
    planner,
    unknown_messages,
)
from tambour.services.campaigns import CampaignOverview
from tambour.services.context import Context

app = typer.Typer(no_args_is_help=True, help="Campaigns: definition, plan, launch.")

Name = Annotated[str, typer.Argument(help="The campaign's name.")]
Owner = Annotated[
    str | None,
    typer.Option("--advertiser", help="The advertiser's slug (needed when two share the name)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]

Variants = Annotated[
    list[str] | None,
    typer.Option(
        "--variant",
        help="A/B test: the text of another variant (B, then C, D), each --variant once; "
        "--text is variant A.",
    ),
]
TestShare = Annotated[
    int | None,
    typer.Option("--test-share", help="A/B test: percent of the audience tested (default 20)."),
]
WinnerByOption = Annotated[
    str | None,
    typer.Option(
        "--winner-by",
        help="A/B test: clicks (the most people following the short link) or optouts (the "
        "fewest opt-outs); default clicks when the text has a short link.",
    ),
]
TestHours = Annotated[
    float | None,
    typer.Option(
        "--test-hours",
        help="A/B test: how long the test lasts once its first message is due (default 4), "
        "before the rest gets the winner.",
    ),
]


def _minutes(hours: float | None) -> int | None:
    return None if hours is None else round(hours * 60)


# The use cases' parameters, as these commands name them (the campaign's name is an argument
# of every command but `create`).
DEFINITION_OPTIONS = {
    "slug": "--advertiser",
    "nature": "--nature",
    "channel": "--channel",
    "sender": "--sender",
    "text": "--text",
    "categories": "--categories",
    "professions": "--professions",
    "tags": "--tags",
    "start": "--start",
    "send_by": "--send-by",
    "transaction_field": "--transaction-field",
    "variants": "--variant",
    "test_share": "--test-share",
    "winner_by": "--winner-by",
    "test_duration": "--test-hours",
}
CREATE_OPTIONS = {**DEFINITION_OPTIONS, "name": "--name"}
NAMED_OPTIONS = {"slug": "--advertiser"}


def _hints(name: str) -> dict[str, str]:
    """What to run next, after a refusal of these codes about the campaign `name`."""
    plan = f"`tambour campaign plan {name!r}`"
    return {
        "plan_missing": f": run {plan} and read it first",
        "plan_stale": f"; run {plan} again, read it, then launch",
        "recipients_changed": f": run {plan} again, read it, then launch",
        "campaign_launched": f" (`tambour campaign cancel {name!r}`)",
    }


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
        typer.Option(
            "--start", help="09/12/2026 10:00 or ISO 8601, Paris time (default: when planned)."
        ),
    ] = None,
    send_by: Annotated[
        str | None, typer.Option("--send-by", help="The deadline, as --start.")
    ] = None,
    transaction_field: Annotated[
        str | None,
        typer.Option(
            "--transaction-field",
            help="Transactional: the contact field holding each recipient's transaction "
            "(order, appointment or delivery reference).",
        ),
    ] = None,
    variant: Variants = None,
    test_share: TestShare = None,
    winner_by: WinnerByOption = None,
    test_hours: TestHours = None,
    as_json: AsJson = False,
) -> None:
    """Define a campaign. Nothing is decided yet: `campaign plan` does it. With --variant, an
    A/B test: a share of the audience gets a variant at random, the rest the winner."""
    if text == "-":
        text = sys.stdin.read().removesuffix("\n")
    _refuse_nul(("--name", name), ("--text", text), ("--categories", categories),
                ("--professions", professions), ("--tags", tags),
                *(("--variant", v) for v in variant or ()))  # fmt: skip
    starts = parse_instant(start, "--start") if start else None
    deadline = parse_instant(send_by, "--send-by") if send_by else None
    kind = parse_choice(nature, Nature, "--nature")
    medium = parse_choice(channel, Channel, "--channel")
    ctx = open_context()
    with refusals(CREATE_OPTIONS):
        done = campaigns.create(
            ctx, slug=advertiser, name=name, nature=kind, channel=medium, sender=sender,
            text=text, categories=listed(categories), professions=listed(professions),
            tags=listed(tags), start=starts, send_by=deadline,
            transaction_field=transaction_field, variants=variant or (),
            test_share=test_share, winner_by=winner_by, test_minutes=_minutes(test_hours),
        )  # fmt: skip
    said = f"created {done.campaign.name!r} for {advertiser}"
    _print_defined(done.campaign, done.content, said, as_json)


def _refuse_nul(*options: tuple[str, str | None]) -> None:
    """A NUL in a value (a file read from stdin): no database stores it, no phone shows it."""
    for option, value in options:
        if value is not None and "\x00" in value:
            fail(f"{option}: holds a NUL character (U+0000) at character {value.index(chr(0)) + 1}")


def _print_defined(
    campaign: campaigns.Campaign, content: ContentCheck, said: str, as_json: bool
) -> None:
    """A campaign just created or edited, with the blocks its content has (exit 3 if any)."""
    blocks = [{"code": b.code.value, "message": b.message} for b in content.blocks]
    if as_json:
        print_json({"campaign": campaign.as_dict(), "blocks": blocks})
    else:
        typer.echo(f"{said} ({campaign.nature.value})")
        if campaign.nature.value == "commercial" and not campaign.categories:
            typer.echo(
                "  no --categories: existing customers can be reached only with their consent"
            )
        if blocks:
            print_blocks(campaign.name, blocks)
        else:
            typer.echo(f"next: tambour campaign plan {campaign.name!r}")
    if blocks:
        _blocked()


def _blocked() -> NoReturn:
    """A block stands: exit 3, so that a script stops here (the output said which)."""
    raise typer.Exit(BLOCKED)


@app.command("edit")
def edit(
    name: Name,
    advertiser: Owner = None,
    text: Annotated[
        str | None, typer.Option("--text", help="The new message; - reads stdin.")
    ] = None,
    sender: Annotated[str | None, typer.Option("--sender", help="Another sender ID.")] = None,
    nature: Annotated[
        str | None,
        typer.Option("--nature", help="commercial, non_commercial, political or transactional."),
    ] = None,
    categories: Annotated[
        str | None, typer.Option("--categories", help="'a;b' product categories ('' for none).")
    ] = None,
    professions: Annotated[
        str | None, typer.Option("--professions", help="'x;y' professions aimed at (B2B).")
    ] = None,
    tags: Annotated[
        str | None, typer.Option("--tags", help="'t;u' contacts with any of these tags.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start", help="09/12/2026 10:00 or ISO 8601, Paris time; 'now': as soon as planned."
        ),
    ] = None,
    send_by: Annotated[
        str | None,
        typer.Option("--send-by", help="The deadline, as --start; 'none': no deadline."),
    ] = None,
    transaction_field: Annotated[
        str | None,
        typer.Option(
            "--transaction-field", help="Transactional: the contact field of the transaction."
        ),
    ] = None,
    variant: Variants = None,
    no_ab_test: Annotated[
        bool, typer.Option("--no-ab-test", help="Remove the A/B test: one text for everyone.")
    ] = False,
    test_share: TestShare = None,
    winner_by: WinnerByOption = None,
    test_hours: TestHours = None,
    as_json: AsJson = False,
) -> None:
    """Change a draft or planned campaign (its plan is dropped: plan again, then launch).
    Exit 3 when the new text or definition has a block."""
    if text == "-":
        text = sys.stdin.read().removesuffix("\n")
    _refuse_nul(("--text", text), ("--categories", categories),
                ("--professions", professions), ("--tags", tags),
                *(("--variant", v) for v in variant or ()))  # fmt: skip
    keep = campaign_edit.KEEP
    changes = campaign_edit.Changes(
        nature=keep if nature is None else parse_choice(nature, Nature, "--nature"),
        sender=keep if sender is None else sender,
        text=keep if text is None else text,
        categories=keep if categories is None else listed(categories),
        professions=keep if professions is None else listed(professions),
        tags=keep if tags is None else listed(tags),
        start=_instant_change(start, "--start", "now"),
        send_by=_instant_change(send_by, "--send-by", "none"),
        transaction_field=keep if transaction_field is None else transaction_field,
        variants=[] if no_ab_test else variant if variant else keep,
        test_share=keep if test_share is None else test_share,
        winner_by=keep if winner_by is None else winner_by,
        test_minutes=keep if test_hours is None else round(test_hours * 60),
    )
    ctx = open_context()
    with refusals(DEFINITION_OPTIONS, hints=_hints(name)):
        done = campaign_edit.edit(ctx, name=name, slug=advertiser, changes=changes)
    said = f"edited {done.campaign.name!r}: {', '.join(done.changed)} changed"
    if done.plan_dropped:
        said += "; its plan was dropped"
    _print_defined(done.campaign, done.content, said, as_json)


def _instant_change(
    value: str | None, option: str, clear: str
) -> datetime | campaign_edit.Keep | None:
    if value is None:
        return campaign_edit.KEEP
    if value.strip().casefold() == clear:
        return None
    return parse_instant(value, option)


@app.command("delete")
def delete(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Delete a draft or planned campaign and its plan; the audit log keeps that it existed
    and was deleted, and its name can be used again."""
    ctx = open_context()
    with refusals(NAMED_OPTIONS, hints=_hints(name)):
        done = campaign_edit.delete_campaign(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(asdict(done))
        return
    typer.echo(
        f"deleted {done.name!r} of {done.advertiser} ({done.was}"
        + (f", {done.plan_rows:,} plan row(s) removed)" if done.plan_rows else ")")
    )


def _write_csv(
    ctx: Context, campaign: campaigns.Campaign, handle: IO[str], style: TableStyle
) -> None:
    """Every row of the plan; no cell a spreadsheet would run (`outfiles.spreadsheet_cell`)."""
    fields = list(plan_reads.ROW_FIELDS)
    table = TableWriter(handle, style, fields, ("send_at",))
    for row in plan_reads.plan_rows_of(ctx, campaign):
        table.row([row.get(field, "") for field in fields])


def _stream_json(ctx: Context, campaign: campaigns.Campaign, summary: dict[str, Any]) -> None:
    """The plan as one JSON document, its rows streamed one a line (never all in memory)."""
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
    for row in plan_reads.plan_rows_of(ctx, campaign):
        out.write(separator + dumps(row))
        separator = ",\n"
    out.write("\n]}\n")
    out.flush()


def _plan_hints(name: str) -> dict[str, str]:
    return {**_hints(name), "campaign_launched": " (see `tambour campaign status`)"}


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
    excel: Annotated[
        bool,
        typer.Option(
            "--excel",
            help="With --csv: as French Excel opens it (semicolons, send times as "
            "dd/mm/yyyy hh:mm:ss in Paris time).",
        ),
    ] = False,
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
    if excel and csv_path is None:
        fail("--excel: it is the form of the --csv file; name one with --csv")
    ctx = open_context()
    # Created (new, owner-only) before planning: a path that is taken is refused at once.
    table = create_file(csv_path, "--csv") if csv_path is not None else None
    try:
        with (
            refusals(NAMED_OPTIONS, hints=_plan_hints(name)),
            progress(f"planning {name}", "contacts", quiet=as_json) as advance,
        ):
            campaign = planner.plan(
                ctx, name=name, slug=advertiser, workers=workers, progress=advance
            )
        if table is not None:
            with refusals(), table:
                _write_csv(ctx, campaign, table, EXCEL if excel else PLAIN)
    except BaseException:  # no empty or half-written file left behind
        if table is not None and csv_path is not None:
            table.close()
            csv_path.unlink(missing_ok=True)
        raise
    assert campaign.plan_generation is not None and campaign.plan_summary is not None
    summary = campaign.plan_summary
    blocks = summary.get("blocks", [])
    with refusals():
        if as_json:
            _stream_json(ctx, campaign, summary)
        else:
            samples = plan_reads.samples_of(ctx, campaign)
    if not as_json:
        print_report(campaign, summary, blocks, samples)
        if csv_path is not None:
            typer.echo(f"every row, with its decision and text: {csv_path}")
    if blocks:
        _blocked()


@app.command("launch")
def launch(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Freeze the plan and queue one message per `send` row, each due at its send time."""
    ctx = open_context()
    with refusals(NAMED_OPTIONS, hints=_hints(name)):
        done = campaigns.launch(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(done.as_dict())
        return
    typer.echo(
        f"launched {done.campaign!r}: {done.queued:,} message(s) queued "
        f"({done.parts or 0:,} part(s)); follow it with `tambour campaign status {name!r}`"
    )
    if done.held:
        typer.echo(
            f"  A/B test: {done.held:,} more message(s) wait for the winner's text; follow the "
            f"test with `tambour campaign ab {name!r}`"
        )


@app.command("ab")
def ab_report(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """An A/B test's figures: each variant's messages sent, people clicking and opting out,
    the variant leading, and the winner once chosen."""
    ctx = open_context()
    with refusals(NAMED_OPTIONS):
        found = ab_tests.report(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(found.as_dict())
        return
    typer.echo(
        f"{found.campaign!r}: A/B test of {len(found.variants)} variants on "
        f"{found.test_share}% of the audience, winner by {found.winner_by}"
    )
    for each in found.variants:
        typer.echo(
            f"  {each.label}: {each.messages:,} message(s), {each.sent:,} sent, "
            f"{each.clicked:,} clicked ({_rate(each.click_rate)}), {each.opted_out:,} opted "
            f"out ({_rate(each.optout_rate)})"
        )
    if found.winner is not None:
        typer.echo(f"  winner: {found.winner} (chosen {found.winner_at:%Y-%m-%d %H:%M} UTC)")
    elif found.test_ends_at is not None:
        lead = f"{found.leading} leads" if found.leading else "nothing sent yet"
        typer.echo(f"  {lead}; the test ends {found.test_ends_at:%Y-%m-%d %H:%M} UTC")
    typer.echo(f"  the rest: {found.rest:,} message(s), {found.rest_held:,} waiting for the winner")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@app.command("winner")
def choose_winner(
    name: Name,
    advertiser: Owner = None,
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant", help="Send this variant to the rest now, ending the test sooner."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Choose an A/B test's winner and give the rest of the audience its text: by the figures
    once the test is over (the job runners do it by themselves), or the --variant named."""
    ctx = open_context()
    hints = {"test_running": " (`--variant B`, say)"}
    with refusals({**NAMED_OPTIONS, "variant": "--variant"}, hints=hints):
        done = ab_tests.choose(ctx, name=name, slug=advertiser, variant=variant)
    if as_json:
        print_json(done.as_dict())
        return
    how = "named by hand" if done.by == "hand" else f"by {done.by}"
    if not done.measured and done.by != "hand":
        how += ", nothing of the test was sent: A, the campaign's text, is kept"
    typer.echo(f"{done.campaign!r}: variant {done.winner} won ({how})")
    typer.echo(f"  {done.released:,} message(s) of the rest queued with its text")
    if done.cancelled:
        typer.echo(f"  {done.cancelled:,} cancelled: the text cannot be made for them today")


@app.command("cancel")
def cancel(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Cancel the campaign: its queued messages are withdrawn."""
    ctx = open_context()
    with refusals(NAMED_OPTIONS, hints=_hints(name)):
        done = campaigns.cancel(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(done.as_dict())
        return
    typer.echo(f"cancelled {done.campaign!r}: {done.withdrawn:,} queued message(s) withdrawn")
    if done.already_sent:
        typer.echo(f"  {done.already_sent:,} already handed to the carrier cannot be recalled")


@app.command("resume")
def resume(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Resume a campaign paused for its advertiser's 33700 complaint rate (the operator's
    decision): its waiting messages are queued again; those whose send-by passed expire."""
    ctx = open_context()
    with refusals(NAMED_OPTIONS):
        done = complaints.resume(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(done.as_dict())
        return
    typer.echo(f"resumed {done.campaign!r}: {done.requeued:,} message(s) queued again")


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
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Without --yes: write the list to this new CSV file (readable by you only) "
            "instead of printing it.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Without --yes: list the campaign's unknown messages for the carrier's support to check
    (CSV: message_id, recipient, sender, parts, carrier, carrier_ids, may_have_left_from,
    in_doubt_since, reason, detail; times in UTC). With --yes, once the carrier's records show
    they did not leave: queue them again (a worker sends them, re-checking opt-outs and the
    window). Messages the carrier took some parts of stay unknown. Never done by itself: a
    message sent twice is worse."""
    ctx = open_context()
    if not yes:
        _list_unknown(ctx, name, advertiser, csv_path, as_json)
        return
    if csv_path is not None:
        fail("--csv: only without --yes (the list of messages to check)")
    with refusals(NAMED_OPTIONS):
        done = unknown_messages.requeue_unknown(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(asdict(done))
        return
    typer.echo(f"{done.campaign!r}: {done.requeued:,} unknown message(s) queued again")
    if done.kept_unknown:
        typer.echo(f"  {done.kept_unknown:,} stay unknown: the carrier took some of their parts")


UNKNOWN_FIELDS = (
    "message_id", "recipient", "sender", "parts", "carrier", "carrier_ids",
    "may_have_left_from", "in_doubt_since", "reason", "detail",
)  # fmt: skip


def _list_unknown(
    ctx: Context, name: str, slug: str | None, csv_path: Path | None, as_json: bool
) -> None:
    with refusals(NAMED_OPTIONS):
        listed = unknown_messages.to_check(ctx, name=name, slug=slug)
    if as_json:
        print_json([_unknown_json(message) for message in listed])
        return
    handle = create_file(csv_path, "--csv") if csv_path is not None else None
    out = handle or sys.stdout
    try:
        table = TableWriter(out, PLAIN, UNKNOWN_FIELDS, ("may_have_left_from", "in_doubt_since"))
        for m in listed:
            table.row(
                (m.message_id, m.recipient, m.sender, m.parts, m.carrier or "",
                 " ".join(m.carrier_ids), m.may_have_left_from, m.in_doubt_since,
                 m.reason or "", m.detail or "")
            )  # fmt: skip
    finally:
        if handle is not None:
            handle.close()
    where = f" in {csv_path}" if csv_path is not None else ""
    typer.echo(
        f"{len(listed):,} unknown message(s) of {name!r}{where}: ask the carrier's support "
        "whether it took them (recipient, sender, from the time given); for those it did "
        "not, run again with --yes"
        if listed
        else f"{name!r} has no unknown message",
        err=True,
    )


def _unknown_json(message: unknown_messages.UnknownMessage) -> dict[str, Any]:
    found = asdict(message)
    for key in ("may_have_left_from", "in_doubt_since"):
        found[key] = found[key].isoformat() if found[key] else None
    found["carrier_ids"] = list(message.carrier_ids)
    return found


def _counts(found: CampaignOverview) -> str:
    plan = found.plan
    planned = (
        f"plan: {plan.send:,} send, {plan.exclude:,} exclude, {plan.parts:,} part(s)"
        + (f", BLOCKED ({', '.join(b['code'] for b in plan.blocks)})" if plan.blocks else "")
        if plan
        else "not planned"
    )
    messages = ", ".join(f"{state} {n:,}" for state, n in found.messages.items() if n)
    if found.messages.get("recorded"):
        messages += " (recorded: not sent, record-only transport)"
    if found.messages.get("held"):
        messages += " (held: the A/B test's rest, waiting for the winner)"
    return f"{planned}; messages: {messages or 'none'}"


def _status_said(found: CampaignOverview) -> str:
    """The status, with when a finished campaign ended, in Paris time."""
    ended = found.campaign.finished_at
    if found.status == "finished" and ended is not None:
        return f"finished {paris_time(ended)} (Paris)"
    paused = found.campaign.paused_at
    if found.status == "paused" and paused is not None:
        return f"PAUSED {paris_time(paused)} (Paris) for its 33700 complaint rate"
    return found.status


@app.command("status")
def status(name: Name, advertiser: Owner = None, as_json: AsJson = False) -> None:
    """The campaign's state and its messages counted by state."""
    ctx = open_context()
    with refusals(NAMED_OPTIONS):
        found = campaigns.status(ctx, name=name, slug=advertiser)
    if as_json:
        print_json(found.as_dict())
        return
    campaign = found.campaign
    typer.echo(f"{campaign.name!r} of {campaign.advertiser.slug}: {_status_said(found)}")
    typer.echo(f"  {_counts(found)}")
    for state, reasons in found.reasons.items():
        said = ", ".join(f"{why}: {n:,}" for why, n in sorted(reasons.items()))
        typer.echo(f"  {state}: {said}")
    carriers = found.carriers
    if len(carriers) > 1 or any(carriers):  # several, or one named: say which took what
        for carrier, states in carriers.items():
            said = ", ".join(f"{state} {n:,}" for state, n in states.items())
            typer.echo(f"  carrier {carrier or '(the one [transport])'}: {said}")
    if found.messages.get("unknown"):
        typer.echo(
            "  unknown: handed to the carrier or not, nobody can tell (a worker stopped, or the "
            "connection dropped, mid-submit); never sent again by itself, so never twice. When "
            "the carrier's records show they were not taken: tambour campaign requeue-unknown"
        )


@app.command("list")
def list_cmd(advertiser: Owner = None, as_json: AsJson = False) -> None:
    """Campaigns, of one advertiser or all, with their status and counts."""
    ctx = open_context()
    with refusals(NAMED_OPTIONS):
        found = campaigns.list_campaigns(ctx, advertiser)
    if as_json:
        print_json([overview.as_dict() for overview in found])
        return
    for overview in found:
        campaign = overview.campaign
        typer.echo(
            f"{campaign.advertiser.slug}: {campaign.name!r} ({campaign.nature.value}, "
            f"{_status_said(overview)}); {_counts(overview)}"
        )


from tambour.cli import campaign_export_cmd  # noqa: E402

app.command("export")(campaign_export_cmd.export)
