"""The plan report a marketer reads before launching: what will be sent, to whom, when, at what
cost, what is excluded and why, and what blocks the campaign."""

import shlex
from typing import Any

import typer

from tambour.rules.codes import Block
from tambour.rules.labels import label
from tambour.services.campaigns import Campaign
from tambour.services.plan_reads import UNLOCATED, local_iso
from tambour.sms.text import count_text

_WIDTH = 34


def _line(label: str, n: int, total: int) -> str:
    share = f"{100 * n / total:5.1f} %" if total else ""
    return f"    {label:{_WIDTH}} {n:>10,}  {share}"


def _definition(campaign: Campaign) -> None:
    start = (
        local_iso(campaign.start_at, "Europe/Paris")
        if campaign.start_at
        else "as soon as possible (send times from the planning instant)"
    )
    typer.echo(
        f"Campaign {campaign.name!r} of {campaign.advertiser.slug}: {campaign.nature.value} "
        f"{campaign.channel.value}, sender {campaign.sender}"
    )
    by = local_iso(campaign.send_by, "Europe/Paris") if campaign.send_by else "no deadline"
    typer.echo(f"  start {start}, send by {by}")
    audience = "; ".join(campaign.tags) if campaign.tags else "every contact of the advertiser"
    typer.echo(
        f"  audience: {audience}; promotes: {'; '.join(campaign.categories) or '-'}; "
        f"professions: {'; '.join(campaign.professions) or '-'}"
    )
    planned = local_iso(campaign.planned_at, "Europe/Paris")
    took = (campaign.plan_summary or {}).get("seconds")
    typer.echo(f"  planned {planned} in {took} s ({campaign.status})")


def _decisions(summary: dict[str, Any]) -> None:
    """Counts by decision, legal basis and reason, each code with its label in the language of
    the environment (LANG=fr_FR.UTF-8: French, the default; LANG=en_US.UTF-8: English)."""
    total = summary["targeted"]
    typer.echo(f"\n{total:,} contact(s) targeted")
    typer.echo(_line("send", summary["send"], total))
    for basis, n in summary["by_basis"].items():
        typer.echo(f"{_line(f'  {basis}', n, total)}  {label(basis, None)}")
    typer.echo(_line("exclude", summary["exclude"], total))
    for reason, n in summary["by_reason"].items():
        typer.echo(f"{_line(f'  {reason}', n, total)}  {label(reason, None)}")
    if summary["by_deferral"]:
        held = ", ".join(f"{reason} {n:,}" for reason, n in summary["by_deferral"].items())
        typer.echo(f"  held until their window opens: {held}")


def _territories(summary: dict[str, Any]) -> None:
    typer.echo(f"\n  {'territory':32} {'send':>10} {'exclude':>10}  first send (local time)")
    for territory, place in summary["by_territory"].items():
        first = place["first_send_at"] or "-"
        name = territory if territory != UNLOCATED else "(number not located)"
        typer.echo(f"  {name:32} {place['send']:>10,} {place['exclude']:>10,}  {first}")


def _costs(campaign: Campaign, summary: dict[str, Any], samples: list[dict[str, Any]]) -> None:
    typer.echo(f"\n{summary['parts']:,} message part(s) to send")
    for encoding, counted in summary["by_encoding"].items():
        messages, parts = counted["messages"], counted["parts"]
        typer.echo(f"    {encoding:8} {messages:>10,} message(s) {parts:>12,} part(s)")
    if summary["by_parts"]:
        sizes = ", ".join(f"{parts} part(s): {n:,}" for parts, n in summary["by_parts"].items())
        typer.echo(f"    by size: {sizes}")
    for char, n in summary["ucs2_chars"].items():
        typer.echo(f"    {char!r} (U+{ord(char[0]):04X}) forces UCS-2 in {n:,} message(s)")
    wide = next((s for s in samples if s["encoding"] == "UCS-2"), None)
    plain_text = count_text(campaign.text).suggestion  # the text with plain characters
    if wide is not None and plain_text is not None:
        counted = count_text(wide["text"])
        plain = count_text(counted.suggestion) if counted.suggestion else None
        if plain is not None and plain.encoding == "GSM-7":
            typer.echo(
                f"    with plain characters the sample to {wide['phone']} takes "
                f"{plain.segments} part(s) instead of {counted.segments}; the text would read:"
            )
            typer.echo(f"      {plain_text}")


