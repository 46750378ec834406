"""`tambour db`: schema migrations."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import print_json
from tambour.services import database

app = typer.Typer(no_args_is_help=True, help="The database schema.")


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Migrate the database named by TAMBOUR_DATABASE_URL to this version's schema."""
    ctx = open_context(check_schema=False)  # (a database tied to another key was refused)
    with refusals():
        done = database.upgrade(ctx)
    typer.echo(f"schema {done.before or 'empty'} -> {done.after}")


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The database's schema revision and the one this version needs."""
    ctx = open_context(check_schema=False)
    with refusals():
        found = database.status(ctx)
    if as_json:
        print_json(found.as_dict())
    else:
        typer.echo(f"current {found.current or 'empty'}, needed {found.head}")
