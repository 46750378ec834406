"""`tambour sms count`: encoding, segments and what forces UCS-2."""

import sys
from typing import Annotated

import typer

from tambour.cli.output import print_json
from tambour.sms.text import count_text

app = typer.Typer(no_args_is_help=True, help="SMS text mechanics.")


@app.command("count")
def count(
    text: Annotated[
        str | None, typer.Argument(help="The text; read from stdin when omitted.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Count the encoding, units and segments of a text, and the characters forcing UCS-2."""
    if text is None:
        text = sys.stdin.read()
        if text.endswith("\n"):
            text = text[:-1]  # the newline a shell or `echo` adds is not part of the message
    result = count_text(text)
    if as_json:
        print_json(result.as_dict())
        return
    unit = "septets" if result.encoding == "GSM-7" else "UTF-16 units"
    parts = " + ".join(str(u) for u in result.units_per_segment) or "0"
    typer.echo(f"{result.encoding}: {result.units} {unit}, {result.segments} segment(s) ({parts})")
    for char in result.non_gsm:
        typer.echo(f"  {char.char!r} at index {char.index} forces UCS-2")
    if result.suggestion is not None:
        suggested = count_text(result.suggestion)
        typer.echo(f"Suggestion ({suggested.segments} segment(s) in GSM-7): {result.suggestion}")
