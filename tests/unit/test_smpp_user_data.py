"""A text as submit_sm parts (our splitter, GSM 03.38 or UCS-2, 6-octet concatenation UDH) and
back; addresses with their TON/NPI."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tambour.dispatch.smpp.addresses import (
    AddressError,
    address_e164,
    recipient_address,
    sender_address,
)
from tambour.dispatch.smpp.pdu import Address, DeliverSm, SubmitSm, Tag, Tlv
from tambour.dispatch.smpp.user_data import (
    GSM7,
    UCS2,
    UDHI,
    UserDataError,
    decode_payload,
    encode_text,
    message_parts,
    split_header,
)
from tambour.sms.gsm import udh_fill_bits
from tambour.traffic import Concatenation

GSM_TEXT = "Soldes d'été : -50% sur les robes [code ETE] à 30 € ! " * 4  # extension chars
UCS2_TEXT = "🎉 Marie, c’est la fête : -30% sur la pâtisserie 🍰 ce week-end ! " * 3


def reassemble(parts: tuple[bytes, ...], esm_class: int, data_coding: int) -> str:
    payloads = []
    for number, part in enumerate(parts, start=1):
        concat, payload = split_header(esm_class, part)
        if len(parts) > 1:
            assert concat is not None
            assert (concat.total, concat.number) == (len(parts), number)
        payloads.append(payload)
    return decode_payload(data_coding, b"".join(payloads))


def air_octets(data_coding: int, part: bytes, has_udh: bool) -> int:
    """Octets the part takes on the air interface (septets packed)."""
    if data_coding == UCS2:
        return len(part)
    udh = part[0] + 1 if has_udh else 0
    septets = len(part) - udh
    return udh + math.ceil((septets * 7 + (udh_fill_bits(udh) if udh else 0)) / 8)


def test_a_short_text_is_one_part_without_header() -> None:
    encoded = encode_text("Bonjour Léa, -20% ! STOP au 36111", 7)
    assert encoded.data_coding == GSM7
    assert encoded.esm_class == 0
    assert encoded.parts == (b"Bonjour L\x05a, -20% ! STOP au 36111",)  # é is septet 0x05


def test_long_gsm_text_parts_carry_a_concatenation_header() -> None:
    encoded = encode_text(GSM_TEXT, 200)
    assert encoded.data_coding == GSM7
    assert encoded.esm_class == UDHI
    assert len(encoded.parts) == 2
    for number, part in enumerate(encoded.parts, start=1):
        assert part[:6] == bytes((5, 0, 3, 200, 2, number))
    assert reassemble(encoded.parts, UDHI, GSM7) == GSM_TEXT


def test_long_ucs2_text_with_emoji() -> None:
    encoded = encode_text(UCS2_TEXT, 1)
    assert encoded.data_coding == UCS2
    assert len(encoded.parts) == 3  # 198 UTF-16 units, 67 a part
    assert reassemble(encoded.parts, encoded.esm_class, UCS2) == UCS2_TEXT


texts = st.one_of(
    st.text(st.sampled_from("abcdefghij €[]{}éèàù\n@"), min_size=1, max_size=700),
    st.text(min_size=1, max_size=400).filter(
        lambda t: not any(0xD800 <= ord(c) < 0xE000 for c in t)
    ),
)


@given(texts, st.integers(0, 255))
def test_any_text_reassembles_exactly_and_each_part_fits_140_octets(
    text: str, reference: int
) -> None:
    encoded = encode_text(text, reference)
    assert reassemble(encoded.parts, encoded.esm_class, encoded.data_coding) == text
    for part in encoded.parts:
        assert air_octets(encoded.data_coding, part, bool(encoded.esm_class & UDHI)) <= 140
        assert len(part) <= 254


def test_what_cannot_be_sent() -> None:
    with pytest.raises(UserDataError, match="empty"):
        encode_text("", 0)
    with pytest.raises(UserDataError, match="reference 256"):
        encode_text("x", 256)
    with pytest.raises(UserDataError, match="256 parts"):
        encode_text("x" * 153 * 256, 0)


def test_16_bit_references_and_other_elements_are_read() -> None:
    part = bytes((9, 0x24, 1, 0x01, 0x08, 4, 0x12, 0x34, 3, 2)) + b"hi"
    concat, payload = split_header(UDHI, part)
    assert concat == Concatenation(0x1234, 3, 2)
    assert payload == b"hi"


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (b"", "empty"),
        (bytes((9, 0, 3, 1)), "runs past"),
        (bytes((3, 0, 3, 1)) + b"x", "runs past the header"),
        (bytes((1, 0)), "inside an information element"),
        (bytes((5, 0, 3, 1, 2, 3)), "part 3 of 2"),
        (bytes((5, 0, 3, 1, 0, 0)), "part 0 of 0"),
    ],
)
def test_broken_headers(part: bytes, message: str) -> None:
    with pytest.raises(UserDataError, match=message):
        split_header(UDHI, part)


def test_without_udhi_the_whole_message_is_payload() -> None:
    assert split_header(0, b"\x05\x00\x03") == (None, b"\x05\x00\x03")


def test_sar_tlvs_and_message_payload() -> None:
    pdu = SubmitSm(
        Address(5, 0, "BRAND"),
        Address(1, 1, "33612345678"),
        b"",
        tlvs=(
            Tlv(Tag.SAR_MSG_REF_NUM, b"\x01\x02"),
            Tlv(Tag.SAR_TOTAL_SEGMENTS, b"\x02"),
            Tlv(Tag.SAR_SEGMENT_SEQNUM, b"\x01"),
            Tlv(Tag.MESSAGE_PAYLOAD, b"hello"),
        ),
    )
    assert message_parts(pdu) == (Concatenation(0x0102, 2, 1), b"hello")
    wrong = SubmitSm(pdu.source, pdu.destination, b"x", tlvs=(*pdu.tlvs[:2], Tlv(0x020F, b"")))
    with pytest.raises(UserDataError, match="wrong size"):
        message_parts(wrong)


def test_decoding_never_fails_on_what_carriers_send() -> None:
    assert decode_payload(GSM7, b"\x1b\x65uro") == "€uro"
    assert decode_payload(GSM7, "Arrêt".encode("latin-1")) == "Arrêt"  # not septets
    assert decode_payload(UCS2, "Arrêt".encode("utf-16-be") + b"\x00") == "Arrêt"
    assert decode_payload(3, "Arrêt".encode("latin-1")) == "Arrêt"
    assert decode_payload(UCS2, b"\xd8\x3d") == "\ufffd"  # a lone surrogate


# ---------------------------------------------------------------------------------------------
# Addresses


def test_senders() -> None:
    assert sender_address("MLUMIERE") == Address(5, 0, "MLUMIERE")
    assert sender_address("36111") == Address(3, 0, "36111")
    assert sender_address("36111", short_ton=0, short_npi=1) == Address(0, 1, "36111")
    assert sender_address("+33612345678") == Address(1, 1, "33612345678")
    assert sender_address("06 12 34 56 78") == Address(1, 1, "33612345678")
    with pytest.raises(AddressError, match="1 to 11"):
        sender_address("MAISONLUMIERE")
    with pytest.raises(AddressError, match="not a phone number"):
        sender_address("---")


def test_recipients_are_international() -> None:
    assert recipient_address("+590690123456") == Address(1, 1, "590690123456")
    assert recipient_address("0690 12 34 56") == Address(1, 1, "590690123456")
    with pytest.raises(AddressError, match="recipient is not a phone number"):
        recipient_address("abc")


def test_reply_origins() -> None:
    assert address_e164(Address(1, 1, "33612345678")) == "+33612345678"
    assert address_e164(Address(0, 1, "+33612345678")) == "+33612345678"
    assert address_e164(Address(2, 1, "0612345678")) == "+33612345678"
    assert address_e164(Address(3, 0, "36111")) is None
    assert address_e164(Address(5, 0, "BRAND")) is None


def test_deliver_sm_parts_read_like_submits() -> None:
    pdu = DeliverSm(Address(1, 1, "33612345678"), Address(3, 0, "36111"), b"STOP")
    assert message_parts(pdu) == (None, b"STOP")
