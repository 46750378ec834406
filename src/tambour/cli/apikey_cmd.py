"""`tambour apikey`: the keys of the HTTP API (services/api_keys.py). A token is printed once,
when its key is created: keep it then, nothing can show it again."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import fail, print_json
from tambour.services import api_keys
from tambour.services.api_keys import ApiKey, Scope
from tambour.services.context import ServiceError

app = typer.Typer(no_args_is_help=True, help="Keys of the HTTP API (tambour serve).")

# The use cases' parameters, as this command names them.
_OPTIONS = {"scopes": "--scopes", "name": "--name", "advertiser": "--advertiser", "key_id": "ID"}


@contextmanager
def _worded() -> Iterator[None]:
    """A refusal names the option at fault, as the user typed it."""
    try:
        yield
    except ServiceError as error:
        option = _OPTIONS.get(error.field or "")
        fail(f"{option}: {error}" if option else str(error))


def _scopes(given: str) -> list[Scope]:
    names = [part.strip().lower() for part in given.split(",") if part.strip()]
    known = ", ".join(scope.value for scope in Scope if scope is not Scope.OPERATOR)
    unknown = [name for name in names if name not in {scope.value for scope in Scope}]
    if unknown or not names:
        fail(f"--scopes: {', '.join(map(repr, unknown)) or 'none given'}: choose among {known}")
    return [Scope(name) for name in names]


def _as_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "advertiser": key.advertiser,
        "scopes": sorted(key.scopes),
        "created_at": key.created_at.isoformat(),
        "created_by": key.created_by,
        "revoked_at": None if key.revoked_at is None else key.revoked_at.isoformat(),
    }


def _line(key: ApiKey) -> str:
    owner = "operator" if key.operator else f"advertiser {key.advertiser}"
    state = f", revoked {key.revoked_at:%Y-%m-%d %H:%M} UTC" if key.revoked_at else ""
    name = f" ({key.name})" if key.name else ""
    return f"{key.key_id}{name}: {owner}, scopes {', '.join(sorted(key.scopes))}{state}"


@app.command("create")
def create(
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="The advertiser's slug.")
    ] = None,
    scopes: Annotated[
        str | None, typer.Option("--scopes", help="read,write,send (any of them).")
    ] = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="A key of the platform (advertisers, users).")
    ] = False,
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a key and print its token, once: an advertiser's (--advertiser and --scopes) or
    the operator's (--operator)."""
    if operator == (advertiser is not None):
        fail("give --advertiser SLUG with --scopes, or --operator")
    if operator and scopes is not None:
        fail("--scopes: an operator key has the one scope operator; leave --scopes out")
    if not operator and scopes is None:
        fail("--scopes: which the key may do: read,write,send (any of them)")
    wanted = [Scope.OPERATOR] if operator else _scopes(scopes or "")
    ctx = open_context()
    with refusals(), _worded():
        made = api_keys.create(ctx, scopes=wanted, advertiser=advertiser, name=name)
    if as_json:
        print_json({**_as_dict(made.key), "token": made.token})
        return
    typer.echo(made.token)
    typer.echo(
        f"{_line(made.key)}\nThis token is shown once: keep it now (only its digest is stored).",
        err=True,
    )


@app.command("list")
def list_cmd(
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="Only this advertiser's keys.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every key (never a token), revoked ones included."""
    ctx = open_context()
    with refusals(), _worded():
        found = api_keys.list_keys(ctx, advertiser=advertiser)
    if as_json:
        print_json([_as_dict(key) for key in found])
        return
    for key in found:
        typer.echo(_line(key))


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key id (list shows it).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Revoke a key: servers refuse it within a second or two."""
    ctx = open_context()
    with refusals(), _worded():
        key = api_keys.revoke(ctx, key_id)
    if as_json:
        print_json(_as_dict(key))
    else:
        typer.echo(_line(key))
