"""A text as the short_message of one or more submit_sm, and back.

Sending: our splitter (tambour.sms.text.split_text) decides the encoding and the parts; a text
of one part goes as it is, a longer one as parts that each start with a 6-octet User Data
Header: IEI 0x00 (concatenation, 8-bit reference), the reference, the part count, the part
number, with esm_class 0x40 (UDHI). The splitter's 153 septets / 67 UTF-16 units per part assume
that 6-octet header (a 16-bit reference would not fit: 7 + 134 octets is over 140).

- data_coding 0: GSM 03.38, unpacked septets (one a byte), as SMPP carriers take it; the SMSC
  packs them for the air interface.
- data_coding 8: UCS-2, UTF-16 big-endian (characters beyond U+FFFF as surrogate pairs).

Receiving (MO replies, and the local SMSC's reassembly): the header is read back, from the UDH
(IEI 0x00 or 0x08) or from the sar_* TLVs, and the text decoded by its data_coding.
"""

from dataclasses import dataclass
from typing import Final

from tambour.dispatch.smpp.pdu import ShortMessage, Tag, find_tlv
from tambour.sms.gsm import decode_gsm7, encode_gsm7, encode_ucs2
from tambour.sms.text import split_text
from tambour.traffic import Concatenation

GSM7: Final = 0x00
IA5: Final = 0x01  # IA5 / ASCII
LATIN1: Final = 0x03
UCS2: Final = 0x08
UDHI: Final = 0x40  # esm_class bit: the short_message starts with a User Data Header
MAX_PARTS: Final = 255
_IEI_CONCAT_8: Final = 0x00
_IEI_CONCAT_16: Final = 0x08


class UserDataError(ValueError):
    """A User Data Header that cannot be read, or a text that cannot be sent."""


@dataclass(frozen=True, slots=True)
class EncodedText:
    """The short_message of each part of a text, and how to send them."""

    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]


def encode_text(text: str, reference: int) -> EncodedText:
    """The parts of `text`; `reference` (0..255) ties the parts of one message together and
    should differ between the long messages sent to one recipient."""
    if not 0 <= reference <= 0xFF:
        raise UserDataError(f"reference {reference} is outside 0..255")
    encoding, pieces = split_text(text)
    if not pieces:
        raise UserDataError("an empty text cannot be sent")
    data_coding, encode = (GSM7, encode_gsm7) if encoding == "GSM-7" else (UCS2, encode_ucs2)
    if len(pieces) == 1:
        return EncodedText(data_coding, 0, (encode(pieces[0]),))
    total = len(pieces)
    if total > MAX_PARTS:
        raise UserDataError(f"{total} parts: a concatenated message has at most {MAX_PARTS}")
    parts = tuple(
        bytes((5, _IEI_CONCAT_8, 3, reference, total, number)) + encode(piece)
        for number, piece in enumerate(pieces, start=1)
    )
    return EncodedText(data_coding, UDHI, parts)


def split_header(esm_class: int, short_message: bytes) -> tuple[Concatenation | None, bytes]:
    """The concatenation header of a short_message (None without one) and its payload. Other
    information elements of the header are skipped."""
    if not esm_class & UDHI:
        return None, short_message
    if not short_message:
        raise UserDataError("UDHI set but the short_message is empty")
    length = short_message[0]
    if length + 1 > len(short_message):
        raise UserDataError(f"UDH length {length} runs past the {len(short_message)} octets")
    header, payload = short_message[1 : length + 1], short_message[length + 1 :]
    concat: Concatenation | None = None
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header):
            raise UserDataError("UDH ends inside an information element")
        iei, size = header[pos], header[pos + 1]
        value = header[pos + 2 : pos + 2 + size]
        if len(value) != size:
            raise UserDataError(f"UDH element 0x{iei:02X} runs past the header")
        if iei == _IEI_CONCAT_8 and size == 3:
            concat = _concatenation(value[0], value[1], value[2])
        elif iei == _IEI_CONCAT_16 and size == 4:
            concat = _concatenation(int.from_bytes(value[:2], "big"), value[2], value[3])
        pos += 2 + size
    return concat, payload


def _concatenation(reference: int, total: int, number: int) -> Concatenation:
    if total == 0 or not 1 <= number <= total:
        raise UserDataError(f"concatenation part {number} of {total}")
    return Concatenation(reference, total, number)


def message_parts(pdu: ShortMessage) -> tuple[Concatenation | None, bytes]:
    """The concatenation of a submit_sm or deliver_sm, from its UDH or its sar_* TLVs, and its
    payload (the message_payload TLV when short_message is empty)."""
    concat, payload = split_header(pdu.esm_class, pdu.short_message)
    if not pdu.tlvs:
        return concat, payload
    if not payload:
        payload = find_tlv(pdu.tlvs, Tag.MESSAGE_PAYLOAD) or b""
    if concat is None:
        reference = find_tlv(pdu.tlvs, Tag.SAR_MSG_REF_NUM)
        total = find_tlv(pdu.tlvs, Tag.SAR_TOTAL_SEGMENTS)
        number = find_tlv(pdu.tlvs, Tag.SAR_SEGMENT_SEQNUM)
        if reference is not None and total is not None and number is not None:
            if len(reference) != 2 or len(total) != 1 or len(number) != 1:
                raise UserDataError("sar_* parameters of the wrong size")
            concat = _concatenation(int.from_bytes(reference, "big"), total[0], number[0])
    return concat, payload


def decode_payload(data_coding: int, payload: bytes) -> str:
    """The text of a payload. GSM 03.38 septets that are not septets (some SMSCs send Latin-1
    under data_coding 0) and unknown codings read as Latin-1, never an error: an MO STOP must
    be understood whatever the carrier did to it."""
    if data_coding == UCS2:
        return payload[: len(payload) & ~1].decode("utf-16-be", "replace")
    if data_coding == GSM7:
        try:
            return decode_gsm7(payload)
        except ValueError:
            return payload.decode("latin-1")
    return payload.decode("latin-1")
