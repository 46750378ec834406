"""Replies from people (MO messages) as they arrive: who wrote, to which short number, and what
it means, a STOP, a START or anything else, as the core decides it (tambour.rules.replies).
Pure: no I/O."""

from dataclasses import dataclass

from tambour.dispatch.smpp.addresses import address_e164
from tambour.dispatch.smpp.pdu import DeliverSm
from tambour.dispatch.smpp.user_data import Concatenation, decode_payload, message_parts
from tambour.rules.replies import ReplyKind, classify_reply


@dataclass(frozen=True, slots=True)
class Reply:
    sender: str | None  # E.164 of the person, None when the address is not a phone number
    sender_address: str  # the address as the SMSC gave it
    short_number: str  # the number the person wrote to
    text: str
    kind: ReplyKind
    concatenation: Concatenation | None = None  # part of a longer reply


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
