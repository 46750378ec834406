"""Opening the store for a command, and turning refusals into clear messages (exit code 2)."""

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.exc import ArgumentError, OperationalError

from tambour.cli.output import fail, parse_instant
from tambour.contacts.reader import ContactFileError
from tambour.services.context import Context, ServiceError, utc_now
from tambour.settings import Settings
from tambour.store.engine import make_engine
from tambour.store.schema import SchemaMismatchError, ensure_current


def open_context(*, check_schema: bool = True) -> Context:
    settings = Settings.from_env()
    try:
        engine = make_engine(settings.database_url, pooled=False)
    except (ArgumentError, ImportError) as error:
        fail(f"TAMBOUR_DATABASE_URL: {settings.database_url!r} is not a database URL ({error})")
    if check_schema:
        with refusals():
            ensure_current(engine)
    fixed = _injected_now()
    if fixed is None:
        return Context(engine=engine, actor=settings.actor)
    return Context(engine=engine, actor=settings.actor, clock=lambda: fixed)


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


@contextmanager
def refusals() -> Iterator[None]:
    """Errors a user can act on become one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except (ServiceError, ContactFileError, SchemaMismatchError) as error:
        fail(str(error))
    except OperationalError as error:
        fail(f"the database cannot be used: {error.orig}")
    except BrokenPipeError:  # the reader of our output left (`| head`): nothing to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as error:
        fail(f"{error.filename or ''}: {error.strerror or error}")
