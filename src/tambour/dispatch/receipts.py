"""Delivery receipts: what a deliver_sm says about a message part, and what the receipts of all
the parts say about the message. Pure: no I/O, no clock.

A receipt names the part by the carrier's message id: the receipted_message_id TLV (0x001E)
when the SMSC sends one, else the `id:` of the receipt text, the SMPP v3.4 appendix B form

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:...

Dates have 10 digits, or 12 with the seconds (the SMSC's clock, zone unknown: kept naive).
`err` is decimal (`err:000`), or hexadecimal when it says so (`0x1A`) or has a letter (`01A`).
The state comes from the message_state TLV (0x0427) when present, else from `stat:`.
Carriers are inconsistent about the case and base of ids (a hex id in submit_sm_resp, its
decimal in the receipt text): `Receipt.match_keys` lists every form to look a part up by, and
`message_key` is the form to store a submit_sm_resp id under.

`message_outcome` folds the parts: a message is delivered when all its parts are, failed when
any part fails.
"""

import re
from datetime import datetime
from typing import Final

from tambour.dispatch.smpp.pdu import DeliverSm, Tag, find_tlv
from tambour.traffic import (
    _HEX,
    STAT_WORD,
    STAT_WORDS,
    MessageState,
    Receipt,
)

RECEIPT: Final = 0x04  # esm_class message type: SMSC delivery receipt
INTERMEDIATE: Final = 0x20  # esm_class message type: intermediate delivery notification
_MESSAGE_TYPE: Final = 0x3C


class ReceiptError(ValueError):
    """A deliver_sm that claims to be a receipt but does not say which part or what state."""


def is_receipt(pdu: DeliverSm) -> bool:
    """A delivery receipt (or intermediate notification), not a reply from a person."""
    return (pdu.esm_class & _MESSAGE_TYPE) in (RECEIPT, INTERMEDIATE)


_FIELD: Final = re.compile(
    r"\b(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err)\s*:\s*(\S*)", re.IGNORECASE
)
_TEXT: Final = re.compile(r"\btext\s*:", re.IGNORECASE)
_STANDARD: Final = re.compile(
    r"id:(\S*) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S*) err:(\S*)(?: |$)"
)
_STANDARD_KEYS: Final = ("id", "sub", "dlvrd", "submit date", "done date", "stat", "err")
MAX_ID: Final = 64  # SMPP's message_id is at most 65 octets with its NUL
MAX_ERROR: Final = 0x7FFFFFFF


def parse_receipt(pdu: DeliverSm) -> Receipt:
    """The receipt a deliver_sm carries. Raises ReceiptError when it names no part or no
    state; a date, count or error code it garbles is left out (None), never fatal."""
    fields = parse_receipt_text(pdu.short_message.decode("latin-1"))
    tlv_id = find_tlv(pdu.tlvs, Tag.RECEIPTED_MESSAGE_ID) if pdu.tlvs else None
    text_id = fields.get("id") or None
    message_id = _tlv_text(tlv_id) if tlv_id is not None else text_id
    if not message_id:
        raise ReceiptError("receipt without receipted_message_id nor an id: in its text")
    if len(message_id) > MAX_ID or (text_id is not None and len(text_id) > MAX_ID):
        raise ReceiptError(f"receipt with a message id of more than {MAX_ID} characters")
    state = _state(pdu, fields.get("stat"))
    return Receipt(
        message_id=message_id,
        state=state,
        text_id=text_id,
        error=parse_error_code(fields.get("err")),
        network_error=_network_error(pdu),
        submitted_at=parse_receipt_date(fields.get("submit date")),
        done_at=parse_receipt_date(fields.get("done date")),
        submitted=_count(fields.get("sub")),
        delivered=_count(fields.get("dlvrd")),
        from_tlv=tlv_id is not None,
        recipient=pdu.source.address or None,
        sender=pdu.destination.address or None,
    )


def parse_receipt_text(text: str) -> dict[str, str]:
    """The `key:value` fields of a receipt text before its `text:` (keys lower case, with a
    space in `submit date` and `done date`)."""
    standard = _STANDARD.match(text)
    if standard is not None:  # the usual layout: one match instead of a scan
        return dict(zip(_STANDARD_KEYS, standard.groups(), strict=True))
    end = _TEXT.search(text)
    head = text[: end.start()] if end else text
    return {
        match.group(1).lower().replace("_", " "): match.group(2) for match in _FIELD.finditer(head)
    }


def _tlv_text(value: bytes) -> str:
    return value.rstrip(b"\0").decode("latin-1")


def _state(pdu: DeliverSm, stat: str | None) -> MessageState:
    tlv = find_tlv(pdu.tlvs, Tag.MESSAGE_STATE) if pdu.tlvs else None
    if tlv is not None:
        if len(tlv) != 1:
            raise ReceiptError(f"message_state TLV of {len(tlv)} octets, not 1")
        try:
            return MessageState(tlv[0])
        except ValueError:
            raise ReceiptError(f"message_state {tlv[0]} is not an SMPP v3.4 state") from None
    if stat is None:
        raise ReceiptError("receipt without message_state nor a stat: in its text")
    state = STAT_WORDS.get(stat.upper())
    if state is None:
        raise ReceiptError(f"stat:{stat} is not an SMPP v3.4 state")
    return state


def _network_error(pdu: DeliverSm) -> tuple[int, int] | None:
    value = find_tlv(pdu.tlvs, Tag.NETWORK_ERROR_CODE) if pdu.tlvs else None
    if value is None or len(value) != 3:
        return None
    return value[0], int.from_bytes(value[1:], "big")


def parse_receipt_date(value: str | None) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss (years 2000 to 2099), or None."""
    if value is None or not value.isdigit() or len(value) not in (10, 12):
        return None
    try:  # slicing, not strptime: five times faster, and a receipt a part is a lot of dates
        return datetime(
            2000 + int(value[0:2]),
            int(value[2:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]) if len(value) == 12 else 0,
        )
    except ValueError:
        return None


def parse_error_code(value: str | None) -> int | None:
    """`err:` as a number: decimal unless it says 0x or has a hex letter; None when absent or
    unreadable."""
    if not value:
        return None
    if value.isdigit():
        code = int(value)
    elif _HEX.fullmatch(value):
        code = int(value, 16)
    else:
        return None
    return code if code <= MAX_ERROR else None  # garbage, not a code: and it must fit int4


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def format_receipt_date(instant: datetime, seconds: bool = False) -> str:
    return instant.strftime("%y%m%d%H%M%S" if seconds else "%y%m%d%H%M")


def format_receipt_text(
    message_id: str,
    state: MessageState,
    submitted_at: datetime,
    done_at: datetime,
    error: int = 0,
    text: str = "",
    seconds: bool = False,
) -> str:
    """The SMPP v3.4 appendix B receipt text (what the local SMSC sends)."""
    delivered = "001" if state == MessageState.DELIVERED else "000"
    return (
        f"id:{message_id} sub:001 dlvrd:{delivered} "
        f"submit date:{format_receipt_date(submitted_at, seconds)} "
        f"done date:{format_receipt_date(done_at, seconds)} "
        f"stat:{STAT_WORD[state]} err:{error:03d} text:{text[:20]}"
    )
