"""`tambour proof`: why one recipient was messaged or not, as a report for a data-protection
officer (a plain text to print, Paris times) or, with --json, the same as data."""

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import print_json
from tambour.contacts.values import paris_time
from tambour.rules.labels import label
from tambour.services import proof as proofs
from tambour.services.proof_records import Fact, Message, Planned, Proof


def proof(
    number: Annotated[str, typer.Argument(help="The recipient's phone number, any notation.")],
    advertiser: Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")],
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", help="Only this campaign (default: every campaign planned)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the proof as JSON.")] = False,
) -> None:
    """The proof for one recipient: the contact; for each campaign whose plan names it (most
    recent first) the decision with its legal basis or reason and the rule behind it, the
    evidence the plan weighed and any recorded since, the plan row and the message's dispatch
    trail (queued, taken by the carrier, receipts); the suppression-list entry; the replies
    from the number; and the audit entries that wrote or name these rows, with their place in
    the hash chain and whether each row's seal still matches. Times are Paris time. A number
    the advertiser never had is refused (exit 2)."""
    ctx = open_context()
    with refusals({"slug": "--advertiser"}):
        found = proofs.proof(ctx, slug=advertiser, number=number, campaign=campaign)
    if as_json:
        print_json(found.as_dict())
        return
    for line in report(found):
        typer.echo(line)


def _at(instant: datetime | None) -> str:
    return paris_time(instant, seconds=True) if instant else "undated"


def _sealed(ok: bool) -> str:
    return "seal valid" if ok else "SEAL DOES NOT MATCH (edited outside Tambour)"


def _data(data: dict[str, Any]) -> str:
    """A fact's data as `key=value, ...` (lists as `a;b`, as the contact file writes them)."""

    def said(value: Any) -> str:
        if isinstance(value, list):
            return ";".join(str(v) for v in value)
        return str(value)

    return ", ".join(f"{k}={said(v)}" for k, v in data.items() if v not in (None, "", []))


def report(found: Proof) -> Iterator[str]:
    """The printable report, line by line."""
    owner = found.advertiser
    yield f"PROOF FOR {found.number}, advertiser {owner.slug} ({owner.name})"
    yield f"Made {_at(found.made_at)}. Every time is Paris time unless said otherwise."
    if found.campaign is not None:
        yield f"Campaign asked for: {found.campaign!r}"
    yield ""
    yield "CONTACT"
    contact = found.contact
    if contact is None:
        yield f"  Not a contact of {owner.slug}: only an opt-out or replies of this number."
    else:
        yield (
            f"  Contact #{contact['id']}, {contact['kind']}, in the ledger since "
            f"{_at(datetime.fromisoformat(contact['created_at']))} (last updated "
            f"{_at(datetime.fromisoformat(contact['updated_at']))})"
        )
        profile = dict(contact["profile"])
        profile.update(profile.pop("fields", None) or {})  # imported custom columns
        if profile:
            yield f"  Profile: {_data(profile)}"
        yield f"  Evidence: {len(found.evidence)} fact(s)"
    if contact is not None and not found.plans:
        where = f"campaign {found.campaign!r}" if found.campaign else "any campaign's plan"
        yield f"  Not in {where}."
    for planned in found.plans:
        yield ""
        yield from _campaign(found, planned)
    if found.forms:
        yield ""
        yield from _forms(found)
    yield ""
    yield "SUPPRESSION LIST"
    entry = found.suppression
    if entry is None:
        yield "  No entry: the number is not on the advertiser's suppression list."
    else:
        yield (
            f"  Entry #{entry.id}: {entry.source} since {_at(entry.suppressed_at)}, recorded "
            f"{_at(entry.recorded_at)}; {_sealed(entry.seal_ok)}"
        )
        yield "  (a keyed hash of the number: never messaged again, also after an erasure)"
    yield ""
    yield "REPLIES FROM THIS NUMBER"
    if not found.replies:
        yield "  None."
    for reply in found.replies:
        handled = (
            f", handled {_at(reply.handled_at)} by {reply.handled_by}" if reply.handled_at else ""
        )
        yield (
            f"  #{reply.id} {_at(reply.received_at)} to {reply.to}: read as {reply.meaning}, "
            f"{reply.status}{handled}"
        )
        for line in reply.text.splitlines() or [""]:
            yield f"      {line}"
    yield ""
    yield "AUDIT ENTRIES (hash chain)"
    if not found.audit:
        yield "  None name these rows."
    for audited in found.audit:
        state = "intact" if audited.intact else "HASH DOES NOT MATCH ITS CONTENT"
        yield f"  #{audited.seq} {_at(audited.at)} {audited.action} by {audited.actor}: {state}"
        yield f"      hash {audited.hash}"
        yield f"      previous {audited.prev_hash}"
        yield f"      names: {', '.join(audited.covers)}"
    yield ""
    yield "The whole chain and every row are checked by `tambour audit verify`."


