"""Shared output helpers: JSON for scripts, clear errors with exit code 2 for bad input."""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Report bad input on stderr, in words, and exit 2. Never a traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(BAD_INPUT)


def print_json(payload: object) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def parse_instant(value: str, option: str) -> datetime:
    """An ISO 8601 instant; without an offset it is Europe/Paris local time."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 instant (e.g. 2026-12-01T10:00:00+01:00)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo("Europe/Paris"))
    return parsed


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
