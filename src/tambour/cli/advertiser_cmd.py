"""`tambour advertiser`: the tenants."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import print_json
from tambour.rules.fold import split_list
from tambour.services import advertisers
from tambour.store.engine import reader

app = typer.Typer(no_args_is_help=True, help="Advertisers (tenants).")


def _echo(advertiser: advertisers.Advertiser) -> None:
    typer.echo(
        f"{advertiser.slug}: {advertiser.name}, senders {', '.join(advertiser.senders)}, "
        f"STOP au {advertiser.stop_number}, categories {'; '.join(advertiser.categories) or '-'}"
    )


@app.command("create")
def create(
    slug: Annotated[str, typer.Argument(help="Short identifier, e.g. maison-lumiere.")],
    name: Annotated[str, typer.Option("--name", help="Legal name.")],
    sender: Annotated[list[str], typer.Option("--sender", help="Brand sender ID (repeat).")],
    stop_number: Annotated[str, typer.Option("--stop-number", help="STOP short number.")],
    categories: Annotated[str, typer.Option("--categories", help="'a;b' product categories.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an advertiser; its sender IDs and STOP number are checked by the core."""
    ctx = open_context()
    with refusals():
        advertiser = advertisers.create(
            ctx,
            slug=slug,
            name=name,
            senders=sender,
            stop_number=stop_number,
            categories=list(split_list(categories)),
        )
    if as_json:
        print_json(advertiser.as_dict())
    else:
        _echo(advertiser)


@app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every advertiser."""
    ctx = open_context()
    with refusals():
        found = advertisers.list_all(ctx)
    if as_json:
        print_json([a.as_dict() for a in found])
        return
    for advertiser in found:
        _echo(advertiser)


@app.command("show")
def show(
    slug: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One advertiser."""
    ctx = open_context()
    with refusals(), reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
    if as_json:
        print_json(advertiser.as_dict())
    else:
        _echo(advertiser)