def _forms(found: Proof) -> Iterator[str]:
    """The hosted forms the person filled in, and the facts each one wrote."""
    yield "CONSENT FORMS FILLED IN"
    for sent in found.forms:
        yield (
            f"  Submission #{sent.id}: form {sent.form} version {sent.version}, sent "
            f"{_at(sent.submitted_at)} ({sent.via}, network {sent.ip_prefix or 'unknown'})"
        )
        yield f"      wording hash sha256:{sent.wording_hash}"
        yield (
            f"      (its text: `tambour form wording sha256:{sent.wording_hash} "
            f"--advertiser {found.advertiser.slug}`)"
        )
        choices = sent.choices
        ticked = ", ".join(choices.get("purposes") or ()) or "none"
        objection = "; objection ticked" if choices.get("objection") else ""
        yield f"      boxes ticked: {ticked}{objection}; language {choices.get('lang', 'fr')}"
        if sent.double_opt_in:
            yield f"      confirmed by the code sent by SMS {_at(sent.confirmed_at)}"
        if sent.user_agent:
            yield f"      user agent: {sent.user_agent}"
    source = {f"form:{sent.form}:v{sent.version}" for sent in found.forms}
    yield "  Facts these forms wrote"
    yield from _facts(tuple(fact for fact in found.evidence if fact.source in source))


def _campaign(found: Proof, planned: Planned) -> Iterator[str]:
    c = planned.campaign
    launched = (
        f", launched {_at(c.launched_at)}: the plan is frozen"
        if c.launched_at
        else ": NOT LAUNCHED, the plan is not frozen and nothing was sent"
    )
    cancelled = f", cancelled {_at(c.cancelled_at)}" if c.cancelled_at else ""
    yield (
        f"CAMPAIGN {c.name!r} ({c.nature.value}, sender {c.sender}), planned "
        f"{_at(c.planned_at)}{launched}{cancelled}"
    )
    yield "  Decision"
    rule = planned.rule
    if planned.decision == "send":
        yield f"    SEND, legal basis {rule.code}: {label(rule.code, None)}"
    else:
        yield f"    EXCLUDED, reason {rule.code}: {label(rule.code, None)}"
    if rule.wording:
        yield f"    Rule (docs/rules.md §{rule.section}): {rule.wording}"
    if planned.send_at is not None:
        local = ""
        if planned.timezone and planned.timezone != "Europe/Paris":
            own = planned.send_at.astimezone(ZoneInfo(planned.timezone)).isoformat()
            local = f" (the recipient's own time: {own})"
        yield f"    Send time: {_at(planned.send_at)}{local}"
    if planned.deferral is not None:
        yield f"    Held: {planned.deferral.code}: {label(planned.deferral.code, None)}"
    where = ", ".join(
        part
        for part in (
            f"territory {planned.territory}" if planned.territory else "",
            f"postal code {planned.postal_code}" if planned.postal_code else "",
        )
        if part
    )
    if where:
        yield f"    Located: {where}"
    if planned.ab_group is not None:
        yield "    " + _ab_said(planned.variant, planned.ab_group)
    if planned.text is not None:
        forcing = f", UCS-2 forced by {planned.ucs2_chars!r}" if planned.ucs2_chars else ""
        yield f"    Message: {planned.segments} part(s), {planned.encoding}{forcing}:"
        for line in planned.text.splitlines():
            yield f"      {line}"
    if planned.retain_until is not None:
        yield f"    Data kept until: {_at(planned.retain_until)} (3-year rule)"
    yield (
        f"    Plan row: campaign {c.id}, generation {planned.generation}, contact "
        f"{planned.contact_id}; {_sealed(planned.seal_ok)}"
    )
    yield f"  Evidence the plan weighed (facts up to #{planned.seen_evidence})"
    yield from _facts(planned.evidence)
    yield "  Evidence recorded since the plan"
    yield from _facts(planned.evidence_since)
    yield "  Dispatch"
    if planned.message is None:
        if planned.decision == "send" and not c.launched_at:
            yield "    No message: the campaign is not launched."
        elif planned.decision == "send":
            yield "    No message."
        else:
            yield "    No message: the recipient was excluded."
    else:
        yield from _dispatch(planned.message)
    entries = [e for e in found.audit if e.seq in planned.audit]
    if entries:
        said = ", ".join(f"#{e.seq} {e.action}" for e in entries)
        yield f"  Audit entries of the plan and the campaign: {said}"


def _facts(facts: tuple[Fact, ...]) -> Iterator[str]:
    if not facts:
        yield "    None."
    for fact in facts:
        yield f"    #{fact.id} {_at(fact.at):19} {fact.kind}"
        if fact.data:
            yield f"        {_data(fact.data)}"
        yield (
            f"        source {fact.source}, recorded {_at(fact.recorded_at)} by "
            f"{fact.recorded_by}; {_sealed(fact.seal_ok)}"
        )


def _dispatch(message: Message) -> Iterator[str]:
    reason = f" ({message.reason})" if message.reason else ""
    yield (
        f"    Message #{message.id} from {message.sender}: {message.state}{reason}, "
        f"{message.attempts} attempt(s)"
    )
    if message.error_code is not None or message.error:
        said = "; ".join(
            part
            for part in (
                f"code {message.error_code}" if message.error_code is not None else "",
                message.error or "",
            )
            if part
        )
        yield f"    Carrier: {said}"
    for step in message.trail:
        audited = f"  [audit #{step.audit_seq}]" if step.audit_seq else ""
        yield f"    {_at(step.at)}  {step.what}{audited}"


def _ab_said(variant: str | None, group: str) -> str:
    """A recipient's place in an A/B test."""
    if group == "test":
        return f"A/B test: variant {variant}, drawn at random for the test"
    if variant is None:
        return "A/B test: the rest of the audience, waiting for the winner's text"
    return f"A/B test: the rest of the audience, sent the winner's text (variant {variant})"
