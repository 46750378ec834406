"""Delivery receipts: TLV and text forms, 10- and 12-digit dates, decimal and hex errors, and the
multi-part rule."""

from datetime import datetime

import pytest

from tambour.dispatch.receipts import (
    ReceiptError,
    format_receipt_text,
    is_receipt,
    parse_error_code,
    parse_receipt,
    parse_receipt_date,
    parse_receipt_text,
)
from tambour.dispatch.smpp.pdu import Address, DeliverSm, Tag, Tlv
from tambour.traffic import MessageState, Outcome, message_key, message_outcome

MOBILE = Address(1, 1, "33612345678")
BRAND = Address(5, 0, "BRAND")
TEXT = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2611281530 done date:2611281531 "
    "stat:DELIVRD err:000 text:Bonjour Marie, -20%"
)


def receipt_pdu(text: str, *tlvs: Tlv, esm_class: int = 0x04) -> DeliverSm:
    return DeliverSm(MOBILE, BRAND, text.encode("latin-1"), esm_class=esm_class, tlvs=tlvs)


def test_text_receipt() -> None:
    receipt = parse_receipt(receipt_pdu(TEXT))
    assert receipt.message_id == "0123456789"
    assert receipt.text_id == "0123456789"
    assert receipt.state == MessageState.DELIVERED
    assert receipt.outcome == Outcome.DELIVERED
    assert receipt.error == 0
    assert receipt.submitted_at == datetime(2026, 11, 28, 15, 30)
    assert receipt.done_at == datetime(2026, 11, 28, 15, 31)
    assert (receipt.submitted, receipt.delivered) == (1, 1)
    assert receipt.network_error is None


def test_tlvs_win_over_the_text() -> None:
    pdu = receipt_pdu(
        TEXT,
        Tlv(Tag.RECEIPTED_MESSAGE_ID, b"75BCD15\0"),
        Tlv(Tag.MESSAGE_STATE, bytes((MessageState.UNDELIVERABLE,))),
        Tlv(Tag.NETWORK_ERROR_CODE, bytes((3, 0x00, 0x22))),
    )
    receipt = parse_receipt(pdu)
    assert receipt.message_id == "75BCD15"
    assert receipt.text_id == "0123456789"
    assert receipt.state == MessageState.UNDELIVERABLE
    assert receipt.outcome == Outcome.FAILED
    assert receipt.network_error == (3, 0x22)


def test_tlvs_alone_are_enough() -> None:
    pdu = receipt_pdu("", Tlv(Tag.RECEIPTED_MESSAGE_ID, b"abc\0"), Tlv(Tag.MESSAGE_STATE, b"\x03"))
    receipt = parse_receipt(pdu)
    assert (receipt.message_id, receipt.state, receipt.text_id) == (
        "abc",
        MessageState.EXPIRED,
        None,
    )
    assert receipt.outcome == Outcome.EXPIRED


def test_twelve_digit_dates_hex_errors_and_any_case() -> None:
    text = (
        "ID:ab12 SUB:001 DLVRD:000 Submit Date:261128153012 Done Date:261128153107 "
        "Stat:undeliv Err:0x1A Text:"
    )
    receipt = parse_receipt(receipt_pdu(text))
    assert receipt.message_id == "ab12"
    assert receipt.state == MessageState.UNDELIVERABLE
    assert receipt.error == 26
    assert receipt.submitted_at == datetime(2026, 11, 28, 15, 30, 12)
    assert receipt.done_at == datetime(2026, 11, 28, 15, 31, 7)
    assert receipt.delivered == 0


def test_the_text_after_text_is_not_read_as_fields() -> None:
    text = "id:1 stat:DELIVRD err:000 text:stat:REJECTD id:2"
    receipt = parse_receipt(receipt_pdu(text))
    assert (receipt.message_id, receipt.state) == ("1", MessageState.DELIVERED)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("000", 0),
        ("001", 1),
        ("034", 34),
        ("0x1A", 26),
        ("01A", 26),
        ("ff", 255),
        ("", None),
        (None, None),
        ("n/a", None),
    ],
)
def test_error_codes(value: str | None, expected: int | None) -> None:
    assert parse_error_code(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2611281530", datetime(2026, 11, 28, 15, 30)),
        ("261128153059", datetime(2026, 11, 28, 15, 30, 59)),
        ("2613281530", None),  # month 13
        ("26112815", None),
        ("26112815301", None),
        ("abcdefghij", None),
        (None, None),
    ],
)
def test_dates(value: str | None, expected: datetime | None) -> None:
    assert parse_receipt_date(value) == expected


@pytest.mark.parametrize(
    ("pdu", "message"),
    [
        (receipt_pdu("sub:001 stat:DELIVRD"), "without receipted_message_id nor an id"),
        (receipt_pdu("id:1 err:000"), "without message_state nor a stat"),
        (receipt_pdu("id:1 stat:GONE"), "stat:GONE is not"),
        (receipt_pdu("id:1", Tlv(Tag.MESSAGE_STATE, b"\x02\x00")), "2 octets, not 1"),
        (receipt_pdu("id:1", Tlv(Tag.MESSAGE_STATE, b"\x09")), "message_state 9 is not"),
    ],
)
def test_what_is_not_a_receipt(pdu: DeliverSm, message: str) -> None:
    with pytest.raises(ReceiptError, match=message):
        parse_receipt(pdu)


