"""The SMPP v3.4 PDU codec: octets checked against the specification's layout, round trips,
and strict, explained refusals of malformed input."""

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tambour.dispatch.smpp.pdu import (
    HEADER_SIZE,
    MAX_PDU_SIZE,
    Address,
    Bind,
    BindMode,
    BindResp,
    Body,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    FrameReader,
    GenericNack,
    PduError,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Unbind,
    UnbindResp,
    decode,
    encode,
    find_tlv,
)
from tambour.dispatch.smpp.status import Status, is_throttling, is_transient, status_name

BRAND = Address(5, 0, "MLUMIERE")
MOBILE = Address(1, 1, "33612345678")


def header(length: int, command_id: int, status: int, sequence: int) -> bytes:
    return struct.pack(">IIII", length, command_id, status, sequence)


def test_enquire_link_is_a_bare_header() -> None:
    assert encode(EnquireLink(), 1) == bytes.fromhex("00000010 00000015 00000000 00000001")
    assert encode(GenericNack(), 7, Status.ESME_RINVCMDID) == bytes.fromhex(
        "00000010 80000000 00000003 00000007"
    )


def test_bind_transceiver_octets_follow_the_specification() -> None:
    body = b"tambour\0secret\0\0" + bytes((0x34, 0, 0)) + b"\0"
    expected = header(16 + len(body), 0x00000009, 0, 42) + body
    assert encode(Bind(BindMode.TRANSCEIVER, "tambour", "secret"), 42) == expected


def test_submit_sm_octets_follow_the_specification() -> None:
    pdu = SubmitSm(
        BRAND,
        MOBILE,
        b"Bonjour",
        data_coding=0,
        esm_class=0x40,
        registered_delivery=1,
        tlvs=(Tlv(Tag.USER_MESSAGE_REFERENCE, b"\x00\x07"),),
    )
    body = (
        b"\0"  # service_type
        + bytes((5, 0))
        + b"MLUMIERE\0"
        + bytes((1, 1))
        + b"33612345678\0"
        + bytes((0x40, 0, 0))  # esm_class, protocol_id, priority_flag
        + b"\0\0"  # schedule_delivery_time, validity_period
        + bytes((1, 0, 0, 0, 7))  # registered_delivery, replace, data_coding, default id, length
        + b"Bonjour"
        + bytes.fromhex("0204 0002 0007")
    )
    assert encode(pdu, 3) == header(16 + len(body), 0x00000004, 0, 3) + body


BODIES: list[Body] = [
    Bind(BindMode.TRANSCEIVER, "tambour", "secret", "VMA", 0x34, 1, 1, "^336"),
    Bind(BindMode.TRANSMITTER, "a", ""),
    Bind(BindMode.RECEIVER, "123456789012345", "12345678", "123456789012"),
    BindResp(BindMode.TRANSCEIVER, "SMSC", (Tlv(Tag.SC_INTERFACE_VERSION, b"\x34"),)),
    BindResp(BindMode.RECEIVER, "SMSC"),
    Unbind(),
    UnbindResp(),
    EnquireLink(),
    EnquireLinkResp(),
    GenericNack(),
    SubmitSm(BRAND, MOBILE, b"x" * 254, 8, 0x40, 1, "CMT", 0, 1, "", "000001000000000R"),
    SubmitSm(Address(0, 0, ""), Address(1, 1, "1"), schedule_delivery_time="261231235959004+"),
    SubmitSm(BRAND, MOBILE, tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"p" * 1000), Tlv(0x1400, b""))),
    DeliverSm(MOBILE, Address(3, 0, "36111"), b"STOP"),
    DeliverSm(
        MOBILE,
        BRAND,
        b"id:1 stat:DELIVRD",
        esm_class=0x04,
        tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, b"1\0"), Tlv(Tag.MESSAGE_STATE, b"\x02")),
    ),
    SubmitSmResp("a" * 64),
    SubmitSmResp(""),
    DeliverSmResp(),
]


@pytest.mark.parametrize("body", BODIES, ids=lambda b: type(b).__name__)
def test_round_trip(body: Body) -> None:
    frame = encode(body, 0x7FFFFFFF)
    pdu = decode(frame)
    assert pdu.body == body
    assert pdu.sequence == 0x7FFFFFFF
    assert pdu.status == 0
    assert len(frame) == int.from_bytes(frame[:4], "big")


def test_responses_with_an_error_status_have_no_body() -> None:
    for body, command in (
        (SubmitSmResp("ignored"), CommandId.SUBMIT_SM_RESP),
        (DeliverSmResp(), CommandId.DELIVER_SM_RESP),
        (BindResp(BindMode.TRANSCEIVER, "SMSC"), CommandId.BIND_TRANSCEIVER_RESP),
    ):
        frame = encode(body, 9, Status.ESME_RTHROTTLED)
        assert frame == header(16, command, 0x58, 9)
        pdu = decode(frame)
        assert pdu.status == Status.ESME_RTHROTTLED
        assert pdu.command_id == command


