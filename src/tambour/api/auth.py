"""Who calls: the API key of `Authorization: Bearer tbr_live_...`, its scopes, its tenant.

A process keeps each key it looked up for `key_cache_seconds` (a second by default), unknown
ones included: a request costs a SHA-256 and a dictionary look-up, the database is asked at
most once a second per key, and a revoked key is refused within that second. Each request
then spends one of its key's rate-limit tokens.

Tenancy: a key of one advertiser sees that advertiser's data only; another's is answered 404,
exactly as what does not exist (`visible_advertiser`), before any scope is checked, so that
a key learns nothing of the other tenants. A missing scope on one's own data is 403.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from tambour.api.problems import WWW_AUTHENTICATE, ApiError
from tambour.api.runtime import Runtime, request_info
from tambour.services import api_keys
from tambour.services.api_keys import ApiKey, Scope, StoredKey, UnauthenticatedError

_CACHE_SIZE: Final = 10_000
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    bearerFormat="tbr_live_<key id>_<secret>",
    description="An API key (`tambour apikey create`), as `Authorization: Bearer tbr_live_...`.",
)


class KeyCache:
    """Keys looked up, by key id, for `ttl` seconds (None: no such key)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._found: OrderedDict[str, tuple[float, StoredKey | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key_id: str) -> tuple[bool, StoredKey | None]:
        with self._lock:
            entry = self._found.get(key_id)
        if entry is None or self._clock() - entry[0] >= self.ttl:
            return False, None
        return True, entry[1]

    def put(self, key_id: str, stored: StoredKey | None) -> None:
        with self._lock:
            self._found[key_id] = (self._clock(), stored)
            self._found.move_to_end(key_id)
            while len(self._found) > _CACHE_SIZE:
                self._found.popitem(last=False)


def runtime(request: Request) -> Runtime:
    found: Runtime = request.app.state.runtime
    return found


async def _runtime(request: Request) -> Runtime:
    """`runtime` as a dependency: a coroutine, which FastAPI calls in the event loop, where it
    would run a plain function in a thread of its pool (a hop a request for nothing)."""
    return runtime(request)


Shared = Annotated[Runtime, Depends(_runtime)]


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The request's API key, once its rate limit allows the request; 401 or 429 otherwise."""
    shared = runtime(request)
    await _ready(shared)
    if credentials is None:
        raise ApiError(401, "missing_api_key", headers={"WWW-Authenticate": WWW_AUTHENTICATE})
    try:
        key_id, token = api_keys.parse_token(credentials.credentials)
        known, stored = request.app.state.key_cache.get(key_id)
        if not known:
            stored = await run_in_threadpool(api_keys.lookup, shared.context(), key_id)
            request.app.state.key_cache.put(key_id, stored)
        key = api_keys.check(stored, token)
    except UnauthenticatedError as error:
        raise ApiError(
            401,
            error.code,
            headers={"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'},
        ) from None
    info = request_info(request)
    info.key_id = key.key_id
    info.rate = allowance = shared.limiter.take(key.key_id)
    if not allowance.allowed:
        raise ApiError(
            429,
            "rate_limited",
            values={"seconds": allowance.retry_after},
            headers={"Retry-After": str(allowance.retry_after)},
        )
    return key


async def _ready(shared: Runtime) -> None:
    """503 while the database cannot serve (asked in a thread: it may take seconds)."""
    if not shared.ready:
        await run_in_threadpool(shared.ensure_ready)


Caller = Annotated[ApiKey, Depends(authenticated)]


def require(key: ApiKey, *scopes: Scope) -> None:
    """403 unless `key` has one of `scopes`."""
    if not any(key.allows(scope) for scope in scopes):
        raise ApiError(403, "missing_scope", values={"scope": " | ".join(scopes)})


def visible_advertiser(key: ApiKey, slug: str) -> None:
    """404, as for an advertiser that does not exist, unless `key` may see `slug`'s data:
    the operator sees every advertiser, an advertiser's key its own only."""
    if not key.operator and key.advertiser != slug:
        raise ApiError(404, "advertiser_not_found", values={"slug": slug})
