"""Replies from people (MO messages): who wrote, to which short number, and whether it is a STOP
(rules.md section 6), a START, or anything else. Pure: no I/O.

The text is normalized as rules.md says: case and accents folded (tambour.rules.fold), then
punctuation and spaces removed, so "Stop !", "S.T.O.P", "stop sms" and "ＳＴＯＰ" all read `stop`.
It is a STOP when it is or starts with one of the words of rules.md: STOP (which covers STOP SMS),
ARRET, DESABONNER, DESINSCRIRE, UNSUBSCRIBE. Two stems are read a little wider, on the safe side
of the law (an opt-out wrongly recorded costs a contact; one missed is an unlawful message):
"desabonn" and "desinscri" also catch "désabonnement", "désabonnez-moi" and "désinscription".

START is a new consent, so it must be unambiguous: the whole normalized text is `start`. A text
that starts with a STOP word is a STOP whatever follows ("STOP START" is a STOP).
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tambour.dispatch.smpp.addresses import address_e164
from tambour.dispatch.smpp.pdu import DeliverSm
from tambour.dispatch.smpp.user_data import Concatenation, decode_payload, message_parts
from tambour.rules.fold import fold

STOP_PREFIXES: Final = ("stop", "arret", "desabonn", "desinscri", "unsubscribe")
START_WORD: Final = "start"
_NOT_ALNUM: Final = re.compile(r"[\W_]+")


class ReplyKind(StrEnum):
    STOP = "stop"
    START = "start"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reply:
    sender: str | None  # E.164 of the person, None when the address is not a phone number
    sender_address: str  # the address as the SMSC gave it
    short_number: str  # the number the person wrote to
    text: str
    kind: ReplyKind
    concatenation: Concatenation | None = None  # part of a longer reply


def normalize_reply(text: str) -> str:
    """Case, accents, punctuation and spaces folded: 'Arrêt, SVP !' -> 'arretsvp'."""
    return _NOT_ALNUM.sub("", fold(text))


def classify_reply(text: str) -> ReplyKind:
    normalized = normalize_reply(text)
    if normalized.startswith(STOP_PREFIXES):
        return ReplyKind.STOP
    if normalized == START_WORD:
        return ReplyKind.START
    return ReplyKind.OTHER


def parse_reply(pdu: DeliverSm) -> Reply:
    """The reply a deliver_sm (not a receipt) carries. A part other than the first of a longer
    reply is OTHER: the words that make a STOP are at the start of the first part."""
    concatenation, payload = message_parts(pdu)
    text = decode_payload(pdu.data_coding, payload)
    kind = classify_reply(text)
    if concatenation is not None and concatenation.number != 1:
        kind = ReplyKind.OTHER
    return Reply(
        sender=address_e164(pdu.source),
        sender_address=pdu.source.address,
        short_number=pdu.destination.address,
        text=text,
        kind=kind,
        concatenation=concatenation,
    )
