"""`tambour form`: an advertiser's hosted consent forms (issue 17): create one, publish a new
wording (a new version only when it changed), list them, show one with its versions and the
snippet that embeds it, and find the wording a consent's proof names by its hash."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import fail, print_json
from tambour.services import consent_forms
from tambour.services.consent_forms import ConsentForm, FormVersion
from tambour.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Hosted consent forms and their versions.")

Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Wording = Annotated[
    Path | None,
    typer.Option("--wording", help="A JSON file of the wording (as `form show --json` prints it)."),
]
OPTIONS = {
    "slug": "--advertiser", "form": "FORM", "kind": "--kind", "origins": "--origin",
    "double_opt_in": "--double-opt-in", "wording": "--wording", "wording_hash": "HASH",
}  # fmt: skip


def _read(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        fail(f"--wording: cannot read {path}: {error}")


def url_of(form: ConsentForm) -> str:
    return (Settings.from_env().public_url or "") + form.path


def _version_lines(version: FormVersion) -> list[str]:
    return [
        f"  version {version.version}, published {version.published_at.isoformat()} by "
        f"{version.published_by}",
        f"    wording hash sha256:{version.wording_hash}",
    ]


@app.command("create")
def create(
    form: Annotated[str, typer.Argument(help="The form's slug (its address).")],
    advertiser: Advertiser,
    kind: Annotated[
        str, typer.Option("--kind", help="consent, b2b or customer_notice.")
    ] = "consent",
    origin: Annotated[
        list[str] | None, typer.Option("--origin", help="A site that may embed it (repeat).")
    ] = None,
    double_opt_in: Annotated[
        bool, typer.Option("--double-opt-in", help="Confirm by a code sent by SMS.")
    ] = False,
    wording: Wording = None,
    as_json: AsJson = False,
) -> None:
    """Create a form; its first version (the given wording, else the default one naming the
    advertiser) is published at once."""
    data = _read(wording)
    ctx = open_context()
    with refusals(OPTIONS):
        made = consent_forms.create(
            ctx, slug=advertiser, form=form, kind=kind, origins=origin or (),
            double_opt_in=double_opt_in, wording=data,
        )  # fmt: skip
    if as_json:
        print_json(made.as_dict())
        return
    typer.echo(f"form {made.slug} created at {url_of(made)}")
    for line in _version_lines(made.current):
        typer.echo(line)


@app.command("publish")
def publish(
    form: Annotated[str, typer.Argument()],
    advertiser: Advertiser,
    wording: Annotated[Path, typer.Option("--wording", help="A JSON file of the wording.")],
    as_json: AsJson = False,
) -> None:
    """Publish a wording: a new version when it differs from the current one."""
    data = _read(wording)
    ctx = open_context()
    with refusals(OPTIONS):
        done = consent_forms.publish(ctx, slug=advertiser, form=form, wording=data)
    if as_json:
        print_json({"created": done.created, **done.form.as_dict()})
        return
    current = done.form.current
    said = "published as version" if done.created else "unchanged: still version"
    typer.echo(f"form {form}: {said} {current.version} (sha256:{current.wording_hash})")


@app.command("list")
def list_cmd(advertiser: Advertiser, as_json: AsJson = False) -> None:
    """The advertiser's forms."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = consent_forms.list_forms(ctx, slug=advertiser)
    if as_json:
        print_json([f.as_dict() for f in found])
        return
    if not found:
        typer.echo("no form")
    for f in found:
        checked = ", double opt-in" if f.double_opt_in else ""
        typer.echo(f"{f.slug}  {f.kind.value}{checked}  version {f.current.version}  {url_of(f)}")


@app.command("show")
def show(
    form: Annotated[str, typer.Argument()], advertiser: Advertiser, as_json: AsJson = False
) -> None:
    """A form, every version with its wording hash, and the snippet that embeds it."""
    ctx = open_context()
    with refusals(OPTIONS):
        found, versions = consent_forms.show(ctx, slug=advertiser, form=form)
    if as_json:
        print_json({**found.as_dict(), "all_versions": [v.as_dict() for v in versions]})
        return
    typer.echo(f"form {found.slug} ({found.kind.value}) at {url_of(found)}")
    typer.echo(f"  double opt-in: {'yes' if found.double_opt_in else 'no'}")
    typer.echo(f"  may be embedded by: {', '.join(found.origins) or 'this site only'}")
    for version in versions:
        for line in _version_lines(version):
            typer.echo(line)
    typer.echo("embed:")
    typer.echo(f"  {found.snippet(Settings.from_env().public_url or '')}")


@app.command("wording")
def wording_cmd(
    wording_hash: Annotated[str, typer.Argument(metavar="HASH", help="sha256:... from a proof.")],
    advertiser: Advertiser,
    as_json: AsJson = False,
) -> None:
    """What a person saw: the wording of the version a consent's proof names by its hash."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = consent_forms.by_hash(ctx, slug=advertiser, wording_hash=wording_hash)
    if as_json:
        print_json([{"form": f.form, **f.version.as_dict()} for f in found])
        return
    for signed in found:
        version = signed.version
        typer.echo(f"form {signed.form} version {version.version} (sha256:{version.wording_hash})")
        wording = version.wording
        for lang in ("fr", "en"):
            typer.echo(f"[{lang}] {wording.text(wording.title, lang)}")
            typer.echo(f"  {wording.text(wording.information, lang)}")
            for purpose in wording.purposes:
                typer.echo(
                    f"  [ ] ({', '.join(purpose.channels)}) {wording.text(purpose.label, lang)}"
                )
            if wording.objection:
                typer.echo(f"  [ ] (objection) {wording.text(wording.objection, lang)}")
