"""Delivery callbacks of the HTTP aggregator transport: the aggregator POSTs JSON to
`/callbacks` on Tambour's callback port, with `Authorization: Bearer <callback_token>` when
one is set.

    {"type": "receipt", "id": "<carrier id>", "status": "delivered", "error": "0x1A"}
    {"type": "reply", "from": "+33612345678", "to": "36111", "text": "STOP"}

`status` is delivered, failed (or undelivered, undeliverable), expired, rejected, deleted,
enroute (or sent, queued), accepted or unknown, or an SMPP stat word (DELIVRD, UNDELIV...);
`error` is optional, a number or a decimal/hex string. Answers: 200 once the inbound handler
is done; 400 for a payload that cannot be read (and 422 when the handler rejects it for good):
the aggregator must not send it again; 401 without the token; 500 when the handler failed: the
aggregator should try again.
"""

import hmac
from collections.abc import Mapping
from typing import Any, Final

from tambour.dispatch.inbound import Inbound, InboundHandler, InboundRejectedError
from tambour.dispatch.json_http import JsonHttpServer
from tambour.dispatch.receipts import STAT_WORDS, MessageState, Receipt, parse_error_code
from tambour.dispatch.replies import Reply
from tambour.rules.replies import classify_reply
from tambour.sms.phone import parse_phone

CALLBACK_PATH: Final = "/callbacks"

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
        return Reply(
            sender=parse_phone(sender).e164,
            sender_address=sender,
            short_number=_text(payload, "to"),
            text=text,
            kind=classify_reply(text),
        )
    raise CallbackError(f"'type' must be 'receipt' or 'reply', not {kind!r}")


class CallbackServer(JsonHttpServer):
    def __init__(
        self, host: str, port: int, on_inbound: InboundHandler, token: str | None = None
    ) -> None:
        self._on_inbound = on_inbound
        self._token = token
        super().__init__(host, port, {("POST", CALLBACK_PATH): self._callback})

    async def _callback(
        self, payload: dict[str, Any] | None, headers: Mapping[str, str]
    ) -> tuple[int, object]:
        if self._token is not None:
            given = headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode()):
                return 401, {"error": "a callback needs Authorization: Bearer <token>"}
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
        return 200, {"ok": True}
