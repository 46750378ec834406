"""Opening the store for a command, and turning refusals into clear messages (exit code 2)."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import ArgumentError, OperationalError

from tambour.cli.output import fail, parse_instant
from tambour.contacts.reader import ContactFileError
from tambour.services.context import Context, ServiceError
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
    if settings.now is None:
        return Context(engine=engine, actor=settings.actor)
    fixed = parse_instant(settings.now, "TAMBOUR_NOW")
    return Context(engine=engine, actor=settings.actor, clock=lambda: fixed)


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
