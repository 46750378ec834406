"""`tambour audit`: the hash-chained log of every action."""

import re
from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import fail, print_json, within
from tambour.services import audit_reads

app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
MAX_COUNT = 10**12  # entries: more than any log holds, less than the databases' integers
_HASH = re.compile(r"[0-9a-f]{64}")


def _head_hash(value: str | None) -> str | None:
    """--head: the 64 hexadecimal digits `audit head` prints (a typo is bad input, not a
    tampered log)."""
    if value is None:
        return None
    head = value.strip().lower()
    if not _HASH.fullmatch(head):
        fail(f"--head: {value!r} is not a hash: 64 hexadecimal digits, as `audit head` prints")
    return head


@app.command("verify")
def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--head", callback=_head_hash, help="Head hash kept outside (from `audit head`)."
        ),
    ] = None,
    expect_count: Annotated[
        int | None,
        typer.Option(
            "--count",
            callback=within("--count", 0, MAX_COUNT),
            help="Entry count kept with that head.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute the chain, and check every evidence, suppression and plan row against its
    seal and the entries that wrote it; exit 1 naming what was changed outside Tambour."""
    ctx = open_context()
    with refusals({"expect_head": "--head", "expect_count": "--count"}):
        checked = audit_reads.verify(ctx, expect_head=expect_head, expect_count=expect_count)
    result = checked.log
    if as_json:
        print_json(checked.as_dict())
    else:
        if result.ok:
            typer.echo(f"audit log intact: {result.count} entries, head {result.head}")
        else:
            typer.echo(f"AUDIT LOG TAMPERED: {result.problem}", err=True)
        rows = checked.rows
        if checked.rows_ok:
            pending = rows.get("plan_rows_unlisted", 0)
            read = ", ".join(
                f"{n} {table}" for table, n in rows.items() if table != "plan_rows_unlisted"
            )
            typer.echo(f"ledger intact: every row sealed and listed by the log ({read})")
            if pending:
                typer.echo(
                    f"  and {pending} plan row(s) of a plan being made, or interrupted, that no "
                    "campaign uses"
                )
        else:
            count, named = checked.row_problem_count, checked.row_problems
            typer.echo(f"LEDGER TAMPERED: {count} row(s) changed outside Tambour", err=True)
            for problem in named:
                typer.echo(f"  {problem.describe()}", err=True)
            if count > len(named):
                typer.echo(f"  ... and {count - len(named)} more", err=True)
    if not checked.ok:
        raise typer.Exit(1)


@app.command("head")
def head() -> None:
    """Entry count and last hash: keep them elsewhere to detect removal of the latest entries."""
    ctx = open_context()
    with refusals():
        anchor = audit_reads.head(ctx)
    typer.echo(f"{anchor.count} {anchor.hash}")


@app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option("--limit", callback=within("--limit", 0, MAX_COUNT))] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest entries, newest first."""
    ctx = open_context()
    with refusals({"limit": "--limit"}):
        found = audit_reads.latest(ctx, limit=limit)
    if as_json:
        print_json(
            [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
              "details": e.details, "hash": e.hash} for e in found]
        )  # fmt: skip
        return
    for e in found:
        typer.echo(f"{e.seq:>6} {e.at.isoformat()} {e.actor:16} {e.action:18} {e.details}")
