"""Shared output helpers: JSON for scripts, clear errors with exit code 2 for bad input."""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tambour.contacts.values import PARIS, parse_datetime
from tambour.outfiles import create_private
from tambour.rules.fold import split_list

BAD_INPUT = 2
BLOCKED = 3  # a campaign defined or planned with a block standing: scripts stop there
# The years an instant given on the command line may fall in: the sending calendar, time zones
# and the database all work there (year 1 or 9999 overflow as soon as a zone or a day is added).
FIRST_YEAR, LAST_YEAR = 1900, 2199


def fail(message: str) -> NoReturn:
    """Report bad input on stderr, in words, and exit 2. Never a traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(BAD_INPUT)


def within(option: str, low: int, high: int) -> Callable[[int | None], int | None]:
    """An option's callback refusing a number out of `low` to `high` in one line (exit 2):
    a negative count, or one so large the database cannot take it."""

    def check(value: int | None) -> int | None:
        if value is not None and not low <= value <= high:
            fail(f"{option}: {value} is not a number from {low:,} to {high:,}")
        return value

    return check


Choice = TypeVar("Choice", bound=StrEnum)


def parse_choice(value: str, kinds: type[Choice], option: str) -> Choice:
    """`value` (any case, spaces around) as one of `kinds`, or bad input naming the choices."""
    try:
        return kinds(value.strip().casefold())
    except ValueError:
        fail(f"{option}: {value!r} is not one of {', '.join(kind.value for kind in kinds)}")


def listed(value: str) -> list[str]:
    """An option's `a;b` list as its members (stripped, the empty left out)."""
    return list(split_list(value))


def print_json(payload: object) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def parse_instant(value: str, option: str) -> datetime:
    """An instant in any form a contacts file accepts: ISO 8601 (2026-12-09T10:00:00+01:00)
    or French (09/12/2026 10:00, day first); without an offset it is Paris time."""
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        fail(
            f"{option}: {value!r} is not a date and time (09/12/2026 10:00 or "
            "2026-12-09T10:00, Paris time unless an offset is given)"
        )
    local = parsed.astimezone(PARIS)
    if not FIRST_YEAR <= local.year <= LAST_YEAR:
        fail(f"{option}: {value!r} is not between the years {FIRST_YEAR} and {LAST_YEAR}")
    return local


def create_file(path: Path, option: str, encoding: str = "utf-8-sig") -> IO[str]:
    """A new file for people (a CSV: UTF-8 with a BOM, as Excel reads it; JSON: `utf-8`),
    readable by its owner only; refused when something is at `path` already (nothing is
    written over) or its folder does not exist."""
    try:
        return create_private(path, encoding)
    except FileExistsError:
        fail(f"{option}: {path} exists already; name a new file")
    except FileNotFoundError:
        fail(f"{option}: the folder {path.parent} does not exist")
    except OSError as error:
        fail(f"{option}: cannot create {path}: {error.strerror}")


def local_iso(instant: datetime, timezone: str) -> str:
    """ISO 8601 with the offset of `timezone` (a recipient's own local time)."""
    return instant.astimezone(ZoneInfo(timezone)).isoformat()


@contextmanager
def progress(description: str, unit: str, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A spinner on stderr (a terminal only, unless `quiet`) counting `unit`s, with the time
    elapsed; gone when done. Yields the callback that advances the count."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description} {task.completed:,} " + unit),
        TimeElapsedColumn(),
        disable=quiet or not sys.stderr.isatty(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)
        yield lambda n: bar.advance(task, n)