def test_a_response_with_an_error_and_a_body_still_decodes() -> None:
    body = b"abc\0"
    pdu = decode(header(16 + len(body), CommandId.SUBMIT_SM_RESP, 0x14, 5) + body)
    assert pdu.body == SubmitSmResp("abc")
    assert pdu.status == Status.ESME_RMSGQFUL


def test_find_tlv_takes_the_first() -> None:
    tlvs = (Tlv(1, b"a"), Tlv(2, b"b"), Tlv(1, b"c"))
    assert find_tlv(tlvs, 1) == b"a"
    assert find_tlv(tlvs, 3) is None


# ---------------------------------------------------------------------------------------------
# Malformed input: PduError with the status to answer, the command and the sequence


def submit_frame(**fields: object) -> bytes:
    return encode(SubmitSm(BRAND, MOBILE, b"hello", **fields), 77)  # type: ignore[arg-type]


def test_command_length_must_match_the_frame() -> None:
    frame = submit_frame()
    with pytest.raises(PduError, match="command_length") as caught:
        decode(frame + b"\0")
    assert caught.value.status == Status.ESME_RINVCMDLEN
    assert caught.value.sequence == 77


def test_shorter_than_a_header() -> None:
    with pytest.raises(PduError, match="shorter than the 16-octet header"):
        decode(b"\0\0\0\x0c" + b"\0" * 8)


def test_unknown_command_id_keeps_the_sequence_for_the_nack() -> None:
    with pytest.raises(PduError, match="unknown command_id 0x00000103") as caught:
        decode(header(16, 0x103, 0, 12))
    error = caught.value
    assert (error.status, error.command_id, error.sequence) == (Status.ESME_RINVCMDID, 0x103, 12)


def test_a_string_without_its_nul_names_the_field() -> None:
    frame = bytearray(submit_frame())
    start = frame.index(b"MLUMIERE\0")
    frame[start : start + 9] = b"M" * 9
    frame[start + 9 : start + 9] = b"M" * 20  # 29 characters, no NUL within 21
    frame[:4] = len(frame).to_bytes(4, "big")
    with pytest.raises(PduError, match=r"submit_sm: source_addr: no NUL within 21") as caught:
        decode(bytes(frame))
    assert caught.value.status == Status.ESME_RINVSRCADR
    assert caught.value.command_id == CommandId.SUBMIT_SM


def test_sm_length_past_the_body() -> None:
    frame = bytearray(submit_frame())
    frame[-6] = 200  # sm_length (the message "hello" is the last 5 octets)
    with pytest.raises(PduError, match="sm_length 200, only 5") as caught:
        decode(bytes(frame))
    assert caught.value.status == Status.ESME_RINVMSGLEN


def test_sm_length_over_254() -> None:
    frame = bytearray(submit_frame())
    frame[-6] = 255
    with pytest.raises(PduError, match="sm_length 255 is over 254"):
        decode(bytes(frame))


def test_truncated_tlv() -> None:
    frame = encode(SubmitSm(BRAND, MOBILE, tlvs=(Tlv(0x0204, b"\x00\x01"),)), 1)
    broken = frame[:-1]
    broken = len(broken).to_bytes(4, "big") + broken[4:]
    with pytest.raises(PduError, match="TLV 0x0204: length 2, only 1") as caught:
        decode(broken)
    assert caught.value.status == Status.ESME_RINVOPTPARSTREAM
    stray = frame + b"\x02"
    stray = len(stray).to_bytes(4, "big") + stray[4:]
    with pytest.raises(PduError, match="1 stray octet"):
        decode(stray)


def test_a_header_only_pdu_with_a_body() -> None:
    with pytest.raises(PduError, match=r"enquire_link: 2 unexpected octet"):
        decode(header(18, CommandId.ENQUIRE_LINK, 0, 1) + b"\0\0")


def test_non_ascii_strings_are_refused() -> None:
    frame = header(16 + 2, CommandId.SUBMIT_SM_RESP, 0, 1) + "é\0".encode("latin-1")
    with pytest.raises(PduError, match="submit_sm_resp: message_id: not ASCII") as caught:
        decode(frame)
    assert caught.value.status == Status.ESME_RINVMSGID
    with pytest.raises(PduError, match="system_id: character 8 is not ASCII") as caught:
        encode(Bind(BindMode.TRANSCEIVER, "Tambouré", "x"), 1)
    assert caught.value.status == Status.ESME_RINVSYSID


