"""`tambour keys`: the installation's secret key, kept outside the database (tambour/keys.py)."""

from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import fail, print_json
from tambour.keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    SecretKeyError,
    read_key_file,
    secrets_key,
    write_key_file,
)
from tambour.services import keyring

app = typer.Typer(no_args_is_help=True, help="The secret key the suppression lists are keyed by.")


@app.command("show")
def show(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The key's id and where it was read (never the key), and the id the database expects."""
    ctx = open_context(check_schema=False, check_key=False)  # says, rather than refuses
    with refusals():
        recorded = keyring.database_key_id(ctx)
    payload = {"key_id": ctx.keys.key_id, "origin": ctx.keys.origin, "database_key_id": recorded}
    if as_json:
        print_json(payload)
    else:
        typer.echo(
            f"key {ctx.keys.key_id} from {ctx.keys.origin}; "
            f"the database {'records ' + recorded if recorded else 'records no key yet'}"
        )


@app.command("rotate")
def rotate(
    new_key_file: Annotated[
        Path,
        typer.Option(
            "--new-key-file",
            help="Where the new key is (made there, 0600, when the file does not exist).",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Put the database under a new key: every advertiser's suppression key is stored again
    under it, in one transaction. Stop the workers first; every command then needs the new key."""
    ctx = open_context()
    try:
        if not new_key_file.exists():
            write_key_file(new_key_file, secrets_key())
        new = read_key_file(new_key_file)
    except (SecretKeyError, OSError) as error:
        fail(f"--new-key-file: {error}")
    with refusals():
        done = keyring.rotate(ctx, new)
    payload = {
        "old_key_id": done.old_key_id,
        "new_key_id": done.new_key_id,
        "advertisers": done.advertisers,
        "new_key_file": str(new_key_file),
    }
    if as_json:
        print_json(payload)
        return
    where = (
        f"set {KEY_ENV} to its content"
        if ctx.keys.origin == KEY_ENV
        else f"move it in place of {ctx.keys.origin}, or set {KEY_FILE_ENV}={new_key_file}"
    )
    typer.echo(
        f"the database is now under key {done.new_key_id} ({new_key_file}); "
        f"{done.advertisers} advertiser key(s) stored again under it.\n"
        f"Every command and worker, on every machine, now needs it: {where}; then restart "
        "the workers.\n"
        f"The previous key ({done.old_key_id}) opens only the backups made before now: "
        "keep it with them, or destroy both."
    )
