"""What every use case is given: the database, who acts, and the clock (time is a parameter)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from tambour import keys as process_keys
from tambour.keys import Keys, load_keys


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Context:
    engine: Engine
    actor: str
    clock: Callable[[], datetime] = field(default=utc_now)
    keys: Keys = field(default_factory=load_keys)  # the secret key, kept outside the database

    def __post_init__(self) -> None:
        # The key use cases are given is the one advertisers are read with (tambour/keys.py).
        process_keys.install(self.keys)

    def now(self) -> datetime:
        return self.clock()


class ServiceError(Exception):
    """A request a use case refuses, with a message a user can act on."""


class NotFoundError(ServiceError):
    pass
