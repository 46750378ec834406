"""The database as a worker sees it: up, or away since some time. A worker outlives its database
(a restart, a fail-over, a network cut): every database step is tried again with a growing wait,
the outage is logged once when it starts and once when it ends (not once a try), and meanwhile
the SMPP session stays bound and nothing leaves whose claim is not known to be committed.

Which errors mean "away": the driver's connection errors (OperationalError, InterfaceError) or
any error that invalidated the connection. A constraint violation or a bug is not an outage.
"""

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import InterfaceError, OperationalError, StatementError

log = logging.getLogger("tambour.dispatch.worker")

FIRST_WAIT = 0.2  # seconds before the first retry
LONGEST_WAIT = 5.0


def transient(error: BaseException) -> bool:
    """A database away, busy or in a conflict: writing again later may succeed."""
    return isinstance(error, OperationalError | InterfaceError) or bool(
        getattr(error, "connection_invalidated", False)
    )


def described(error: BaseException) -> str:
    """An error named safely (for a log, or the carrier): a database error's text quotes the
    statement and its parameters (phone numbers, reply texts), so only classes and a code."""
    if not isinstance(error, StatementError):
        return type(error).__name__
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
    name = type(original).__name__ if original is not None else type(error).__name__
    return f"{type(error).__name__} ({name}{f', {code}' if code else ''})"


@dataclass
class Outage:
    """Whether the database is away, and how long to wait before the next try."""

    since: float | None = None  # monotonic
    outages: int = 0
    _wait: float = field(default=FIRST_WAIT, repr=False)

    @property
    def away(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, step: str) -> float:
        """A step failed because the database is away: seconds to wait before trying again.
        The first failure of an outage is logged; the others are not."""
        if self.since is None:
            self.since = time.monotonic()
            self.outages += 1
            self._wait = FIRST_WAIT
            log.warning(
                "database unavailable (%s, during %s): retrying with backoff; the SMPP "
                "session stays bound and nothing new leaves meanwhile",
                described(error),
                step,
                extra={"event": "database_unavailable", "step": step},
            )
        wait = self._wait
        self._wait = min(self._wait * 2, LONGEST_WAIT)
        return wait

    def succeeded(self) -> None:
        """A step went through: an outage, if any, is over (logged once)."""
        if self.since is None:
            return
        seconds = time.monotonic() - self.since
        self.since = None
        self._wait = FIRST_WAIT
        log.warning(
            "database back after %.1f s",
            seconds,
            extra={"event": "database_back", "seconds": round(seconds, 1)},
        )
