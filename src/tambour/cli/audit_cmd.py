"""`tambour audit`: the hash-chained log of every action."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import print_json
from tambour.services import audit
from tambour.store.engine import reader

app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")


@app.command("verify")
def verify(
    expect_head: Annotated[
        str | None, typer.Option("--head", help="Head hash kept outside (from `audit head`).")
    ] = None,
    expect_count: Annotated[
        int | None, typer.Option("--count", help="Entry count kept with that head.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute the chain; exit 1 and name the first bad entry when anything was changed."""
    ctx = open_context()
    with refusals(), reader(ctx.engine) as conn:
        result = audit.verify(conn, expect_head=expect_head, expect_count=expect_count)
    if as_json:
        print_json(
            {"ok": result.ok, "count": result.count, "head": result.head,
             "first_bad": result.first_bad, "problem": result.problem}
        )  # fmt: skip
    elif result.ok:
        typer.echo(f"audit log intact: {result.count} entries, head {result.head}")
    else:
        typer.echo(f"AUDIT LOG TAMPERED: {result.problem}", err=True)
    if not result.ok:
        raise typer.Exit(1)


@app.command("head")
def head() -> None:
    """Entry count and last hash: keep them elsewhere to detect removal of the latest entries."""
    ctx = open_context()
    with refusals(), reader(ctx.engine) as conn:
        count, last = audit.head(conn)
    typer.echo(f"{count} {last}")


@app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest entries, newest first."""
    ctx = open_context()
    with refusals(), reader(ctx.engine) as conn:
        found = audit.entries(conn, limit=limit)
    if as_json:
        print_json(
            [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
              "details": e.details, "hash": e.hash} for e in found]
        )  # fmt: skip
        return
    for e in found:
        typer.echo(f"{e.seq:>6} {e.at.isoformat()} {e.actor:16} {e.action:18} {e.details}")
