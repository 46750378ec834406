"""What every use case is given: the database, who acts, and the clock (time is a parameter)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from tambour import keys as process_keys
from tambour.keys import Keys, load_keys
from tambour.rules.complaints import PausePolicy
from tambour.rules.links import LinkBases
from tambour.rules.retention import RetentionPeriods


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Context:
    engine: Engine
    actor: str
    clock: Callable[[], datetime] = field(default=utc_now)
    keys: Keys = field(default_factory=load_keys)  # the secret key, kept outside the database
    links: LinkBases = field(default_factory=LinkBases)  # where recipients open links (settings)
    retention: RetentionPeriods = field(default_factory=RetentionPeriods)  # (settings)
    # When 33700 complaints pause an advertiser's campaigns (settings; an advertiser may
    # have its own threshold).
    complaints: PausePolicy = field(default_factory=PausePolicy)

    def __post_init__(self) -> None:
        # The key use cases are given is the one advertisers are read with (tambour/keys.py).
        process_keys.install(self.keys)

    def now(self) -> datetime:
        return self.clock()


class ServiceError(Exception):
    """A request a use case refuses, with a message a user can act on.

    `code` is a stable identifier an API returns (snake_case, never reworded); `field` names
    the argument at fault, by the use case's own parameter name (`senders`, `send_at`), never
    by a CLI option: each entry point words it for its own users (the CLI adds its flag, the
    API points at its JSON member)."""

    status = 422  # the HTTP status an API answers with

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    @property
    def problems(self) -> "tuple[Problem, ...]":
        """Every problem the refusal reports, each with its field and code (an API lists them
        in its `errors`; the CLI words each with its option): this one alone, unless several
        were found at once (`InvalidInputError.many`)."""
        return (Problem(self.field, self.code, self.message),)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a use case's arguments: `field` (the parameter, or a path into it
    such as `senders[1]`; None when it is about no one argument), a stable `code`, and what is
    wrong, in words that name no entry point's options."""

    field: str | None
    code: str
    message: str

    def said(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInputError(ServiceError):
    """An argument a use case refuses: `field` says which, `code` why. `many` makes one refusal
    of several problems found together, each keeping its field and code."""

    MANY = "invalid_input"  # the code of a refusal of several problems

    def __init__(
        self, field: str | None, code: str, message: str, *, problems: Sequence[Problem] = ()
    ) -> None:
        super().__init__(message, code=code, field=field)
        self._problems = tuple(problems) or (Problem(field, code, message),)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self._problems

    @classmethod
    def many(cls, problems: Sequence[Problem]) -> "InvalidInputError":
        """One refusal of `problems` (at least one): the problem itself when it is alone, else
        code `invalid_input`, no one field, and a message naming each problem's field."""
        if not problems:
            raise ValueError("InvalidInputError.many needs at least one problem")
        if len(problems) == 1:
            (only,) = problems
            return cls(only.field, only.code, only.message)
        message = "; ".join(problem.said() for problem in problems)
        return cls(None, cls.MANY, message, problems=problems)


def refuse_any(problems: Sequence[Problem]) -> None:
    """Raise InvalidInputError for `problems`, if there are any."""
    if problems:
        raise InvalidInputError.many(problems)


class NotFoundError(ServiceError):
    """What was named does not exist, or belongs to another tenant (the same to the caller)."""

    status = 404

    def __init__(self, message: str, *, code: str = "not_found", field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


class ConflictError(ServiceError):
    """The request contradicts the state of what it names (a name taken, a campaign launched)."""

    status = 409

    def __init__(self, message: str, *, code: str = "conflict", field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


# The names an API speaks of (issue 15): the same classes.
InvalidInput = InvalidInputError
NotFound = NotFoundError
Conflict = ConflictError
