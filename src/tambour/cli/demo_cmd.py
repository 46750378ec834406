"""`tambour demo`: the sample file through the sample campaigns, decision by decision."""

import stat
from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.campaign_report import print_report
from tambour.cli.context import refusals
from tambour.cli.output import fail, local_iso, parse_instant, print_json
from tambour.demo import (
    DEMO_START,
    LEDGER_DEMO_NOW,
    SAMPLE_ADVERTISER,
    DemoResult,
    run_demo,
    run_ledger_demo,
)
from tambour.demo_dispatch import FAILURE_RATE, RECEIPT_DELAY, DispatchDemo, dispatch_demo
from tambour.services import plan_reads
from tambour.services.context import Context
from tambour.sms.text import count_text
from tambour.store.engine import make_engine


def _row_payload(result: DemoResult) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for r in result.rows:
        d = r.decision
        zone = d.locality.timezones[0] if d.locality else None
        rows.append(
            {
                "line": r.line,
                "external_id": r.row.external_id,
                "phone": r.row.phone.e164 or r.row.phone_raw,
                "territory": d.locality.territory if d.locality else None,
                "decision": d.decision,
                "basis": d.basis,
                "reason": d.reason,
                "deferral": d.deferral,
                "send_at": local_iso(d.send_at, zone) if d.send_at and zone else None,
                "text": r.text,
                "scenario": r.row.extra.get("scenario"),
            }
        )
    return rows


def _print_result(result: DemoResult) -> None:
    c = result.campaign
    typer.echo(f"\n== Campaign {c.name!r} ({c.facts.nature}, {c.facts.channel}, sender {c.sender})")
    if result.content.blocks:
        for block in result.content.blocks:
            typer.echo(f"   BLOCKED {block.code}: {block.message}")
    for row in _row_payload(result):
        code = row["basis"] if row["decision"] == "send" else row["reason"]
        when = f" at {row['send_at']}" if row["send_at"] else ""
        held = f" (held: {row['deferral']})" if row["deferral"] else ""
        typer.echo(
            f"  {row['external_id']:5} {row['phone']!s:16} {row['territory'] or '-':24} "
            f"{row['decision']:7} {code!s:32}{when}{held}"
        )
        typer.echo(f"        {row['scenario']}")
    typer.echo("  Summary:")
    for key, n in sorted(result.summary.items()):
        typer.echo(f"    {n:3}  {key}")
    sample = next((r.text for r in result.rows if r.text), None)
    if sample:
        counted = count_text(sample)
        typer.echo(
            f"  {result.segments} message part(s) to send. Sample ({counted.encoding}, "
            f"{counted.segments} part(s)): {sample}"
        )
        for char in counted.non_gsm:
            typer.echo(f"    {char.char!r} at {char.index} forces UCS-2")
        if counted.suggestion:
            fixed = count_text(counted.suggestion)
            typer.echo(f"    suggestion: {fixed.segments} part(s) in GSM-7 with plain characters")


def _refuse_another_file(database: Path) -> None:
    """The demo deletes and recreates its database: never a file that is not an SQLite one (a
    contact file named by mistake)."""
    try:
        if not stat.S_ISREG(database.stat().st_mode):
            fail(f"--database: {database} is not a file")
        with database.open("rb") as existing:
            start = existing.read(16)
    except FileNotFoundError:
        return
    except OSError as error:
        fail(f"--database: {database}: {error.strerror}")
    if start and start != b"SQLite format 3\x00":
        fail(
            f"--database: {database} is not an SQLite database; the demo recreates its "
            "database at each run and deletes no other file"
        )


def _ledger_demo(database: Path) -> None:
    """The sample story in a real ledger: advertiser, import, campaign, plan, report."""
    with refusals():
        done = run_ledger_demo(database)
    campaign, imported = done.campaign, done.imported
    advertiser = campaign.advertiser
    typer.echo(
        f"Demo ledger: {database} (SQLite, recreated at each run; the demo's clock is "
        f"{LEDGER_DEMO_NOW.isoformat()})"
    )
    typer.echo(
        f"1. advertiser {advertiser.slug}: {advertiser.name}, sender "
        f"{', '.join(advertiser.senders)}, STOP au {advertiser.stop_number}"
    )
    rejected = ", ".join(f"{n} {why}" for why, n in imported.rejected_by_reason.items())
    typer.echo(
        f"2. imported {imported.rows} rows of the bundled sample file: {imported.created} "
        f"contacts, {imported.duplicates} duplicate row(s) folded, {imported.rejected} "
        f"rejected ({rejected or 'none'})"
    )
    typer.echo(f"3. campaign {campaign.name!r} created and planned; its report:\n")
    assert campaign.plan_generation is not None and campaign.plan_summary is not None
    summary = campaign.plan_summary
    engine = make_engine(f"sqlite:///{database}", pooled=False)
    samples = plan_reads.samples_of(Context(engine, actor="demo"), campaign)
    engine.dispose()
    print_report(campaign, summary, summary.get("blocks", []), samples)
    with refusals():
        dispatched = dispatch_demo(
            database, campaign.name, advertiser.slug, advertiser.stop_number or "",
            LEDGER_DEMO_NOW,
        )  # fmt: skip
    _print_dispatch(dispatched)
    typer.echo(
        f"\nExplore it: export TAMBOUR_DATABASE_URL=sqlite:///{database}; then "
        f"`tambour campaign status {campaign.name!r}`, `tambour contacts show "
        f"{dispatched.stop_from or '+33612345601'} --advertiser {advertiser.slug}`, "
        "`tambour audit list`, `tambour audit verify`"
    )


