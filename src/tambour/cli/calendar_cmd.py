"""`tambour calendar check`: may a prospection message reach this recipient at this instant?"""

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from tambour.cli.output import fail, local_iso, parse_instant, print_json
from tambour.cli.phone_cmd import locate_or_fail
from tambour.rules import calendar
from tambour.sms.phone import parse_phone

app = typer.Typer(no_args_is_help=True, help="The sending window (rules.md section 4).")


@app.command("check")
def check(
    at: Annotated[str, typer.Option("--at", help="ISO 8601 instant; no offset = Paris time.")],
    phone: Annotated[str, typer.Option("--phone", help="The recipient's number.")],
    postal_code: Annotated[
        str | None, typer.Option("--postal-code", help="Refines the territory.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Whether the instant is inside the recipient's window, why not, and the next allowed one."""
    instant = parse_instant(at, "--at")
    number = parse_phone(phone)
    if number.e164 is None or not number.valid:
        fail(f"--phone: {phone!r} is not a valid phone number")
    locality = locate_or_fail(number, postal_code, "--phone")
    verdict = calendar.check(instant, locality, calendar.LEGAL_WINDOW)
    upcoming = calendar.next_allowed(instant, locality, calendar.LEGAL_WINDOW)
    zone = locality.timezones[0]
    closes = calendar.window_end(instant, locality, calendar.LEGAL_WINDOW)
    local_day = instant.astimezone(ZoneInfo(zone)).date()
    payload = {
        "allowed": verdict.allowed,
        "reason": verdict.reason,
        "holiday": calendar.holiday_name(local_day, locality),
        "next_allowed": local_iso(upcoming, zone),
        "window_end": local_iso(closes, zone) if closes else None,
        "territory": locality.territory,
        "timezone": zone,
        "timezones": list(locality.timezones),
        "local_time": local_iso(instant, zone),
    }
    if as_json:
        print_json(payload)
        return
    state = "allowed" if verdict.allowed else f"not allowed ({verdict.reason})"
    if payload["holiday"]:
        state += f", {payload['holiday']}"
    typer.echo(f"{payload['local_time']} in {locality.territory} ({zone}): {state}")
    if not verdict.allowed:
        typer.echo(f"next allowed: {payload['next_allowed']}")
    elif closes:
        typer.echo(f"window closes: {payload['window_end']}")
