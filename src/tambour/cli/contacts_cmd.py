"""`tambour contacts`: import, show, export."""

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import create_file, print_json, progress, within
from tambour.contacts.values import paris_time
from tambour.outfiles import EXCEL, PLAIN
from tambour.services import contacts, importer
from tambour.services.ledger_reads import Event

app = typer.Typer(no_args_is_help=True, help="Contacts and their evidence.")

Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
MAX_WORKERS = 64
# The use cases' parameters, as these commands name them (files are named in their messages).
ADVERTISER_OPTIONS = {"slug": "--advertiser"}
IMPORT_OPTIONS = {**ADVERTISER_OPTIONS, "rejects_path": "--rejects"}


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
    excel: Annotated[
        bool,
        typer.Option(
            "--excel", help="Write the rejects file as French Excel opens it (semicolons)."
        ),
    ] = False,
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
    with (
        refusals(IMPORT_OPTIONS),
        progress(f"importing {file.name}", "rows", quiet=as_json) as advance,
    ):
        summary = importer.import_contacts(
            ctx,
            slug=advertiser,
            path=file,
            mapping_path=mapping,
            dry_run=dry_run,
            rejects_path=rejects,
            progress=advance,
            workers=workers,
            excel=excel,
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
    headers = summary.columns
    for reason, n in summary.rejected_by_reason.most_common():
        column, _, why = reason.partition(": ")
        if column in headers and headers[column] != column:  # the user's name for it
            typer.echo(f"  {n:>8,}  {column} ({headers[column]!r}): {why}")
        else:
            typer.echo(f"  {n:>8,}  {reason}")
    read = [f"{header!r} as {column}" for column, header in headers.items() if header != column]
    if read:
        typer.echo(f"columns read: {', '.join(read)}")
    if summary.fields:
        typer.echo(f"personalization fields: {', '.join(map(repr, summary.fields))}")
    for warning in summary.warnings:
        typer.echo(f"warning: {warning['message']}")
        for line in _advice(warning):
            typer.echo(f"  {line}")
    if summary.rejects_path:  # last: the path is what the user copies next
        typer.echo(f"rejected rows, with their line, field and reason: {summary.rejects_path}")


def toml_string(text: str) -> str:
    """`text` as a TOML string, quotes and backslashes escaped (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _advice(warning: Mapping[str, Any]) -> list[str]:
    """What to do about an import warning: the mapping lines that may fix it."""
    code = warning["code"]
    if code == "consent_unproven":
        return [
            "import the consent's method (consent_method: web_form, paper_form...) or the "
            "wording the person accepted (consent_wording)"
        ]
    if code == "consent_not_dated" and warning.get("date_column"):
        return [
            f"fill {warning['date_column']!r} on these rows with the day the person consented "
            "(dd/mm/yyyy, or yyyy-mm-dd)"
        ]
    fields: list[str] = warning.get("fields", [])
    suggested: dict[str, str] = warning.get("suggested_mapping", {})
    lines = []
    if fields and code == "no_legal_basis_fact":
        lines.append(f"kept as personalization fields: {', '.join(map(repr, fields))}")
    target = {"consent_not_dated": "consent_at", "column_without_effect": "consent"}.get(
        code, "consent"
    )
    if not suggested:  # no header looks like it: an example to adapt
        suggested = {"Your column": target}
    what = {
        "no_legal_basis_fact": "if a column holds the consent (yes/no), its date or a purchase",
        "consent_not_dated": "if a column holds the consent's date",
        "column_without_effect": "if a column holds the consent itself (yes/no)",
    }[code]
    lines.append(f"{what}, say so in a mapping file (contacts import --mapping map.toml):")
    lines.append("    [columns]")
    lines.extend(f'    {toml_string(header)} = "{column}"' for header, column in suggested.items())
    basis = warning.get("basis_columns")
    if basis:
        lines.append(f"columns a legal basis rests on: {', '.join(basis)} (docs/rules.md)")
    return lines


@app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="The contact's phone number, any notation.")],
    advertiser: Advertiser,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A contact's evidence timeline and standing (which bases hold today, and why not)."""
    ctx = open_context()
    with refusals(ADVERTISER_OPTIONS):
        found = contacts.show(ctx, slug=advertiser, number=number)
    if as_json:
        print_json(found.as_dict())
        return
    contact = found.contact
    typer.echo(f"{contact.e164} ({contact.kind.value}) of {advertiser}")
    identity = _identity(contact.profile)
    if identity:
        typer.echo(f"  {identity}")
    suppressed = contact.suppression
    if suppressed:
        since = _paris(suppressed.at)
        typer.echo(f"  on the suppression list since {since} ({suppressed.source.value})")
    typer.echo("evidence, oldest first (Paris time):")
    for event in sorted(found.evidence, key=_chronological):
        typer.echo(f"  {_paris(event.at):16}  {describe(event)}  [{event.source}]")
    if not found.evidence:
        typer.echo("  none")
    for nature, verdict in found.standing.items():
        outcome = verdict.basis or verdict.reason
        typer.echo(f"{nature} SMS today: {verdict.decision} ({outcome})")
        for basis, state in verdict.bases.items():
            typer.echo(f"    {basis:26} {state}")


WORDING_SHOWN = 40  # characters of a consent's wording shown in the timeline
_METHODS = {
    "web_form": "formulaire web", "paper_form": "formulaire papier",
    "sms_keyword": "mot-clé SMS", "recorded_call": "appel enregistré",
}  # fmt: skip
_OPT_OUT_SOURCES = {
    "sms_stop": "réponse STOP", "link": "lien de désinscription", "manual": "saisie manuelle",
    "data_request": "demande de la personne", "complaint_33700": "signalement au 33700",
}  # fmt: skip
_CHANNELS = {"sms": "SMS", "mms": "MMS", "fax": "fax", "email": "e-mail"}
_KINDS = {
    "consent_withdrawn": "consentement retiré", "account_created": "compte créé",
    "activity": "activité de la personne", "complaint": "signalement de spam au 33700",
    "erasure": "effacement des données", "membership": "adhésion ou contact régulier",
}  # fmt: skip


def _paris(at: datetime | None) -> str:
    """An instant as dd/mm/yyyy hh:mm in Paris time."""
    if at is None:
        return "date inconnue"
    return paris_time(at)


def _chronological(event: Event) -> tuple[bool, datetime]:
    """Dated events by date (ties in recording order: the sort is stable), undated ones last."""
    if event.at is None:
        return (True, datetime.min.replace(tzinfo=UTC))
    return (False, event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC))


