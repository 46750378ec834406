"""SMPP v3.4 protocol data units: a small, typed, strict codec for the PDUs Tambour speaks.

A PDU is a 16-octet header (command_length, command_id, command_status, sequence_number, all
big-endian) and a body. `encode(body, sequence, status)` makes the octets of one PDU;
`decode(frame)` reads exactly one and raises PduError on anything malformed, naming the command
and the field, with the status a peer should be answered with; `FrameReader` cuts a TCP byte
stream into frames.

Bodies: bind_transmitter / bind_receiver / bind_transceiver (`Bind`) and their responses,
unbind, enquire_link, submit_sm, deliver_sm, each with its response, and generic_nack; optional
parameters (TLVs) kept in order as `Tlv(tag, value)`. C-Octet Strings are ASCII; their maximum
sizes (NUL included) are the specification's. A response carrying an error status may have no
body (SMPP v3.4 says it has none); it decodes with empty fields and is encoded without one.

Why a codec of our own rather than a library (evaluation in tambour.dispatch.smpp.client).
"""

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from typing import Final, NamedTuple, TypeVar

from tambour.dispatch.smpp.status import Status

HEADER: Final = struct.Struct(">IIII")
HEADER_SIZE: Final = 16
# A submit_sm or deliver_sm with a full message_payload TLV (64 KiB) and every other field at
# its largest stays under this; anything longer is a broken or hostile stream.
MAX_PDU_SIZE: Final = 70_000
MAX_SEQUENCE: Final = 0x7FFFFFFF
INTERFACE_VERSION: Final = 0x34
MAX_SHORT_MESSAGE: Final = 254
RESPONSE_BIT: Final = 0x80000000


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class BindMode(IntEnum):
    """How an ESME binds; the value is the request's command_id."""

    RECEIVER = CommandId.BIND_RECEIVER
    TRANSMITTER = CommandId.BIND_TRANSMITTER
    TRANSCEIVER = CommandId.BIND_TRANSCEIVER


class Tag(IntEnum):
    """The optional parameters Tambour reads or writes (SMPP v3.4 section 5.3.2)."""

    RECEIPTED_MESSAGE_ID = 0x001E
    USER_MESSAGE_REFERENCE = 0x0204
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


class Tlv(NamedTuple):
    tag: int
    value: bytes


class Address(NamedTuple):
    """A source or destination: type of number, numbering plan indicator, address."""

    ton: int
    npi: int
    address: str


def find_tlv(tlvs: tuple[Tlv, ...], tag: int) -> bytes | None:
    """The value of the first TLV with `tag`, or None."""
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv.value
    return None


@dataclass(frozen=True, slots=True)
class Bind:
    mode: BindMode
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True)
class BindResp:
    mode: BindMode
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class Unbind:
    pass


@dataclass(frozen=True, slots=True)
class UnbindResp:
    pass


@dataclass(frozen=True, slots=True)
class EnquireLink:
    pass


@dataclass(frozen=True, slots=True)
class EnquireLinkResp:
    pass


@dataclass(frozen=True, slots=True)
class GenericNack:
    pass


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """The body shared by submit_sm and deliver_sm (SMPP v3.4 sections 4.4.1 and 4.6.1)."""

    source: Address
    destination: Address
    short_message: bytes = b""
    data_coding: int = 0
    esm_class: int = 0
    registered_delivery: int = 0
    service_type: str = ""
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    replace_if_present_flag: int = 0
    sm_default_msg_id: int = 0
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitSm(ShortMessage):
    pass


@dataclass(frozen=True, slots=True)
class DeliverSm(ShortMessage):
    pass


@dataclass(frozen=True, slots=True)
class SubmitSmResp:
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class DeliverSmResp:
    message_id: str = ""


Body = (
    Bind
    | BindResp
    | Unbind
    | UnbindResp
    | EnquireLink
    | EnquireLinkResp
    | GenericNack
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
)


class Pdu(NamedTuple):
    command_id: int
    status: int
    sequence: int
    body: Body


