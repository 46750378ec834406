"""Delivery callbacks of the HTTP aggregator transport: the aggregator POSTs JSON to
`/callbacks` on Tambour's callback port, with `Authorization: Bearer <callback_token>` (the
listener does not start without a token).

    {"type": "receipt", "id": "<carrier id>", "status": "delivered", "error": "0x1A"}
    {"type": "reply", "from": "+33612345678", "to": "36111", "text": "STOP"}

`status` is delivered, failed (or undelivered, undeliverable), expired, rejected, deleted,
enroute (or sent, queued), accepted or unknown, or an SMPP stat word (DELIVRD, UNDELIV...);
`error` is optional, a number or a decimal/hex string. Answers: 200 once the inbound handler
is done; 400 for a payload that cannot be read, is not a JSON object or nests deeper than 4
(411 without a Content-Length, 413 over 64 KiB; 422 when the handler rejects it for good):
the aggregator must not send it again; 401 without the token; 503 when too many connections
are open; 500 when the handler failed: the aggregator should try again.
"""

from collections.abc import Mapping
from typing import Any, Final

from tambour.dispatch.inbound import (
    Inbound,
    InboundDeferredError,
    InboundHandler,
    InboundRejectedError,
)
from tambour.dispatch.json_http import JsonHttpServer
from tambour.dispatch.receipts import parse_error_code
from tambour.dispatch.replies import ReplyError, make_reply
from tambour.sms.phone import parse_phone
from tambour.traffic import STAT_WORDS, MessageState, Receipt

CALLBACK_PATH: Final = "/callbacks"
CALLBACK_MAX_DEPTH: Final = 4  # a callback is a flat object; room for an aggregator's extras

STATUS_WORDS: Final[dict[str, MessageState]] = {
    "delivered": MessageState.DELIVERED,
    "failed": MessageState.UNDELIVERABLE,
    "undelivered": MessageState.UNDELIVERABLE,
    "undeliverable": MessageState.UNDELIVERABLE,
    "expired": MessageState.EXPIRED,
    "rejected": MessageState.REJECTED,
    "deleted": MessageState.DELETED,
    "enroute": MessageState.ENROUTE,
    "sent": MessageState.ENROUTE,
    "queued": MessageState.ENROUTE,
    "accepted": MessageState.ACCEPTED,
    "unknown": MessageState.UNKNOWN,
    **{word.lower(): state for word, state in STAT_WORDS.items()},
}


class CallbackError(ValueError):
    """A callback payload that cannot be read."""


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise CallbackError(f"{key!r} must be a non-empty string")
    return value


def parse_callback(payload: Mapping[str, Any]) -> Inbound:
    kind = payload.get("type")
    if kind == "receipt":
        status = _text(payload, "status")
        state = STATUS_WORDS.get(status.lower())
        if state is None:
            raise CallbackError(f"status {status!r} is not one of {sorted(STATUS_WORDS)}")
        error = payload.get("error")
        if error is not None and not isinstance(error, int | str):
            raise CallbackError("'error' must be a number or a string")
        code = error if isinstance(error, int) else parse_error_code(error)
        return Receipt(message_id=_text(payload, "id"), state=state, error=code)
    if kind == "reply":
        sender, text = _text(payload, "from"), payload.get("text")
        if not isinstance(text, str):
            raise CallbackError("'text' must be a string")
        try:  # the same checks and reading as a reply over SMPP
            return make_reply(
                sender=parse_phone(sender).e164,
                sender_address=sender,
                short_number=_text(payload, "to"),
                text=text,
            )
        except ReplyError as error:  # a 4xx: the aggregator does not post it again
            raise CallbackError(str(error)) from None
    raise CallbackError(f"'type' must be 'receipt' or 'reply', not {kind!r}")


class CallbackServer(JsonHttpServer):
    """The callback listener. It faces the aggregator, hence the network: it needs its token
    (refused without one), and takes what JsonHttpServer bounds: read deadline, connections,
    body size and depth. It logs no phone number and no message text."""

    def __init__(
        self,
        host: str,
        port: int,
        on_inbound: InboundHandler,
        token: str | None,
        *,
        read_timeout: float = 10.0,
        max_connections: int = 32,
    ) -> None:
        if not token:
            raise ValueError(
                "the delivery-callback listener needs a token (callback_token, or "
                "TAMBOUR_HTTP_CALLBACK_TOKEN): without one anyone could post receipts and STOPs"
            )
        self._on_inbound = on_inbound
        super().__init__(
            host,
            port,
            {("POST", CALLBACK_PATH): self._callback},
            token=token,
            read_timeout=read_timeout,
            max_connections=max_connections,
            max_depth=CALLBACK_MAX_DEPTH,
        )

    async def _callback(
        self, payload: dict[str, Any] | None, _headers: Mapping[str, str]
    ) -> tuple[int, object]:
        try:
            inbound = parse_callback(payload or {})
        except CallbackError as error:
            return 400, {"error": str(error)}
        try:
            pending = self._on_inbound(inbound)
            if pending is not None:
                await pending
        except InboundRejectedError as error:
            return 422, {"error": str(error)}
        except InboundDeferredError:  # the worker's database is away: the aggregator retries
            return 503, {"error": "cannot be recorded now: post it again later"}
        return 200, {"ok": True}
