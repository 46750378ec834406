"""Opening the store for a command, and turning refusals into clear messages (exit code 2)."""

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.exc import ArgumentError, DataError, OperationalError

from tambour.cli.output import fail, parse_instant
from tambour.contacts.reader import ContactFileError
from tambour.keys import SecretKeyError, load_keys
from tambour.redaction import mask_url, redact
from tambour.rules.template import control_character
from tambour.services import installation
from tambour.services.audit import MAX_ACTOR
from tambour.services.context import Context, Problem, ServiceError, utc_now
from tambour.settings import Settings
from tambour.store.engine import make_engine
from tambour.store.schema import SchemaMismatchError, ensure_current


def open_context(*, check_schema: bool = True, check_key: bool = True) -> Context:
    """The Context of a command: the database (its schema checked, unless migrating), the
    installation's secret key (checked against the one the database was made with, and
    recorded on its first use), with the purpose keys a rotation kept."""
    settings = Settings.from_env()
    if not 0 < len(settings.actor) <= MAX_ACTOR or control_character(settings.actor):
        fail(f"TAMBOUR_ACTOR: who acts, 1 to {MAX_ACTOR} printable characters")
    for problem in settings.problems():
        fail(problem)
    try:
        engine = make_engine(settings.database_url, pooled=False)
    except (ArgumentError, ImportError, ValueError) as error:
        fail(
            f"TAMBOUR_DATABASE_URL: {mask_url(settings.database_url)!r} is not a database URL "
            f"({redact(str(error), settings.database_url)})"
        )
    try:
        keys = load_keys()
    except SecretKeyError as error:
        fail(f"the secret key: {error}")
    with refusals():
        if check_schema:
            ensure_current(engine)
            keys = installation.ensure_key(engine, keys)
        elif check_key:  # the schema may predate the installation table
            keys = installation.keys_if_any(engine, keys)
    fixed = _injected_now()
    clock = utc_now if fixed is None else _frozen(fixed)
    return Context(
        engine=engine, actor=settings.actor, clock=clock, keys=keys, links=settings.links,
        retention=settings.retention, complaints=settings.complaints,
    )  # fmt: skip


def _frozen(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def running_clock() -> Callable[[], datetime]:
    """The clock of a long-running command (worker, local SMSC). With TAMBOUR_NOW, time starts
    there and runs: a worker on a frozen clock would never see a lease expire nor a window open,
    and an SMSC on the real clock would judge validity periods set on the injected one."""
    start = _injected_now()
    if start is None:
        return utc_now
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def _injected_now() -> datetime | None:
    """TAMBOUR_NOW, the instant tests and demos run commands at; None when unset."""
    now = Settings.from_env().now
    return None if now is None else parse_instant(now, "TAMBOUR_NOW")


# What the command line adds to a refusal of a given code: where to look, or what to run
# (a use case's words name no command). A command adds its own in `refusals(hints=...)`.
HINTS: Mapping[str, str] = {
    "advertiser_not_found": " (see `tambour advertiser list`)",
    "campaign_not_found": " (see `tambour campaign list`)",
}


@contextmanager
def refusals(
    options: Mapping[str, str] | None = None, *, hints: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Errors a user can act on become one line on stderr and exit code 2, never a traceback.

    `options`: the command's option (or argument) for each of the use case's parameters
    (`{"senders": "--sender"}`): a refusal about a parameter is said after its option, as the
    user typed it; one about an item (`senders[1]`) after the option of its list. `hints`:
    what the command adds after a refusal of a given code (over the shared HINTS)."""
    try:
        yield
    except ServiceError as error:
        fail(worded(error, options or {}, {**HINTS, **(hints or {})}))
    except (ContactFileError, SchemaMismatchError) as error:
        fail(str(error))
    except OperationalError as error:  # the driver's words; they may quote the URL
        fail(f"the database cannot be used: {redact(str(error.orig), _database_url())}")
    except DataError:  # a value the database cannot store (a NUL given as an argument)
        fail("a value given cannot be stored: it holds a character the database refuses")
    except BrokenPipeError:  # the reader of our output left (`| head`): nothing to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as error:
        fail(f"{error.filename or ''}: {error.strerror or error}")


def _database_url() -> str:
    return Settings.from_env().database_url


def worded(
    error: ServiceError, options: Mapping[str, str], hints: Mapping[str, str] = HINTS
) -> str:
    """A use case's refusal as the command line says it: each problem after the option it is
    about, with the command's hint for its code; several joined by semicolons."""
    return "; ".join(_said(problem, options, hints) for problem in error.problems)


def _said(problem: Problem, options: Mapping[str, str], hints: Mapping[str, str]) -> str:
    text = problem.message + hints.get(problem.code, "")
    if problem.field is None:
        return text
    option = options.get(problem.field) or options.get(_parameter(problem.field))
    return f"{option}: {text}" if option else text


def _parameter(field: str) -> str:
    """The parameter a field path is in: `senders` for `senders[1]`, `changes` for
    `changes.text`."""
    return field.split("[", 1)[0].split(".", 1)[0]
