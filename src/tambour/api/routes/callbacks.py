"""`/api/v1/callbacks`: the delivery callbacks of the HTTP aggregators (receipts and replies),
recorded through the services the worker uses (services/callbacks.py). They replace the
listener the worker ran until issue 15.

    POST /api/v1/callbacks            the one [transport] of TAMBOUR_CONFIG, kind = "http"
    POST /api/v1/callbacks/{carrier}  a [[carriers]] of kind "http", by its name

Each HTTP carrier's `callback_url` (what the aggregator is told to post to) is one of these.
Not an integrator's API: not authenticated by API keys but by the carrier's `callback_token`
(`Authorization: Bearer <it>`, compared in constant time, before the body is read), so neither
rate-limited per key nor guarded by Idempotency-Key (a callback twice changes nothing), and
left out of the OpenAPI document. The server reads the carriers and their tokens from
TAMBOUR_CONFIG at start (api/settings.py).

Answers (problem+json for every error): 200 `{"ok": true, "type": ...}` once it is committed;
404 for a carrier that takes no callbacks here (unknown, not HTTP, or without a token); 401
without the token; 413 for a body over 64 KiB (by its Content-Length, before reading it, or as
it comes when chunked); 408 when the body has not arrived whole within 10 s
(TAMBOUR_CALLBACK_READ_TIMEOUT); 400 when it is not JSON in UTF-8; 422 when it is not a callback
(`errors` names the member), nests deeper than 4, or is a receipt the database can never take:
the aggregator must not send those again; 503 while the database is away and 500 when recording
failed otherwise: the aggregator sends it again. Nothing of a body is ever logged (a phone
number, a reply's text): the access log names the route template only.
"""

import asyncio
import dataclasses
import hmac
import logging
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, StatementError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from tambour.api.auth import Shared
from tambour.api.problems import WWW_AUTHENTICATE, ApiError, FieldError
from tambour.api.runtime import Runtime
from tambour.api.schemas.callbacks import CallbackAccepted, ReceiptCallback, ReplyCallback
from tambour.dispatch.config import CALLBACKS_PATH
from tambour.dispatch.json_http import json_depth
from tambour.dispatch.outage import described, transient
from tambour.dispatch.transports.http_callbacks import (
    CALLBACK_MAX_DEPTH,
    CallbackError,
    make_callback_reply,
    make_receipt,
)
from tambour.services import callbacks
from tambour.services.callbacks import CallbackRecorded

log = logging.getLogger("tambour.api")
BEARER: Final = "bearer "

router = APIRouter(prefix=CALLBACKS_PATH, tags=["callbacks"], include_in_schema=False)

Authorization = Annotated[str | None, Header()]


@router.post("")
async def transport_callback(
    request: Request, shared: Shared, authorization: Authorization = None
) -> CallbackAccepted:
    """A callback of the one [transport] of kind "http"."""
    return await _receive(request, shared, "", authorization)


@router.post("/{carrier}")
async def carrier_callback(
    carrier: str, request: Request, shared: Shared, authorization: Authorization = None
) -> CallbackAccepted:
    """A callback of the [[carriers]] named `carrier`, of kind "http"."""
    return await _receive(request, shared, carrier, authorization)