class PduError(ValueError):
    """A malformed PDU, or one that cannot be encoded. `status` is what to answer the peer with
    (in a generic_nack, or in the response to `command_id` when that is a known request);
    `command_id` and `sequence` are None when the header itself could not be read."""

    def __init__(
        self,
        message: str,
        status: int = Status.ESME_RINVCMDLEN,
        command_id: int | None = None,
        sequence: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence = sequence


def command_name(command_id: int) -> str:
    try:
        return CommandId(command_id).name.lower()
    except ValueError:
        return f"command 0x{command_id:08X}"


# ---------------------------------------------------------------------------------------------
# Encoding


def _cstring(value: str, size: int, field: str) -> bytes:
    """`value` as a C-Octet String of at most `size` octets, NUL included."""
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError as error:  # the value itself stays out: it may be a number
        raise PduError(
            f"{field}: character {error.start + 1} is not ASCII", _status(field)
        ) from None
    if len(raw) >= size or b"\0" in raw:
        raise PduError(
            f"{field}: {len(raw)} octets, at most {size - 1} without NUL",
            _status(field),
        )
    return raw + b"\0"


def _time_string(value: str, field: str) -> bytes:
    """schedule_delivery_time / validity_period: empty, or the 16-character SMPP time."""
    if value and len(value) != 16:
        raise PduError(f"{field}: {value!r} is neither empty nor 16 characters", _status(field))
    return _cstring(value, 17, field)


def _tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    out = bytearray()
    for tag, value in tlvs:
        if not 0 <= tag <= 0xFFFF or len(value) > 0xFFFF:
            raise PduError(f"TLV 0x{tag:04X}: tag or length out of range")
        out += tag.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value
    return bytes(out)


def _encode_bind(body: Bind) -> bytes:
    return b"".join(
        (
            _cstring(body.system_id, 16, "system_id"),
            _cstring(body.password, 9, "password"),
            _cstring(body.system_type, 13, "system_type"),
            bytes((body.interface_version, body.addr_ton, body.addr_npi)),
            _cstring(body.address_range, 41, "address_range"),
        )
    )


def _encode_short_message(body: ShortMessage) -> bytes:
    source, destination, message = body.source, body.destination, body.short_message
    if len(message) > MAX_SHORT_MESSAGE:
        raise PduError(
            f"short_message: {len(message)} octets, at most {MAX_SHORT_MESSAGE}",
            Status.ESME_RINVMSGLEN,
        )
    return b"".join(
        (
            _cstring(body.service_type, 6, "service_type"),
            bytes((source.ton, source.npi)),
            _cstring(source.address, 21, "source_addr"),
            bytes((destination.ton, destination.npi)),
            _cstring(destination.address, 21, "destination_addr"),
            bytes((body.esm_class, body.protocol_id, body.priority_flag)),
            _time_string(body.schedule_delivery_time, "schedule_delivery_time"),
            _time_string(body.validity_period, "validity_period"),
            bytes(
                (
                    body.registered_delivery,
                    body.replace_if_present_flag,
                    body.data_coding,
                    body.sm_default_msg_id,
                    len(message),
                )
            ),
            message,
            _tlvs(body.tlvs) if body.tlvs else b"",
        )
    )


def _body_octets(body: Body, status: int) -> tuple[int, bytes]:
    """The command_id and body octets of `body`."""
    match body:
        case SubmitSm():
            return CommandId.SUBMIT_SM, _encode_short_message(body)
        case SubmitSmResp(message_id=message_id):
            octets = b"" if status else _cstring(message_id, 65, "message_id")
            return CommandId.SUBMIT_SM_RESP, octets
        case DeliverSm():
            return CommandId.DELIVER_SM, _encode_short_message(body)
        case DeliverSmResp(message_id=message_id):
            octets = b"" if status else _cstring(message_id, 65, "message_id")
            return CommandId.DELIVER_SM_RESP, octets
        case EnquireLink():
            return CommandId.ENQUIRE_LINK, b""
        case EnquireLinkResp():
            return CommandId.ENQUIRE_LINK_RESP, b""
        case Bind(mode=mode):
            return mode, _encode_bind(body)
        case BindResp(mode=mode, system_id=system_id, tlvs=tlvs):
            octets = b"" if status else _cstring(system_id, 16, "system_id") + _tlvs(tlvs)
            return mode | RESPONSE_BIT, octets
        case Unbind():
            return CommandId.UNBIND, b""
        case UnbindResp():
            return CommandId.UNBIND_RESP, b""
        case GenericNack():
            return CommandId.GENERIC_NACK, b""
    raise TypeError(f"not an SMPP body: {body!r}")


def encode(body: Body, sequence: int, status: int = 0) -> bytes:
    """The octets of one PDU. Raises PduError when a field does not fit SMPP v3.4."""
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise PduError(f"sequence_number {sequence} is outside 0..0x7FFFFFFF")
    try:
        command_id, octets = _body_octets(body, status)
    except PduError as error:
        error.sequence = sequence
        raise
    except (ValueError, OverflowError) as error:  # bytes((...)) with a field outside 0..255
        name = type(body).__name__
        raise PduError(f"{name}: an integer field is outside 0..255 ({error})") from None
    return HEADER.pack(HEADER_SIZE + len(octets), command_id, status, sequence) + octets


# ---------------------------------------------------------------------------------------------
# Decoding

_FIELD_STATUS: Final[dict[str, int]] = {
    "system_id": Status.ESME_RINVSYSID,
    "password": Status.ESME_RINVPASWD,
    "system_type": Status.ESME_RINVSYSTYP,
    "service_type": Status.ESME_RINVSERTYP,
    "source_addr": Status.ESME_RINVSRCADR,
    "destination_addr": Status.ESME_RINVDSTADR,
    "schedule_delivery_time": Status.ESME_RINVSCHED,
    "validity_period": Status.ESME_RINVEXPIRY,
    "message_id": Status.ESME_RINVMSGID,
    "short_message": Status.ESME_RINVMSGLEN,
}


_MessageT = TypeVar("_MessageT", SubmitSm, DeliverSm)
_RespT = TypeVar("_RespT", SubmitSmResp, DeliverSmResp)
_EmptyT = TypeVar("_EmptyT", Unbind, UnbindResp, EnquireLink, EnquireLinkResp, GenericNack)


def _status(field: str) -> int:
    return _FIELD_STATUS.get(field, Status.ESME_RINVCMDLEN)


def _read_cstring(data: bytes, pos: int, size: int, field: str) -> tuple[str, int]:
    """The C-Octet String at `pos` (at most `size` octets, NUL included) and the next position."""
    end = data.find(b"\0", pos, pos + size)
    if end < 0:
        if len(data) < pos + size:
            raise PduError(f"{field}: the body ends before its NUL terminator")
        raise PduError(f"{field}: no NUL within {size} octets", _status(field))
    try:
        return data[pos:end].decode("ascii"), end + 1
    except UnicodeDecodeError:
        raise PduError(f"{field}: not ASCII", _status(field)) from None


def _read_time(data: bytes, pos: int, field: str) -> tuple[str, int]:
    value, pos = _read_cstring(data, pos, 17, field)
    if value and len(value) != 16:
        raise PduError(f"{field}: {value!r} is neither empty nor 16 characters", _status(field))
    return value, pos


def _read_octets(data: bytes, pos: int, count: int, field: str) -> int:
    """Check that `count` octets of `field` are there at `pos`; return the next position."""
    if len(data) < pos + count:
        raise PduError(f"{field}: the body ends {pos + count - len(data)} octet(s) short")
    return pos + count


def _read_tlvs(data: bytes, pos: int) -> tuple[Tlv, ...]:
    tlvs: list[Tlv] = []
    end = len(data)
    while pos < end:
        if end - pos < 4:
            raise PduError(
                f"optional parameters: {end - pos} stray octet(s) after the last one",
                Status.ESME_RINVOPTPARSTREAM,
            )
        tag = int.from_bytes(data[pos : pos + 2], "big")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 4
        if end - pos < length:
            raise PduError(
                f"TLV 0x{tag:04X}: length {length}, only {end - pos} octet(s) left",
                Status.ESME_RINVOPTPARSTREAM,
            )
        tlvs.append(Tlv(tag, data[pos : pos + length]))
        pos += length
    return tuple(tlvs)


def _no_body(data: bytes, pos: int) -> None:
    if len(data) != pos:
        raise PduError(f"{len(data) - pos} unexpected octet(s) after the body")


def _decode_short_message(data: bytes, pos: int, cls: type[_MessageT]) -> _MessageT:
    service_type, pos = _read_cstring(data, pos, 6, "service_type")
    pos = _read_octets(data, pos, 2, "source_addr_ton")
    source_ton, source_npi = data[pos - 2], data[pos - 1]
    source_addr, pos = _read_cstring(data, pos, 21, "source_addr")
    pos = _read_octets(data, pos, 2, "dest_addr_ton")
    dest_ton, dest_npi = data[pos - 2], data[pos - 1]
    destination_addr, pos = _read_cstring(data, pos, 21, "destination_addr")
    pos = _read_octets(data, pos, 3, "esm_class")
    esm_class, protocol_id, priority_flag = data[pos - 3], data[pos - 2], data[pos - 1]
    schedule, pos = _read_time(data, pos, "schedule_delivery_time")
    validity, pos = _read_time(data, pos, "validity_period")
    pos = _read_octets(data, pos, 5, "registered_delivery")
    registered, replace, data_coding, default_id, sm_length = data[pos - 5 : pos]
    if sm_length > MAX_SHORT_MESSAGE:
        raise PduError(
            f"sm_length {sm_length} is over {MAX_SHORT_MESSAGE}", _status("short_message")
        )
    if len(data) < pos + sm_length:
        raise PduError(
            f"short_message: sm_length {sm_length}, only {len(data) - pos} octet(s) left",
            _status("short_message"),
        )
    message = data[pos : pos + sm_length]
    tlvs = _read_tlvs(data, pos + sm_length)
    return cls(
        Address(source_ton, source_npi, source_addr),
        Address(dest_ton, dest_npi, destination_addr),
        message,
        data_coding,
        esm_class,
        registered,
        service_type,
        protocol_id,
        priority_flag,
        schedule,
        validity,
        replace,
        default_id,
        tlvs,
    )


def _decode_bind(data: bytes, mode: BindMode) -> Bind:
    system_id, pos = _read_cstring(data, HEADER_SIZE, 16, "system_id")
    password, pos = _read_cstring(data, pos, 9, "password")
    system_type, pos = _read_cstring(data, pos, 13, "system_type")
    pos = _read_octets(data, pos, 3, "interface_version")
    version, ton, npi = data[pos - 3], data[pos - 2], data[pos - 1]
    address_range, pos = _read_cstring(data, pos, 41, "address_range")
    _no_body(data, pos)
    return Bind(mode, system_id, password, system_type, version, ton, npi, address_range)


def _decode_bind_resp(data: bytes, mode: BindMode) -> BindResp:
    if len(data) == HEADER_SIZE:  # an error response, or a terse SMSC
        return BindResp(mode)
    system_id, pos = _read_cstring(data, HEADER_SIZE, 16, "system_id")
    return BindResp(mode, system_id, _read_tlvs(data, pos))


def _decode_message_id_resp(data: bytes, cls: type[_RespT]) -> _RespT:
    if len(data) == HEADER_SIZE:
        return cls()
    message_id, pos = _read_cstring(data, HEADER_SIZE, 65, "message_id")
    _no_body(data, pos)
    return cls(message_id)


def _empty(cls: type[_EmptyT]) -> Callable[[bytes], _EmptyT]:
    instance = cls()

    def decode_empty(data: bytes) -> _EmptyT:
        _no_body(data, HEADER_SIZE)
        return instance

    return decode_empty


_DECODERS: Final[dict[int, Callable[[bytes], Body]]] = {
    CommandId.SUBMIT_SM: lambda d: _decode_short_message(d, HEADER_SIZE, SubmitSm),
    CommandId.SUBMIT_SM_RESP: lambda d: _decode_message_id_resp(d, SubmitSmResp),
    CommandId.DELIVER_SM: lambda d: _decode_short_message(d, HEADER_SIZE, DeliverSm),
    CommandId.DELIVER_SM_RESP: lambda d: _decode_message_id_resp(d, DeliverSmResp),
    CommandId.ENQUIRE_LINK: _empty(EnquireLink),
    CommandId.ENQUIRE_LINK_RESP: _empty(EnquireLinkResp),
    CommandId.UNBIND: _empty(Unbind),
    CommandId.UNBIND_RESP: _empty(UnbindResp),
    CommandId.GENERIC_NACK: _empty(GenericNack),
    **{mode: partial(_decode_bind, mode=mode) for mode in BindMode},
    **{mode | RESPONSE_BIT: partial(_decode_bind_resp, mode=mode) for mode in BindMode},
}


def decode(frame: bytes) -> Pdu:
    """The PDU in `frame`, which holds exactly one (FrameReader cuts them)."""
    if len(frame) < HEADER_SIZE:
        raise PduError(f"{len(frame)} octets: shorter than the 16-octet header")
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(
            f"command_length {length} but {len(frame)} octets",
            command_id=command_id,
            sequence=sequence,
        )
    decoder = _DECODERS.get(command_id)
    if decoder is None:
        raise PduError(
            f"unknown command_id 0x{command_id:08X}",
            Status.ESME_RINVCMDID,
            command_id,
            sequence,
        )
    try:
        body = decoder(frame)
    except PduError as error:
        error.args = (f"{command_name(command_id)}: {error}",)
        error.command_id, error.sequence = command_id, sequence
        raise
    return Pdu(command_id, status, sequence, body)


def is_response(command_id: int) -> bool:
    return bool(command_id & RESPONSE_BIT)


class FrameReader:
    """Cuts a byte stream into whole PDU frames. A command_length below 16 or over
    MAX_PDU_SIZE raises PduError: the stream cannot be resynchronised, close it."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The frames completed by `data`, in order; the remainder waits for more."""
        if self._buffer:
            self._buffer += data
            source: bytes | bytearray = self._buffer
        else:
            source = data
        frames: list[bytes] = []
        pos = 0
        end = len(source)
        while end - pos >= 4:
            length = int.from_bytes(source[pos : pos + 4], "big")
            if length < HEADER_SIZE or length > MAX_PDU_SIZE:
                sequence = None
                if end - pos >= HEADER_SIZE:
                    sequence = int.from_bytes(source[pos + 12 : pos + 16], "big")
                raise PduError(
                    f"command_length {length} is outside {HEADER_SIZE}..{MAX_PDU_SIZE}",
                    sequence=sequence,
                )
            if end - pos < length:
                break
            frames.append(bytes(source[pos : pos + length]))
            pos += length
        if source is self._buffer:
            del self._buffer[:pos]
        elif pos < end:
            self._buffer += source[pos:]
        return frames

    @property
    def pending(self) -> int:
        """Octets received that do not make a whole frame yet."""
        return len(self._buffer)