def _identity(contact: Mapping[str, Any]) -> str:
    name = " ".join(contact[k] for k in ("first_name", "last_name") if contact.get(k))
    parts = [p for p in (name, contact.get("company"), contact.get("postal_code")) if p]
    if contact.get("external_id"):
        parts.append(f"ref {contact['external_id']}")
    if contact.get("tags"):
        parts.append(f"tags {', '.join(contact['tags'])}")
    fields = contact.get("fields") or {}
    parts.extend(f"{name}: {value}" for name, value in fields.items())
    return "; ".join(parts)


def _wording(text: str) -> str:
    shown = text if len(text) <= WORDING_SHOWN else text[: WORDING_SHOWN - 3].rstrip() + "..."
    return f'"{shown}"'


def describe(event: Event) -> str:
    """One evidence event in words: `consentement SMS donné (formulaire web, "J'accepte...")`."""
    kind, data = event.kind, event.data or {}
    details: list[str] = []
    if kind == "consent_given":
        channels = " et ".join(_CHANNELS.get(c, c) for c in data.get("channels", ["sms"]))
        label = f"consentement {channels} donné"
        if data.get("method"):
            details.append(_METHODS.get(data["method"], data["method"]))
        if data.get("wording"):
            details.append(_wording(data["wording"]))
        if data.get("advertiser"):
            details.append(f"à {data['advertiser']}")
        if data.get("prechecked"):
            details.append("case précochée")
        if data.get("bundled_with_terms"):
            details.append("lié aux CGU/CGV")
        if data.get("proof"):
            details.append(f"preuve {data['proof']}")
    elif kind == "collected":
        label = "numéro collecté"
        if data.get("by"):
            details.append(f"par {data['by']}")
        if data.get("informed"):
            details.append("personne informée")
        if data.get("objection_offered"):
            details.append("opposition proposée")
        if data.get("third_party_proof"):
            details.append(f"preuve d'information {data['third_party_proof']}")
    elif kind == "purchase":
        label = "achat"
        details.extend(data.get("categories", ()))
    elif kind == "opt_out":
        label = "opposition"
        source = data.get("source")
        if source:
            details.append(_OPT_OUT_SOURCES.get(source, source))
    else:
        label = _KINDS.get(kind, kind)
        details.extend(f"{k}: {v}" for k, v in data.items() if kind not in _KINDS)
    return f"{label} ({', '.join(details)})" if details else label


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
    excel: Annotated[
        bool,
        typer.Option(
            "--excel",
            help="As French Excel opens it: semicolons, times as dd/mm/yyyy hh:mm:ss in Paris "
            "time (it imports back as is).",
        ),
    ] = False,
) -> None:
    """Write the advertiser's contacts as a canonical CSV (it imports back as is)."""
    ctx = open_context()
    style = EXCEL if excel else PLAIN
    if output is None:
        with refusals(ADVERTISER_OPTIONS):
            contacts.export(ctx, slug=advertiser, out=sys.stdout, style=style)
        return
    handle = create_file(output, "--output")
    try:
        with refusals(ADVERTISER_OPTIONS), handle:
            count = contacts.export(ctx, slug=advertiser, out=handle, style=style)
    except BaseException:  # nothing half-written is left behind
        output.unlink(missing_ok=True)
        raise
    typer.echo(f"exported {count:,} contacts of {advertiser} to {output}")