def _ab_test(test: dict[str, Any] | None) -> None:
    """An A/B test's share of the sends: each variant's recipients, and the rest's."""
    if not test:
        return
    by = "most people clicking" if test["winner_by"] == "clicks" else "fewest opt-outs"
    hours = test["test_minutes"] / 60
    typer.echo(
        f"\nA/B test: {test['test_share']}% of the audience drawn at random; after "
        f"{hours:g} hour(s) the variant with the {by} goes to the rest"
    )
    for variant, n in test["test"].items():
        typer.echo(f"  variant {variant}: {n:,} recipient(s)")
    typer.echo(
        f"  the rest: {test['rest']:,} recipient(s), waiting for the winner (parts counted at "
        "the longest variant)"
    )


def _samples(samples: list[dict[str, Any]]) -> None:
    if not samples:
        return
    typer.echo("\nSamples (the exact messages)")
    for sample in samples:
        typer.echo(
            f"  {sample['phone']} ({sample['territory']}, {sample['basis']}, "
            f"{sample['send_at']}, {sample['segments']} part(s) {sample['encoding']}):"
        )
        typer.echo(f"    {sample['text']}")


def print_report(
    campaign: Campaign,
    summary: dict[str, Any],
    blocks: list[dict[str, str]],
    samples: list[dict[str, Any]],
) -> None:
    _definition(campaign)
    _decisions(summary)
    if summary["targeted"]:
        _territories(summary)
    if summary["send"]:
        _costs(campaign, summary, samples)
        _ab_test(summary.get("ab_test"))
        _samples(samples)
    typer.echo("")
    for warning in summary.get("warnings", ()):
        typer.echo(f"WARNING: {warning}")
    if blocks:
        print_blocks(campaign.name, blocks)
    elif campaign.status == "planned":
        typer.echo(
            f"No block. `tambour campaign launch {campaign.name!r}` queues {summary['send']:,} "
            "message(s)."
        )


# What to change for each block: the `campaign edit` option, or the step outside the campaign.
_REMEDIES: dict[str, str] = {
    Block.INVALID_SENDER_ID: "choose another sender: tambour campaign edit {name} --sender ID",
    Block.MISSING_ADVERTISER_IDENTITY: "name the advertiser in the text: "
    "tambour campaign edit {name} --text '...'",
    Block.MISSING_STOP_MENTION: "end the text with the opt-out mention (STOP au 36111, or the "
    "advertiser's): tambour campaign edit {name} --text '...'",
    Block.EMPTY_MESSAGE: "write the message: tambour campaign edit {name} --text '...'",
    Block.UNRESOLVED_PLACEHOLDER: "use a field every contact has, or give a default "
    "({{field|default}}): tambour campaign edit {name} --text '...'",
    Block.MMS_TOO_LARGE: "make the MMS smaller: tambour campaign edit {name} --text '...'",
    Block.PROMOTIONAL_CONTENT: "a promotion is commercial: tambour campaign edit {name} "
    "--nature commercial, or take the promotion out of the text with --text",
    Block.TOO_MANY_PARTS: "shorten the text: tambour campaign edit {name} --text '...'",
    Block.NOTHING_TO_SEND: "no contact can be messaged: widen the targeting (tambour campaign edit "
    "{name} --tags/--categories/--professions) or import the consents, then plan again",
    Block.NON_COMMERCIAL_UNRECORDED: "record the advertiser's RNA or SIREN (tambour advertiser "
    "update SLUG --non-commercial-id ID), or tambour campaign edit {name} --nature commercial",
    Block.NO_TRANSACTION_FIELD: "name the contact field of each transaction: tambour campaign edit "
    "{name} --transaction-field FIELD",
    Block.INVALID_LINK: "give each {{link:...}} an http:// or https:// address: tambour campaign "
    "edit {name} --text ...",
    Block.LINKS_UNCONFIGURED: "set TAMBOUR_PUBLIC_URL (the base of the links recipients open, "
    "e.g. https://m.example.fr) and plan again, or write the address itself: tambour campaign "
    "edit {name} --text ...",
    Block.STOP_LINK_TRANSACTIONAL: "remove {{stop_link}}: tambour campaign edit {name} --text ...",
}


def block_remedy(code: str, name: str) -> str:
    """What to change so that the block `code` no longer stands (for campaign `name`)."""
    # A plan stored by an older version may name a code this one no longer has.
    remedy = _REMEDIES.get(code, "change the campaign (tambour campaign edit {name}), then plan")
    return remedy.format(name=shlex.quote(name))


def print_blocks(name: str, blocks: list[dict[str, str]]) -> None:
    typer.echo("BLOCKED: nothing can be sent until this changes")
    for block in blocks:
        typer.echo(f"  {block['code']}: {block['message']}")
        typer.echo(f"    to fix: {block_remedy(block['code'], name)}")