def test_receipts_and_replies_are_told_apart_by_esm_class() -> None:
    assert is_receipt(receipt_pdu(TEXT))
    assert is_receipt(receipt_pdu(TEXT, esm_class=0x20))  # intermediate notification
    assert not is_receipt(receipt_pdu("STOP", esm_class=0x00))
    assert not is_receipt(receipt_pdu("STOP", esm_class=0x40))  # UDHI, a long reply


def test_match_keys_cover_case_and_base() -> None:
    receipt = parse_receipt(receipt_pdu(TEXT, Tlv(Tag.RECEIPTED_MESSAGE_ID, b"75BCD15\0")))
    # the TLV; the text id; the text id read as decimal is the TLV again (123456789 =
    # 0x75bcd15, a carrier that writes the receipt text in the other base), and read as hex.
    assert receipt.match_keys == ("75bcd15", "123456789", str(0x0123456789))
    assert receipt.match_keys[0] == message_key(" 75BCD15 ")
    hex_text = parse_receipt(receipt_pdu("id:1F stat:DELIVRD"))
    assert hex_text.match_keys == ("1f", "31")


def test_a_hex_id_with_leading_zeros_matches_its_decimal_receipt() -> None:
    # submit_sm_resp said 09e500000001 (hex); the receipt text says it in decimal, which read
    # back as hex has no leading zero (the local SMSC's receipt_decimal_ids mode, 1 run in 16)
    decimal = str(int("09e500000001", 16))
    receipt = parse_receipt(receipt_pdu(f"id:{decimal} stat:DELIVRD"))
    assert message_key("09e500000001") in receipt.match_keys
    assert message_key("0009E500000001") == message_key("9e500000001")
    assert message_key("000") == "0"


def test_format_then_parse() -> None:
    at = datetime(2026, 11, 28, 15, 30, 12)
    for seconds in (False, True):
        text = format_receipt_text(
            "id9", MessageState.REJECTED, at, at, error=7, text="x" * 40, seconds=seconds
        )
        receipt = parse_receipt(receipt_pdu(text))
        assert (receipt.message_id, receipt.state, receipt.error) == (
            "id9",
            MessageState.REJECTED,
            7,
        )
        assert receipt.submitted_at == (at if seconds else at.replace(second=0))
        assert text.endswith("text:" + "x" * 20)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([Outcome.DELIVERED, Outcome.DELIVERED, Outcome.DELIVERED], Outcome.DELIVERED),
        ([Outcome.DELIVERED, Outcome.FAILED, Outcome.DELIVERED], Outcome.FAILED),
        ([Outcome.DELIVERED, None], Outcome.PENDING),
        ([Outcome.FAILED, None], Outcome.FAILED),  # no need to wait: failed already
        ([Outcome.EXPIRED, Outcome.DELIVERED], Outcome.EXPIRED),
        ([Outcome.EXPIRED, Outcome.FAILED], Outcome.FAILED),
        ([Outcome.UNKNOWN, Outcome.DELIVERED], Outcome.UNKNOWN),
        ([Outcome.UNKNOWN, Outcome.PENDING], Outcome.PENDING),
        ([Outcome.DELIVERED], Outcome.DELIVERED),
        ([], Outcome.PENDING),
    ],
)
def test_message_outcome(parts: list[Outcome | None], expected: Outcome) -> None:
    assert message_outcome(parts) == expected


def test_the_usual_layout_reads_like_any_other() -> None:
    """The fast path for the standard layout gives what the general scan gives."""
    usual = parse_receipt_text(TEXT)
    scanned = parse_receipt_text(TEXT.replace("id:", "ID:", 1))  # no longer the exact layout
    assert usual == scanned
    assert usual["submit date"] == "2611281530"
    assert usual["stat"] == "DELIVRD"


def test_an_error_code_too_large_to_be_one_is_dropped_not_fatal() -> None:
    # it would overflow the database's integer and stop every flush it is part of
    assert parse_error_code("FFFFFFFFFFFFFFFFFF") is None
    assert parse_error_code("99999999999") is None
    assert parse_error_code("2147483647") == 2147483647


def test_a_message_id_longer_than_smpp_allows_is_refused() -> None:
    with pytest.raises(ReceiptError, match="more than 64"):
        parse_receipt(receipt_pdu("id:" + "7" * 80 + " stat:DELIVRD"))


def test_other_base_keys_are_alternates_not_primary() -> None:
    with_tlv = parse_receipt(receipt_pdu(TEXT, Tlv(Tag.RECEIPTED_MESSAGE_ID, b"75BCD15\0")))
    assert with_tlv.from_tlv
    assert with_tlv.primary_keys == ("75bcd15", "123456789")
    assert with_tlv.alternate_keys == (str(0x0123456789),)  # "75bcd15" is already primary
    plain = parse_receipt(receipt_pdu("id:100 stat:DELIVRD"))
    assert not plain.from_tlv
    assert (plain.primary_keys, plain.alternate_keys) == (("100",), ("64", "256"))