def _print_dispatch(done: DispatchDemo) -> None:
    launched = done.launched
    typer.echo(
        f"\n4. launched: {launched.queued:,} message(s) queued ({launched.parts or 0:,} part(s))"
    )
    typer.echo(
        f"5. dispatched over SMPP to the local SMSC on 127.0.0.1:{done.smsc_port} (receipts "
        f"after {RECEIPT_DELAY:g} s, {FAILURE_RATE:.0%} of parts undeliverable); the demo's "
        "clock skips the hours when nothing is due:"
    )
    for number, stretch in enumerate(done.rounds):
        r = stretch.report
        typer.echo(
            f"   {local_iso(stretch.at, 'Europe/Paris')[:16]} Paris: {r.submitted} submitted, "
            f"{r.receipts} receipt(s), {r.held} held for a later window, "
            f"{r.cancelled} cancelled, {r.expired} expired"
        )
        if number == 0 and done.stop_from:
            outcome = "recorded" if done.stop_acknowledged else "NOT acknowledged"
            typer.echo(
                f"   meanwhile {done.stop_from} replied STOP to {done.stop_number}: {outcome}, "
                "an opt-out (sms_stop) in the ledger, and a confirmation sent back"
            )
    status = done.status
    assert status is not None, "the dispatch demo reads the campaign's status at its end"
    messages = {k: v for k, v in status.messages.items() if v}
    plan = status.plan
    typer.echo("6. final report:")
    typer.echo(
        f"   planned: {plan.targeted if plan else 0} targeted, {plan.send if plan else 0} to "
        f"send, {plan.exclude if plan else 0} excluded:"
    )
    by_reason = (plan.by_reason if plan else None) or {}
    for reason, n in sorted(by_reason.items(), key=lambda item: (-item[1], item[0])):
        typer.echo(f"     {n:3}  {reason}")
    typer.echo("   messages:")
    for state, n in messages.items():
        reasons = status.reasons.get(state, {})
        said = ", ".join(f"{why}: {count}" for why, count in sorted(reasons.items()))
        typer.echo(f"     {n:3}  {state}" + (f" ({said})" if said else ""))
    opted_out = status.reasons.get("cancelled", {}).get("opted_out", 0)
    typer.echo(f"   opted out since the plan: {opted_out} (a STOP reply; its message was not sent)")
    typer.echo(f"   the SMSC received {done.smsc_messages} message(s) (the STOP confirmation too)")
    finished_at = status.campaign.finished_at
    if finished_at is not None:
        ended = local_iso(finished_at, "Europe/Paris")[:16]
        typer.echo(f"   the campaign is {status.status}: its last message settled {ended} Paris")
    else:
        typer.echo(f"   the campaign is {status.status}: messages are still to settle")


def demo(
    at: Annotated[
        str | None,
        typer.Option("--at", help="Campaign start (ISO 8601); default Good Friday 2027 10:00."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database: Annotated[
        Path | None,
        typer.Option(
            "--database",
            help="Run the story in a real ledger in this SQLite file (recreated): sample "
            "advertiser, import, campaign, plan and its report (`make demo`).",
        ),
    ] = None,
) -> None:
    """Decide the bundled sample contact file against three sample campaigns."""
    if database is not None:
        _refuse_another_file(database)
        _ledger_demo(database)
        return
    start = parse_instant(at, "--at") if at else DEMO_START
    results = run_demo(start)
    if as_json:
        print_json(
            {
                "advertiser": SAMPLE_ADVERTISER.name,
                "start": start.isoformat(),
                "campaigns": [
                    {
                        "name": r.campaign.name,
                        "nature": r.campaign.facts.nature,
                        "blocks": [b.code for b in r.content.blocks],
                        "summary": dict(r.summary),
                        "rows": _row_payload(r),
                    }
                    for r in results
                ],
            }
        )
        return
    typer.echo(f"Advertiser {SAMPLE_ADVERTISER.name} (STOP au {SAMPLE_ADVERTISER.stop_number})")
    typer.echo(f"Campaigns start {start.isoformat()} (Paris)")
    for result in results:
        _print_result(result)
