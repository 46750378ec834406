"""`tambour advertiser`: the tenants."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import print_json
from tambour.rules.fold import split_list
from tambour.services import advertisers

app = typer.Typer(no_args_is_help=True, help="Advertisers (tenants).")

# The use cases' parameters, as these commands name them.
CREATE_OPTIONS = {
    "name": "--name",
    "senders": "--sender",
    "stop_number": "--stop-number",
    "categories": "--categories",
    "non_commercial_id": "--non-commercial-id",
    "address": "--address",
    "contact_email": "--contact-email",
    "dpo_name": "--dpo-name",
    "dpo_email": "--dpo-email",
}
UPDATE_OPTIONS = {
    "name": "--name",
    "add_senders": "--add-sender",
    "categories": "--categories",
    "non_commercial_id": "--non-commercial-id",
    "clear_non_commercial": "--clear-non-commercial",
    "stop_link": "--stop-link",
    "address": "--address",
    "contact_email": "--contact-email",
    "dpo_name": "--dpo-name",
    "dpo_email": "--dpo-email",
}

# The controller's contact details (its record of processing, GDPR Art. 30): each optional.
Address = Annotated[
    str | None, typer.Option("--address", help="Postal address of the controller ('' removes it).")
]
ContactEmail = Annotated[
    str | None,
    typer.Option("--contact-email", help="E-mail address for personal data ('' removes it)."),
]
DpoName = Annotated[
    str | None, typer.Option("--dpo-name", help="Data-protection officer ('' removes it).")
]
DpoEmail = Annotated[
    str | None, typer.Option("--dpo-email", help="The DPO's e-mail address ('' removes it).")
]


def _contact(**given: str | None) -> dict[str, str]:
    """The contact details given as options (None: not given)."""
    return {name: value for name, value in given.items() if value is not None}


def _echo(advertiser: advertisers.Advertiser) -> None:
    registered = (
        f", non-commercial {advertiser.non_commercial_id}" if advertiser.non_commercial_id else ""
    )
    typer.echo(
        f"{advertiser.slug}: {advertiser.name}, senders {', '.join(advertiser.senders) or '-'}, "
        f"STOP au {advertiser.stop_number}, categories {'; '.join(advertiser.categories) or '-'}"
        f"{registered}"
    )
    details = [
        f"{label} {value}"
        for label, value in (
            ("address", advertiser.address), ("contact", advertiser.contact_email),
            ("DPO", advertiser.dpo_name), ("DPO e-mail", advertiser.dpo_email),
        )
        if value
    ]  # fmt: skip
    if details:
        typer.echo("  " + "; ".join(" ".join(d.split()) for d in details))


@app.command("create")
def create(
    slug: Annotated[str, typer.Argument(help="Short identifier, e.g. maison-lumiere.")],
    name: Annotated[str, typer.Option("--name", help="Legal name.")],
    sender: Annotated[list[str], typer.Option("--sender", help="Brand sender ID (repeat).")],
    stop_number: Annotated[str, typer.Option("--stop-number", help="STOP short number.")],
    categories: Annotated[str, typer.Option("--categories", help="'a;b' product categories.")] = "",
    non_commercial_id: Annotated[
        str | None,
        typer.Option(
            "--non-commercial-id",
            help="RNA number (W751234567) or SIREN of an association, foundation or public "
            "body: it may send non-commercial campaigns.",
        ),
    ] = None,
    address: Address = None,
    contact_email: ContactEmail = None,
    dpo_name: DpoName = None,
    dpo_email: DpoEmail = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an advertiser; its sender IDs and STOP number are checked by the core. A sender
    ID belongs to one advertiser on the platform (whatever its case); the STOP number may be
    shared."""
    ctx = open_context()
    with refusals(CREATE_OPTIONS):
        advertiser = advertisers.create(
            ctx,
            slug=slug,
            name=name,
            senders=sender,
            stop_number=stop_number,
            categories=list(split_list(categories)),
            non_commercial_id=non_commercial_id,
            contact=_contact(
                address=address, contact_email=contact_email, dpo_name=dpo_name,
                dpo_email=dpo_email,
            ),
        )  # fmt: skip
    if as_json:
        print_json(advertiser.as_dict())
    else:
        _echo(advertiser)


@app.command("update")
def update(
    slug: Annotated[str, typer.Argument()],
    name: Annotated[str | None, typer.Option("--name", help="New legal name.")] = None,
    non_commercial_id: Annotated[
        str | None,
        typer.Option("--non-commercial-id", help="RNA number or SIREN (non-commercial body)."),
    ] = None,
    clear_non_commercial: Annotated[
        bool,
        typer.Option("--clear-non-commercial", help="Remove the non-commercial registration."),
    ] = False,
    add_sender: Annotated[
        list[str] | None, typer.Option("--add-sender", help="Another brand sender ID (repeat).")
    ] = None,
    categories: Annotated[
        str | None, typer.Option("--categories", help="'a;b': replaces the product categories.")
    ] = None,
    stop_link: Annotated[
        bool | None,
        typer.Option(
            "--stop-link/--no-stop-link",
            help="End every prospection message with its one-click opt-out link (or not).",
        ),
    ] = None,
    address: Address = None,
    contact_email: ContactEmail = None,
    dpo_name: DpoName = None,
    dpo_email: DpoEmail = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change an advertiser (audited): its name, non-commercial registration, categories,
    whether its prospection messages end with their opt-out link, its contact details and
    data-protection officer (for its record of processing), or add sender IDs."""
    ctx = open_context()
    with refusals(UPDATE_OPTIONS):
        advertiser = advertisers.update(
            ctx,
            slug,
            name=name,
            non_commercial_id=non_commercial_id,
            clear_non_commercial=clear_non_commercial,
            add_senders=add_sender or [],
            categories=None if categories is None else list(split_list(categories)),
            stop_link=stop_link,
            contact=_contact(
                address=address, contact_email=contact_email, dpo_name=dpo_name,
                dpo_email=dpo_email,
            ),
        )  # fmt: skip
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
    with refusals():
        advertiser = advertisers.show(ctx, slug)
    if as_json:
        print_json(advertiser.as_dict())
    else:
        _echo(advertiser)
