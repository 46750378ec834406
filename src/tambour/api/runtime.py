"""What the requests of one server process share: the pooled engine, the installation's key,
the clock, the key cache and the rate limiter; and whether the database is ready (reachable,
its schema this Tambour's, its key ours). Built once by the app factory.

A server started on a database whose schema is behind (a deployment before its migration)
runs and says so: `/readyz` answers 503 and the API 503 too, until the schema is current
(checked again at most every `RECHECK_SECONDS`), then serves without checking again.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from fastapi import Request
from sqlalchemy.exc import DBAPIError

from tambour.api.problems import ApiError
from tambour.api.rate_limit import Allowance, RateLimiter
from tambour.api.settings import ApiSettings
from tambour.contacts.values import parse_datetime
from tambour.keys import Keys, load_keys
from tambour.services import installation
from tambour.services.api_keys import ApiKey
from tambour.services.context import Context, ServiceError, utc_now
from tambour.store.engine import make_engine
from tambour.store.schema import SchemaMismatchError, ensure_current

RECHECK_SECONDS: Final = 1.0
log = logging.getLogger("tambour.api")


@dataclass(slots=True)
class RequestInfo:
    """What the layers of one request tell each other (kept in the ASGI scope's state)."""

    key_id: str | None = None  # the API key's public id, once authenticated
    rate: Allowance | None = None
    idempotency: object | None = None  # api/idempotency.py's ticket, when one is held


def request_info(request: Request) -> RequestInfo:
    info = request.scope.setdefault("state", {}).get("tambour")
    if not isinstance(info, RequestInfo):
        info = request.scope["state"]["tambour"] = RequestInfo()
    return info


class Runtime:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.base.database_url, pool_size=settings.pool_size)
        self.clock = running_clock(settings.base.now)
        self.limiter = RateLimiter(settings.rate, settings.burst)
        self._keys: Keys = load_keys()
        self._ready = False
        self._problem: ApiError | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def context(self, key: ApiKey | None = None) -> Context:
        """The Context of a use case run for `key` (the audit log names it)."""
        return self.acting_as("api" if key is None else f"api:{key.key_id}")

    def acting_as(self, actor: str) -> Context:
        """The Context of a use case run for `actor` (the web app's account, a recipient)."""
        return Context(
            engine=self.engine,
            actor=actor,
            clock=self.clock,
            keys=self._keys,
            links=self.settings.base.links,
            retention=self.settings.base.retention,
            complaints=self.settings.base.complaints,
        )

    @property
    def keys(self) -> Keys:
        """The installation's secret key (outside the database): the web app derives its CSRF
        key from it."""
        return self._keys

    @property
    def ready(self) -> bool:
        return self._ready

    def ensure_ready(self) -> None:
        """Return when the database can serve; raise ApiError(503) otherwise. Once ready,
        this costs nothing; before, the database is asked at most every RECHECK_SECONDS."""
        if self._ready:
            return
        with self._lock:
            if not self._ready and time.monotonic() - self._checked_at >= RECHECK_SECONDS:
                self._check()
            if not self._ready:
                assert self._problem is not None
                raise self._problem

    def check_now(self) -> None:
        """`ensure_ready`, asking the database whatever the time since the last check."""
        with self._lock:
            self._check()
            if not self._ready:
                assert self._problem is not None
                raise self._problem

    def _check(self) -> None:
        self._checked_at = time.monotonic()
        try:
            ensure_current(self.engine)
            self._keys = installation.ensure_key(self.engine, self._keys)
        except SchemaMismatchError as error:
            self._refuse("schema_not_current", str(error))
            return
        except ServiceError as error:  # installation.KeyMismatchError: another key's database
            self._refuse("secret_key_mismatch", str(error))
            return
        except DBAPIError as error:
            self._refuse("database_unavailable", type(error.orig).__name__)
            return
        if not self._ready:
            log.info("the database is ready", extra={"event": "api_ready"})
        self._ready = True
        self._problem = None

    def _refuse(self, code: str, reason: str) -> None:
        if self._problem is None or self._problem.code != code:
            log.warning("the database cannot serve: %s", reason, extra={"event": "api_not_ready"})
        self._ready = False
        self._problem = ApiError(503, code, headers={"Retry-After": "5"})

    def close(self) -> None:
        self.engine.dispose()


def running_clock(now: str | None) -> Callable[[], datetime]:
    """TAMBOUR_NOW as a start, from which time runs (as for the worker); the real clock
    without it."""
    start = None if now is None else parse_datetime(now)
    if start is None:
        return utc_now
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)