def test_time_strings_are_empty_or_sixteen_characters() -> None:
    with pytest.raises(PduError, match="validity_period: '1h' is neither empty nor 16"):
        encode(SubmitSm(BRAND, MOBILE, validity_period="1h"), 1)
    frame = bytearray(submit_frame(validity_period="000001000000000R"))
    start = frame.index(b"000001000000000R")
    frame[start : start + 16] = b"0000010000000\0\0\0"  # 13 characters, then NUL
    with pytest.raises(PduError, match="neither empty nor 16"):
        decode(bytes(frame))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (Bind(BindMode.TRANSCEIVER, "a" * 16, "x"), "system_id: 16 octets, at most 15"),
        (Bind(BindMode.TRANSCEIVER, "a", "123456789"), "password: 9 octets, at most 8"),
        (SubmitSm(BRAND, MOBILE, b"x" * 255), "short_message: 255 octets, at most 254"),
        (SubmitSm(BRAND, Address(1, 1, "3" * 21)), "destination_addr: 21 octets, at most 20"),
        (SubmitSm(BRAND, MOBILE, data_coding=256), "integer field is outside 0..255"),
        (SubmitSm(BRAND, MOBILE, tlvs=(Tlv(0x10000, b""),)), "TLV 0x10000"),
    ],
)
def test_encoding_refuses_what_smpp_cannot_carry(body: Body, message: str) -> None:
    with pytest.raises(PduError, match=message):
        encode(body, 1)


def test_sequence_range() -> None:
    with pytest.raises(PduError, match="sequence_number"):
        encode(EnquireLink(), 0x80000000)


def test_status_names_and_classes() -> None:
    assert status_name(0x58) == "ESME_RTHROTTLED (0x58)"
    assert status_name(0x401) == "0x00000401"
    assert is_throttling(Status.ESME_RTHROTTLED) and is_throttling(Status.ESME_RMSGQFUL)
    assert is_transient(Status.ESME_RSYSERR) and not is_throttling(Status.ESME_RSYSERR)
    assert not is_transient(Status.ESME_RINVDSTADR)
    assert not is_transient(0)


# ---------------------------------------------------------------------------------------------
# Framing and fuzzing

addresses = st.builds(
    Address,
    st.integers(0, 255),
    st.integers(0, 255),
    st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=20),
)
tlvs = st.lists(st.builds(Tlv, st.integers(0, 0xFFFF), st.binary(max_size=300)), max_size=3)
submits = st.builds(
    SubmitSm,
    addresses,
    addresses,
    st.binary(max_size=254),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    tlvs=tlvs.map(tuple),
)


@given(submits, st.integers(1, 0x7FFFFFFF))
def test_any_submit_sm_round_trips(pdu: SubmitSm, sequence: int) -> None:
    decoded = decode(encode(pdu, sequence))
    assert decoded.body == pdu
    assert decoded.sequence == sequence


@given(submits, st.data())
def test_a_truncated_pdu_is_refused_or_reads_as_another(pdu: SubmitSm, data: st.DataObject) -> None:
    """Cut anywhere (command_length fixed up): PduError, never another exception; a cut that
    still parses (it falls between TLVs) gives a different PDU, never the original."""
    frame = encode(pdu, 1)
    cut = data.draw(st.integers(HEADER_SIZE, len(frame) - 1))
    truncated = cut.to_bytes(4, "big") + frame[4:cut]
    try:
        result = decode(truncated)
    except PduError:
        return
    assert result.body != pdu


@given(st.binary(min_size=16, max_size=400))
def test_random_octets_never_raise_anything_but_pdu_error(data: bytes) -> None:
    frame = len(data).to_bytes(4, "big") + data[4:]
    for command_id in (CommandId.SUBMIT_SM, CommandId.DELIVER_SM, CommandId.BIND_TRANSCEIVER):
        candidate = frame[:4] + command_id.to_bytes(4, "big") + frame[8:]
        with contextlib.suppress(PduError):
            decode(candidate)


@given(st.lists(submits, min_size=1, max_size=5), st.lists(st.integers(1, 50), max_size=40))
def test_frame_reader_is_indifferent_to_chunking(pdus: list[SubmitSm], cuts: list[int]) -> None:
    frames = [encode(p, i + 1) for i, p in enumerate(pdus)]
    stream = b"".join(frames)
    reader = FrameReader()
    got: list[bytes] = []
    pos = 0
    for size in cuts:
        got += reader.feed(stream[pos : pos + size])
        pos += size
    got += reader.feed(stream[pos:])
    assert got == frames
    assert reader.pending == 0


def test_frame_reader_refuses_impossible_lengths() -> None:
    with pytest.raises(PduError, match="command_length 8 is outside"):
        FrameReader().feed(header(8, 0x15, 0, 1))
    with pytest.raises(PduError, match="is outside") as caught:
        FrameReader().feed(header(MAX_PDU_SIZE + 1, 0x15, 0, 9))
    assert caught.value.sequence == 9
