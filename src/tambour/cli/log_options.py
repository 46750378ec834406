"""The logging options of the long-running commands (`worker`, `jobs run`), one definition."""

from typing import Annotated, Final

import typer

from tambour import logs
from tambour.cli.output import fail

FORMATS: Final = ("json", "text")

LogLevel = Annotated[
    str,
    typer.Option(
        "--log-level",
        help=f"Log from this level on: {', '.join(logs.LEVELS)}.",
        case_sensitive=False,
    ),
]
LogFormat = Annotated[
    str,
    typer.Option(
        "--log-format",
        help="json: one JSON object a line on stderr, never a phone number or a text; "
        "text: plain lines.",
    ),
]


def configure_logs(level: str, form: str) -> str:
    """Log as the options say (bad values refused in one line, exit 2); returns the level as
    `logs` names it, for a child process to be given."""
    if level.lower() not in logs.LEVELS:
        fail(f"--log-level: expected one of {', '.join(logs.LEVELS)}, got {level!r}")
    if form not in FORMATS:
        fail(f"--log-format: expected {' or '.join(FORMATS)}, got {form!r}")
    logs.configure(level.lower(), structured=form == "json")
    return level.lower()
