"""What travels between Tambour and its carriers, as values: the messages it sends, and the
receipts and replies that come back. No protocol, no I/O: services record them and dispatch/
reads and writes them on the wire (SMPP in dispatch/receipts.py, replies.py and smpp/, HTTP in
dispatch/transports/), so that neither imports the other's internals.

A receipt names the part by the carrier's message id; carriers are inconsistent about the case
and base of ids (a hex id in submit_sm_resp, its decimal in the receipt text):
`Receipt.match_keys` lists every form to look a part up by, and `message_key` is the form to
store a submit_sm_resp id under. `message_outcome` folds the parts: a message is delivered when
all its parts are, failed when any part fails.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Final

from tambour.rules.replies import ReplyKind

_HEX: Final = re.compile(r"(?:0x)?[0-9a-fA-F]+")


# --- what goes out ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    reference: str  # our id for the message (an outbox row): logs name it, never the number
    sender: str  # brand (alphanumeric), short number, or E.164
    recipient: str  # E.164
    text: str  # exact, STOP mention included
    # The carrier drops what it could not deliver by then (the end of the recipient's sending
    # window, say) instead of delivering it later; None: the carrier's default validity.
    valid_until: datetime | None = None
    # Asked right before the message leaves, after any wait in the transport (its window, a
    # TPS limit, throttling, a reconnection): False and nothing is sent (RETRY). None: always.
    may_leave: Callable[[], bool] | None = field(default=None, compare=False)
    # What routing between carriers looks at besides the numbers (dispatch/routing.py).
    territory: str | None = None
    campaign: str | None = None


# --- receipts ---------------------------------------------------------------------------------


class MessageState(IntEnum):
    """SMPP v3.4 message_state (section 5.2.28)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class Outcome(StrEnum):
    """What a receipt means for the message (or part) it is about."""

    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    PENDING = "pending"  # not final: more news may come
    UNKNOWN = "unknown"  # final, but the SMSC itself does not know


STAT_WORDS: Final[dict[str, MessageState]] = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
}
STAT_WORD: Final[dict[MessageState, str]] = {state: word for word, state in STAT_WORDS.items()}

OUTCOME: Final[dict[MessageState, Outcome]] = {
    MessageState.ENROUTE: Outcome.PENDING,
    MessageState.ACCEPTED: Outcome.PENDING,
    MessageState.DELIVERED: Outcome.DELIVERED,
    MessageState.EXPIRED: Outcome.EXPIRED,
    MessageState.DELETED: Outcome.FAILED,
    MessageState.UNDELIVERABLE: Outcome.FAILED,
    MessageState.REJECTED: Outcome.FAILED,
    MessageState.UNKNOWN: Outcome.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  # the TLV's, else the text's
    state: MessageState
    text_id: str | None = None  # the `id:` of the text, when there is one
    error: int | None = None  # `err:` of the text
    network_error: tuple[int, int] | None = None  # network_error_code TLV: type, code
    submitted_at: datetime | None = None
    done_at: datetime | None = None
    submitted: int | None = None  # `sub:`
    delivered: int | None = None  # `dlvrd:`
    from_tlv: bool = False  # message_id came from the receipted_message_id TLV
    # Who the message went to (the receipt's source address, digits as the carrier wrote
    # them) and from (its destination): a receipt for a message left `unknown` proves the
    # carrier took it, when it names one such message. Never logged.
    recipient: str | None = None
    sender: str | None = None
    carrier: str = ""  # the carrier it came from (its ids are its own): config's name

    @property
    def outcome(self) -> Outcome:
        return OUTCOME[self.state]

    @property
    def match_keys(self) -> tuple[str, ...]:
        """The keys (see message_key) to look the part up by, most trustworthy first: the
        TLV id, the text id, then the text id read in the other base."""
        return tuple(dict.fromkeys((*self.primary_keys, *self.alternate_keys)))

    @property
    def primary_keys(self) -> tuple[str, ...]:
        """The ids as the carrier wrote them: the TLV's and the text's."""
        keys = [message_key(self.message_id)]
        if self.text_id is not None:
            keys.append(message_key(self.text_id))
        return tuple(dict.fromkeys(k for k in keys if k))

    @property
    def alternate_keys(self) -> tuple[str, ...]:
        """The text id read in the other base (a carrier that answers submit_sm in hex and
        writes receipts in decimal). Short sequential ids alias across bases (decimal 100 is
        hex 64, another message's id): only worth trying when the carrier gave no TLV id and
        the ids as written match nothing."""
        if self.text_id is None:
            return ()
        primary = set(self.primary_keys)
        return tuple(k for k in dict.fromkeys(_other_bases(self.text_id)) if k not in primary)


def message_key(message_id: str) -> str:
    """The form a carrier message id is stored and matched in: stripped, lower case, without
    leading zeros. A hex id given as `09e5...` in submit_sm_resp comes back in decimal in some
    receipts, and that decimal read as hex has no leading zero: both sides drop them."""
    return message_id.strip().lower().lstrip("0") or "0"


def _other_bases(text_id: str) -> list[str]:
    """A decimal id as hex and a hex id as decimal, without leading zeros either way."""
    digits = text_id.strip()
    keys: list[str] = []
    if digits.isdigit() and len(digits) <= 20:
        keys.append(format(int(digits), "x"))
    if _HEX.fullmatch(digits) and len(digits) <= 16:
        keys.append(str(int(digits, 16)))
    return keys


def message_outcome(parts: Iterable[Outcome | None]) -> Outcome:
    """The outcome of a message from those of its parts (None: no receipt yet). Failed when any
    part failed, else expired when any expired, else pending while any part may still be
    delivered, else unknown when the SMSC does not know of one, else delivered."""
    seen = set(parts)
    if not seen:
        return Outcome.PENDING
    for outcome in (Outcome.FAILED, Outcome.EXPIRED, Outcome.PENDING, None, Outcome.UNKNOWN):
        if outcome in seen:
            return Outcome.PENDING if outcome is None else outcome
    return Outcome.DELIVERED


# --- replies -----------------------------------------------------------------------------------

MAX_ADDRESS: Final = 16  # characters of a number kept with a reply (store/tables.py replies)


@dataclass(frozen=True, slots=True)
class Concatenation:
    """Which part of which concatenated message a short_message is."""

    reference: int
    total: int
    number: int  # 1-based


@dataclass(frozen=True, slots=True)
class Reply:
    sender: str | None  # E.164 of the person, None when the address is not a phone number
    sender_address: str  # the address as the SMSC gave it
    short_number: str  # the number the person wrote to
    text: str
    kind: ReplyKind
    concatenation: Concatenation | None = None  # part of a longer reply
