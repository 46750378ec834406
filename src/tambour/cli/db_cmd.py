"""`tambour db`: schema migrations."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import fail, print_json
from tambour.services import audit, installation
from tambour.services.ledger_proof import seal_unsealed
from tambour.services.seals import Sealer, with_rows
from tambour.store.schema import current_revision, head_revision, upgrade

app = typer.Typer(no_args_is_help=True, help="The database schema.")


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Migrate the database named by TAMBOUR_DATABASE_URL to this version's schema."""
    ctx = open_context(check_schema=False)
    with refusals():
        try:  # (a database tied to another key was refused by open_context)
            before, after = upgrade(ctx.engine, ctx.keys)
        except RuntimeError as error:  # a migration that cannot go on says why
            fail(str(error))
        installation.ensure_key(ctx.engine, ctx.keys)
        if before != after:
            with ctx.engine.begin() as conn:
                # Rows written before seals existed are sealed now, and listed by this entry.
                legacy = seal_unsealed(conn, Sealer.of(ctx.keys))
                audit.append(
                    conn,
                    actor=ctx.actor,
                    action="db.upgrade",
                    details=with_rows({"from": before, "to": after}, legacy),
                    at=ctx.now(),
                )
    typer.echo(f"schema {before or 'empty'} -> {after}")


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The database's schema revision and the one this version needs."""
    ctx = open_context(check_schema=False)
    with refusals():
        current = current_revision(ctx.engine)
    payload = {
        "current": current,
        "head": head_revision(),
        "up_to_date": current == head_revision(),
    }
    if as_json:
        print_json(payload)
    else:
        typer.echo(f"current {current or 'empty'}, needed {payload['head']}")