async def _receive(
    request: Request, shared: Runtime, carrier: str, authorization: str | None
) -> CallbackAccepted:
    settings = shared.settings
    expected = settings.callbacks.get(carrier)
    if expected is None:
        raise ApiError(404, "callback_carrier_not_found")
    if not _token_matches(authorization, expected):
        raise ApiError(
            401,
            "invalid_callback_token",
            headers={"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'},
        )
    if not shared.ready:  # 503 while the database cannot serve: the aggregator retries
        await run_in_threadpool(shared.ensure_ready)
    body = await _body(request, settings.callback_max_body, settings.callback_read_timeout)
    if json_depth(body) > CALLBACK_MAX_DEPTH:
        raise ApiError(422, "callback_too_deep")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:  # not JSON, or not UTF-8
        raise ApiError(400, "malformed_body") from None
    inbound = _callback(payload, carrier)
    ctx = dataclasses.replace(shared.context(), actor=f"callback:{carrier or 'transport'}")
    try:
        if isinstance(inbound, ReceiptCallback):
            receipt = make_receipt(inbound.id, inbound.status, inbound.error, carrier)
            done: CallbackRecorded = await run_in_threadpool(callbacks.record_receipt, ctx, receipt)
        else:
            reply = make_callback_reply(inbound.sender, inbound.to, inbound.text)
            done = await run_in_threadpool(callbacks.record_reply, ctx, reply)
    except CallbackError as error:
        field = f"/{error.field}" if error.field else ""
        raise ApiError(
            422, "validation_failed", errors=[FieldError(field, error.code, error.message)]
        ) from None
    except DBAPIError as error:
        raise _database_problem(error, carrier, isinstance(inbound, ReceiptCallback)) from None
    return CallbackAccepted(type=done.kind)


def _token_matches(authorization: str | None, expected: str) -> bool:
    """`Authorization: Bearer <expected>`, compared in constant time."""
    given = authorization or ""
    if given[: len(BEARER)].lower() != BEARER:
        return False
    return hmac.compare_digest(given[len(BEARER) :].strip().encode(), expected.encode())


async def _body(request: Request, limit: int, seconds: float) -> bytes:
    """The body, at most `limit` bytes (413: by its Content-Length before reading any, or as it
    comes when it has none), arrived whole within `seconds` (408 otherwise: a slow sender
    holds nothing long)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "callback_too_large", values={"limit": limit}, headers=_CLOSE)
    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise ApiError(
                        413, "callback_too_large", values={"limit": limit}, headers=_CLOSE
                    )
    except TimeoutError:
        raise ApiError(
            408, "callback_too_slow", values={"seconds": f"{seconds:g}"}, headers=_CLOSE
        ) from None
    except ClientDisconnect:  # nobody to answer; the aggregator sends it again
        raise ApiError(400, "malformed_body", headers=_CLOSE) from None
    return bytes(body)


_CLOSE: Final = {"Connection": "close"}


def _callback(payload: Any, carrier: str) -> ReceiptCallback | ReplyCallback:
    """The payload as a callback, its shape checked (422 naming the member otherwise)."""
    kind = payload.get("type") if isinstance(payload, dict) else None
    model: type[BaseModel] = ReplyCallback if kind == "reply" else ReceiptCallback
    if not isinstance(payload, dict) or kind not in ("receipt", "reply"):
        raise RequestValidationError(
            [
                {
                    "type": "literal_error" if isinstance(payload, dict) else "model_type",
                    "loc": ("body", "type") if isinstance(payload, dict) else ("body",),
                    "msg": "a JSON object whose 'type' is 'receipt' or 'reply' is expected",
                }
            ]
        )
    try:
        found = model.model_validate(payload)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None
    assert isinstance(found, ReceiptCallback | ReplyCallback)
    return found


def _database_problem(error: DBAPIError, carrier: str, receipt: bool) -> ApiError:
    """A write the database refused. Away or busy: 503, the aggregator sends it again. Another
    refusal of a receipt: it never will take it (a value out of its range): 422, not to be sent
    again. Of a reply (a STOP): 500, sent again, never dropped here. Logged by its class and
    code only: a database error's text quotes the numbers and texts it was given."""
    what = described(error) if isinstance(error, StatementError) else type(error).__name__
    if transient(error):
        log.warning(
            "a delivery callback cannot be recorded now: %s",
            what,
            extra={"event": "callback_deferred", "carrier": carrier},
        )
        return ApiError(503, "database_unavailable", headers={"Retry-After": "5"})
    log.error(
        "a delivery callback could not be recorded: %s",
        what,
        extra={"event": "callback_failed", "carrier": carrier},
    )
    if receipt:
        return ApiError(422, "callback_not_recordable")
    return ApiError(500, "internal_error")
