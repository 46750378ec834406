"""`Idempotency-Key` on every POST (api/routing.py adds `guard` to each): a retry of a request,
with the same key and the same body, gets the first response again, marked
`Idempotent-Replayed: true`, for 24 hours; the same key with another body (or another route)
is refused 422; a retry while the first request still runs gets 409. Keys are per API key.

The body is compared as JSON when it is JSON (key order and spacing do not matter), else as
bytes. A request that fails unexpectedly (500) releases its key: its retry runs. The response
is stored before its last byte is sent, so a client that has it can replay it at once.
"""

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Final

import orjson
from fastapi import FastAPI, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tambour.api import idempotency_store as store
from tambour.api.auth import Caller, runtime
from tambour.api.problems import ApiError
from tambour.api.runtime import RequestInfo, Runtime, request_info

HEADER: Final = "Idempotency-Key"
REPLAYED: Final = "Idempotent-Replayed"
STALE_AFTER: Final = timedelta(minutes=5)  # a first request still running then is dead
PURGE_EVERY: Final = 600.0  # seconds between two purges of expired keys, per process
MAX_STORED: Final = 1 << 20  # a larger response is not kept (the key is released)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description="Any string of 1 to 255 visible ASCII characters, new for each operation "
        "(a UUID): a retry with it and the same body gets the first response again.",
    ),
]


@dataclass(frozen=True, slots=True)
class Ticket:
    api_key_id: int
    key: str


# Not an error: how the guard hands the stored answer to its handler.
class Replayed(Exception):  # noqa: N818
    def __init__(self, response: store.StoredResponse) -> None:
        super().__init__("replayed")
        self.response = response


async def guard(request: Request, caller: Caller, idempotency_key: IdempotencyKey = None) -> None:
    """Take the request's Idempotency-Key, or answer from what it stands for."""
    if idempotency_key is None:
        return
    shared = runtime(request)
    body = await request.body()
    digest = fingerprint(request.method, request.url.path, body)
    await _purge_now_and_then(request, shared)
    begun = await run_in_threadpool(
        store.begin,
        shared.engine,
        caller.id,
        idempotency_key,
        digest,
        now=shared.clock(),
        keep=timedelta(hours=shared.settings.idempotency_hours),
        stale_after=STALE_AFTER,
    )
    if isinstance(begun, store.StoredResponse):
        raise Replayed(begun)
    if begun is store.Begun.MISMATCH:
        raise ApiError(422, "idempotency_key_reused")
    if begun is store.Begun.RUNNING:
        raise ApiError(409, "idempotency_in_progress", headers={"Retry-After": "1"})
    request_info(request).idempotency = Ticket(caller.id, idempotency_key)


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.digest()


async def _purge_now_and_then(request: Request, shared: Runtime) -> None:
    state = request.app.state
    if time.monotonic() - getattr(state, "idempotency_purged", float("-inf")) < PURGE_EVERY:
        return
    state.idempotency_purged = time.monotonic()
    await run_in_threadpool(store.purge, shared.engine, shared.clock())


def replay(response: store.StoredResponse) -> Response:
    headers = {REPLAYED: "true"}
    if response.location:
        headers["Location"] = response.location
    return Response(
        response.body,
        status_code=response.status,
        media_type=response.content_type,
        headers=headers,
    )


class Recorder:
    """Stores the response of a request that took its Idempotency-Key (before its last byte
    leaves), or releases the key when the request failed unexpectedly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started: Message = {}
        chunks: list[bytes] = []

        async def recording(message: Message) -> None:
            ticket = _ticket(scope)
            if ticket is not None:
                if message["type"] == "http.response.start":
                    started.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        await _settle(scope, ticket, started, b"".join(chunks))
            await send(message)

        try:
            await self.app(scope, receive, recording)
        except BaseException:
            ticket = _ticket(scope)
            if ticket is not None:
                await run_in_threadpool(
                    store.release, _shared(scope).engine, ticket.api_key_id, ticket.key
                )
            raise


def _ticket(scope: Scope) -> Ticket | None:
    info = scope.get("state", {}).get("tambour")
    ticket = info.idempotency if isinstance(info, RequestInfo) else None
    return ticket if isinstance(ticket, Ticket) else None


def _shared(scope: Scope) -> Runtime:
    app: FastAPI = scope["app"]
    found: Runtime = app.state.runtime
    return found


async def _settle(scope: Scope, ticket: Ticket, started: Message, body: bytes) -> None:
    engine = _shared(scope).engine
    status = int(started.get("status", 500))
    if status >= 500 or len(body) > MAX_STORED:
        await run_in_threadpool(store.release, engine, ticket.api_key_id, ticket.key)
        return
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in started.get("headers", [])
    }
    response = store.StoredResponse(
        status, headers.get("content-type"), headers.get("location"), body
    )
    await run_in_threadpool(store.complete, engine, ticket.api_key_id, ticket.key, response)
    # Settled: an error after this point (the client gone) must not release it.
    info: RequestInfo = scope["state"]["tambour"]
    info.idempotency = None


def install(app: FastAPI) -> None:
    async def on_replayed(request: Request, error: Exception) -> Response:
        assert isinstance(error, Replayed)
        return replay(error.response)

    app.add_exception_handler(Replayed, on_replayed)
    app.add_middleware(Recorder)
