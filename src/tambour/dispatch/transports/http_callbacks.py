"""What an HTTP aggregator's delivery callbacks say, read into the receipts and replies every
transport gives (tambour.traffic). The aggregator POSTs them to `tambour serve`
(api/routes/callbacks.py: authentication, size and time bounds, answers), one JSON object a
callback:

    {"type": "receipt", "id": "<carrier id>", "status": "delivered", "error": "0x1A"}
    {"type": "reply", "from": "+33612345678", "to": "36111", "text": "STOP"}

`status` is delivered, failed (or undelivered, undeliverable), expired, rejected, deleted,
enroute (or sent, queued), accepted or unknown, or an SMPP stat word (DELIVRD, UNDELIV...);
`error` is optional, a number or a decimal/hex string. Other members are ignored (room for an
aggregator's extras). Until issue 15 the worker ran a listener of its own for them.
"""

from collections.abc import Mapping
from typing import Any, Final

from tambour.dispatch.inbound import Inbound
from tambour.dispatch.receipts import MAX_ERROR, parse_error_code
from tambour.dispatch.replies import ReplyError, make_reply
from tambour.sms.phone import parse_phone
from tambour.traffic import STAT_WORDS, MessageState, Receipt, Reply

CALLBACK_MAX_DEPTH: Final = 4  # a callback is a flat object; room for an aggregator's extras
MAX_ID: Final = 64  # characters of a carrier's id (stored as a key of at most 72)

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
    """A callback that cannot be read: `field` names the member at fault (None: the whole)."""

    def __init__(self, field: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


def make_receipt(message_id: str, status: str, error: int | str | None, carrier: str) -> Receipt:
    """The receipt of a callback from `carrier` (its name in the configuration, '' for the one
    [transport]); CallbackError when a member cannot be read."""
    message_id = message_id.strip()
    if not message_id or len(message_id) > MAX_ID:
        raise CallbackError("id", "invalid_id", f"1 to {MAX_ID} characters are expected")
    state = STATUS_WORDS.get(status.strip().lower())
    if state is None:
        raise CallbackError(
            "status", "unknown_status", f"{status[:40]!r} is not one of {sorted(STATUS_WORDS)}"
        )
    if isinstance(error, bool) or (isinstance(error, int) and not 0 <= error <= MAX_ERROR):
        raise CallbackError("error", "invalid_error", f"a number from 0 to {MAX_ERROR}")
    code = error if isinstance(error, int) else parse_error_code(error)
    return Receipt(message_id=message_id, state=state, error=code, carrier=carrier)


def make_callback_reply(sender: str, short_number: str, text: str) -> Reply:
    """The reply of a callback, with the same checks and reading as a reply over SMPP;
    CallbackError when its addresses cannot be kept."""
    try:
        return make_reply(
            sender=parse_phone(sender).e164,
            sender_address=sender,
            short_number=short_number,
            text=text,
        )
    except ReplyError as error:
        field = "to" if "destination" in str(error) else "from"
        raise CallbackError(field, "invalid_address", str(error)) from None


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise CallbackError(key, "invalid", f"{key!r} must be a non-empty string")
    return value


def parse_callback(payload: Mapping[str, Any], carrier: str = "") -> Inbound:
    """A callback's JSON object as a receipt or a reply; CallbackError when it cannot be read."""
    kind = payload.get("type")
    if kind == "receipt":
        error = payload.get("error")
        if error is not None and not isinstance(error, int | str):
            raise CallbackError("error", "invalid_error", "'error' must be a number or a string")
        return make_receipt(_text(payload, "id"), _text(payload, "status"), error, carrier)
    if kind == "reply":
        text = payload.get("text")
        if not isinstance(text, str):
            raise CallbackError("text", "invalid", "'text' must be a string")
        return make_callback_reply(_text(payload, "from"), _text(payload, "to"), text)
    raise CallbackError(
        "type", "invalid_type", f"'type' must be 'receipt' or 'reply', not {kind!r}"
    )
