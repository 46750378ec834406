"""Replies from people (MO messages) as they arrive: who wrote, to which short number, and what
it means, a STOP, a START or anything else, as the core decides it (tambour.rules.replies).
Pure: no I/O.

An inbound message that cannot be read as a reply raises ReplyError, whose message names what
is wrong and never the number or the text: the transport refuses it to the carrier for good
(SMPP: ESME_RX_P_APPN), since delivering it again would never make it readable. That is:

- a source address that is empty, or neither a phone number nor a short code (over 16
  characters, the longest a `replies` row keeps);
- a destination address longer than 16 characters (no short number is);
- a short_message whose User Data Header (or sar_* parameters) cannot be read;
- a data_coding that no standard gives a meaning to, or a GSM 03.38 compressed one (see
  `text_coding`), or a text that is not valid in its coding (UCS-2 of an odd number of octets,
  an ISO-2022-JP text with an unknown escape...).

What is read leniently, since an MO STOP must be understood whatever the carrier did to it:
GSM 03.38 septets that are not septets (some SMSCs send Latin-1 under data_coding 0) read as
Latin-1, and so do 8-bit data (data_coding 2, 4, 0xF4...), which a STOP typed in ASCII still
is; a lone UTF-16 surrogate becomes U+FFFD. A NUL becomes U+FFFD too (PostgreSQL text cannot
hold one: the reply could never be stored).
"""

from typing import Final

from tambour.dispatch.smpp.addresses import address_e164
from tambour.dispatch.smpp.pdu import DeliverSm
from tambour.dispatch.smpp.user_data import UserDataError, message_parts
from tambour.rules.replies import ReplyKind, classify_reply
from tambour.sms.gsm import decode_gsm7
from tambour.traffic import MAX_ADDRESS, Concatenation, Reply

GSM7: Final = "gsm7"
EIGHT_BIT: Final = "latin-1"  # 8-bit data and Latin-1 alike
UCS2: Final = "ucs2"

# SMPP v3.4 section 5.2.19: data_coding 0x00 to 0x0E (0x0B and 0x0C reserved).
_SMPP_CODINGS: Final[dict[int, str]] = {
    0x00: GSM7,
    0x01: EIGHT_BIT,  # IA5 (ASCII): Latin-1 reads it, and reads leniently what is not
    0x02: EIGHT_BIT,  # octet unspecified (8-bit binary)
    0x03: EIGHT_BIT,  # Latin-1
    0x04: EIGHT_BIT,  # octet unspecified (8-bit binary)
    0x05: "iso2022_jp",  # JIS X 0208
    0x06: "iso8859_5",  # Cyrillic
    0x07: "iso8859_8",  # Latin/Hebrew
    0x08: UCS2,
    0x09: EIGHT_BIT,  # pictograms: no character set to read them by
    0x0A: "iso2022_jp",  # ISO-2022-JP (music codes)
    0x0D: "iso2022_jp_1",  # extended Kanji JIS X 0212
    0x0E: "euc_kr",  # KS C 5601
}
_ALPHABETS: Final = (GSM7, EIGHT_BIT, UCS2, None)  # GSM 03.38 alphabet bits: 00, 01, 10, 11


class ReplyError(ValueError):
    """An inbound message that can never be read as a reply (see the module docstring)."""


def text_coding(data_coding: int) -> str | None:
    """How to read a deliver_sm's text: GSM7, EIGHT_BIT, UCS2 or a Python codec name; None for
    a data_coding that cannot be read. 0x00 to 0x0F are SMPP's (section 5.2.19); above, carriers
    pass the GSM 03.38 data coding scheme on: general and automatic-deletion groups, uncompressed
    (alphabet in bits 3-2), message waiting groups (GSM 7-bit, 0xE_ UCS-2), and 0xF_ (bit 2:
    8-bit data, else GSM 7-bit). Compressed texts (bit 5 of the first groups) and the reserved
    groups 0x80 to 0xBF cannot be read."""
    if data_coding < 0x10:
        return _SMPP_CODINGS.get(data_coding)
    group = data_coding >> 4
    if group in (0x1, 0x4, 0x5):
        return _ALPHABETS[(data_coding >> 2) & 0b11]
    if group in (0xC, 0xD):
        return GSM7
    if group == 0xE:
        return UCS2
    if group == 0xF:
        return EIGHT_BIT if data_coding & 0x04 else GSM7
    return None  # compressed (0x2_, 0x3_, 0x6_, 0x7_) or reserved (0x8_ to 0xB_)


def decode_reply_text(data_coding: int, payload: bytes) -> str:
    """The text of a reply's payload; raises ReplyError when it cannot be read."""
    coding = text_coding(data_coding)
    if coding is None:
        raise ReplyError(f"data_coding 0x{data_coding:02X} gives no readable text")
    if coding == GSM7:
        try:
            return decode_gsm7(payload)
        except ValueError:
            return payload.decode(EIGHT_BIT)
    if coding == UCS2:
        if len(payload) % 2:
            raise ReplyError(f"UCS-2 text of {len(payload)} octets: not whole characters")
        return payload.decode("utf-16-be", "replace")
    try:
        return payload.decode(coding)
    except (UnicodeDecodeError, LookupError):
        raise ReplyError(
            f"the text is not valid {coding} (data_coding 0x{data_coding:02X})"
        ) from None


def make_reply(
    *,
    sender: str | None,
    sender_address: str,
    short_number: str,
    text: str,
    concatenation: Concatenation | None = None,
) -> Reply:
    """A reply, checked and classified, whatever transport it came by; raises ReplyError when
    its addresses cannot be kept. A part of a longer reply is a STOP when a STOP is in it (the
    words of a refusal stand anywhere: a STOP word cut across two parts is missed, but each
    part is kept for the advertiser to read), never a START (a consent is the whole text)."""
    source = sender_address.strip()
    if not source:
        raise ReplyError("the source address is empty")
    if sender is None and len(source) > MAX_ADDRESS:
        raise ReplyError(
            f"the source address ({len(source)} characters) is neither a phone number nor a "
            "short code"
        )
    destination = short_number.strip()
    if len(destination) > MAX_ADDRESS:
        raise ReplyError(
            f"the destination address has {len(destination)} characters: no short number has"
        )
    text = text.replace("\x00", "\ufffd")
    kind = classify_reply(text)
    if concatenation is not None and kind is ReplyKind.START:
        kind = ReplyKind.OTHER
    return Reply(
        sender=sender,
        sender_address=source,
        short_number=destination,
        text=text,
        kind=kind,
        concatenation=concatenation,
    )


def parse_reply(pdu: DeliverSm) -> Reply:
    """The reply a deliver_sm (not a receipt) carries; raises ReplyError when it cannot be
    read (see the module docstring)."""
    try:
        concatenation, payload = message_parts(pdu)
    except UserDataError as error:
        raise ReplyError(f"short_message: {error}") from None
    return make_reply(
        sender=address_e164(pdu.source) if pdu.source.address.strip() else None,
        sender_address=pdu.source.address,
        short_number=pdu.destination.address,
        text=decode_reply_text(pdu.data_coding, payload),
        concatenation=concatenation,
    )
