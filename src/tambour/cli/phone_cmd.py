"""`tambour phone info`: what a number is, where and in which time zones."""

from typing import Annotated

import typer

from tambour.cli.output import fail, print_json
from tambour.rules.territory import Locality, locate
from tambour.sms.phone import PhoneInfo, parse_phone

app = typer.Typer(no_args_is_help=True, help="Phone numbers.")


def locate_or_fail(phone: PhoneInfo, postal_code: str | None, option: str = "") -> Locality:
    """The locality of a valid number; refused in words (exit 2) for one without a time zone."""
    try:
        return locate(phone, postal_code)
    except ValueError:
        fail(
            f"{option + ': ' if option else ''}{phone.e164} is a valid number but no time zone "
            "is known for it (non-geographic numbering, such as +800): it has no sending window"
        )


@app.command("info")
def info(
    number: Annotated[str, typer.Argument(help="Any usual notation; default region FR.")],
    postal_code: Annotated[
        str | None, typer.Option("--postal-code", help="Refines the territory.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """E.164, validity, mobile or not, territory and time zone(s) of a number."""
    phone = parse_phone(number)
    if phone.e164 is None:
        fail(f"{number!r} is not a phone number")
    locality = locate_or_fail(phone, postal_code) if phone.valid else None
    payload = {
        "input": number,
        "e164": phone.e164,
        "valid": phone.valid,
        "mobile": phone.mobile,
        "region": phone.region,
        "territory": locality.territory if locality else None,
        "timezones": list(locality.timezones) if locality else [],
        "holiday_regions": [
            f"{country}-{subdiv}" if subdiv else country
            for country, subdiv in (locality.holiday_regions if locality else ())
        ],
    }
    if as_json:
        print_json(payload)
        return
    for key, value in payload.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        typer.echo(f"{key:16} {shown}")
