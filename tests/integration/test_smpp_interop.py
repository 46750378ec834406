"""The SMPP client against an independent SMPP v3.4 server: the SMSC of smpp34 (a Rust/tokio
implementation by another team, a dev dependency), not tambour's own local SMSC,
over real TCP on 127.0.0.1. What it receives is read with its codec, never ours: the text of
the parts is reassembled here from the raw short_message with a User Data Header parser and a
GSM 03.38 table of this file.

smpp34's Python server accepts every bind whatever the credentials (it has no hook to refuse
one), so a refused bind cannot be tested against it; tests/integration/test_smpp_session.py
covers that against the local SMSC. What it can check: the system_id we send, submit_sm
(fields and text), enquire_link, deliver_sm both ways (receipts and replies, and the
deliver_sm_resp status we answer), unbind.
"""

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
import smpp34

from tambour.dispatch.inbound import Inbound
from tambour.dispatch.smpp.status import Status
from tambour.dispatch.transports.base import SubmitStatus
from tambour.rules.replies import ReplyKind
from tambour.traffic import MessageState, OutboundMessage, Outcome, Reply, message_key
from tests.integration.smpp_peers import (
    LONG_GSM,
    LONG_UCS2,
    SYSTEM_ID,
    Inbox,
    eventually,
    run,
    transport_to,
)

# SMPP v3.4 numbers, written out: smpp34 exports its own as module attributes set at import,
# which type checkers cannot see.
ESME_RINVDSTADR = 0x0B
ESME_RSYSERR = 0x08
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
WAIT = 5.0  # seconds, for anything the peer should do at once

# GSM 03.38 default alphabet and its extension table (after the escape 0x1B), one septet a byte.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
                 0x3E: "]", 0x40: "|", 0x65: "€"}  # fmt: skip


def gsm_decode(septets: bytes) -> str:
    out: list[str] = []
    escaped = False
    for septet in septets:
        assert septet < 0x80, f"byte {septet:#04x} is no unpacked GSM septet"
        if escaped:
            out.append(GSM_EXTENSION[septet])
            escaped = False
        elif septet == 0x1B:
            escaped = True
        else:
            out.append(GSM_BASIC[septet])
    assert not escaped, "the text ends on an escape"
    return "".join(out)


@dataclass(frozen=True)
class Received:
    """A submit_sm as smpp34 decoded it."""

    message_id: str
    system_id: str
    source: tuple[int, int, str]
    destination: tuple[int, int, str]
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes


def concatenation(part: Received) -> tuple[int, int, int, bytes]:
    """(reference, total, number, payload) of a part, read from its User Data Header."""
    assert part.esm_class & 0x40, f"esm_class {part.esm_class:#04x} has no UDHI"
    data = part.short_message
    header, payload = data[1 : 1 + data[0]], data[1 + data[0] :]
    while header:
        iei, length, value = header[0], header[1], header[2 : 2 + header[1]]
        if iei == 0x00 and length == 3:
            return value[0], value[1], value[2], payload
        if iei == 0x08 and length == 4:
            return value[0] << 8 | value[1], value[2], value[3], payload
        header = header[2 + length :]
    raise AssertionError(f"no concatenation element in the UDH of {data.hex()}")


def decode(data_coding: int, payload: bytes) -> str:
    if data_coding == 0:
        return gsm_decode(payload)
    assert data_coding == 8, f"unexpected data_coding {data_coding}"
    return payload.decode("utf-16-be")


def fits_one_sms(part: Received) -> bool:
    """Whether a part fits the 140 octets of one SMS on the air: UCS-2 as it is; unpacked GSM
    septets once packed, a 6-octet UDH then taking 7 septets (with its fill bits)."""
    if part.data_coding == 8:
        return len(part.short_message) <= 140
    if part.esm_class & 0x40:
        header = 1 + part.short_message[0]
        septets = -(-header * 8 // 7) + len(part.short_message) - header
    else:
        septets = len(part.short_message)
    return septets <= 160


def reassemble(parts: list[Received]) -> str:
    if len(parts) == 1 and not parts[0].esm_class & 0x40:
        return decode(parts[0].data_coding, parts[0].short_message)
    read = [concatenation(p) for p in parts]
    assert len({(ref, total) for ref, total, _, _ in read}) == 1, "parts of different messages"
    assert sorted(number for _, _, number, _ in read) == list(range(1, len(parts) + 1))
    assert read[0][1] == len(parts)
    payload = b"".join(p for *_, p in sorted(read, key=lambda r: r[2]))
    return decode(parts[0].data_coding, payload)


@dataclass
class IndependentSmsc:
    """smpp34's server on an ephemeral port, its events pumped into lists."""

    server: Any
    port: int
    esmes: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    unbound: list[str] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)  # destination -> command_status
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(0x5A000001))

    async def pump(self) -> None:
        system_ids: dict[str, str] = {}
        while True:
            event = await self.server.next()
            if isinstance(event, smpp34.Esme):
                system_ids[event.session_id] = event.system_id
                self.esmes.append(event)
            elif isinstance(event, smpp34.SubmitSmEvent):
                status = self.refuse.get(event.destination_addr)
                if status is not None:
                    event.reject(status)
                    continue
                message_id = f"{next(self._ids):x}"
                self.received.append(
                    Received(
                        message_id,
                        system_ids.get(event.session_id, "?"),
                        (event.source_addr_ton, event.source_addr_npi, event.source_addr),
                        (event.dest_addr_ton, event.dest_addr_npi, event.destination_addr),
                        event.esm_class,
                        event.data_coding,
                        event.registered_delivery,
                        bytes(event.short_message),
                    )
                )
                event.accept(message_id)
            elif isinstance(event, smpp34.Unbound):
                self.unbound.append(event.session_id)

    async def esme(self) -> Any:
        await eventually(lambda: len(self.esmes) == 1, WAIT, "the server saw our bind")
        return self.esmes[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def independent_smsc() -> AsyncIterator[IndependentSmsc]:
    # smpp34's Server takes a port and does not tell which one port 0 got: take a free one,
    # and another if some other process grabbed it in between.
    for attempt in range(5):
        port = free_port()
        server = smpp34.Server("127.0.0.1", port, system_id="Smpp34Smsc")
        try:
            await asyncio.wait_for(server.start(), WAIT)
            break
        except Exception:
            if attempt == 4:
                raise
    smsc = IndependentSmsc(server, port)
    pump = asyncio.create_task(smsc.pump())
    try:
        yield smsc
    finally:
        pump.cancel()
        with suppress(asyncio.CancelledError):
            await pump
        await asyncio.wait_for(server.stop(), WAIT)


def message(text: str, sender: str = "MLUMIERE", n: int = 1) -> OutboundMessage:
    return OutboundMessage(f"msg-{n}", sender, "+33612345678", text)


def test_the_bind_names_us_and_the_unbind_is_clean(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with independent_smsc() as smsc:
            async with transport_to(smsc) as transport:
                esme = await smsc.esme()
                assert esme.system_id == SYSTEM_ID
                assert esme.can_receive  # bound as a transceiver
                assert transport.session.bound
                closing = time.monotonic()
            assert "no unbind_resp" not in caplog.text  # the server answered the unbind
            assert time.monotonic() - closing < 5.0  # and closing did not hang
            assert not transport.session.bound
            await eventually(lambda: len(smsc.unbound) == 1, WAIT, "the server saw the unbind")
            assert smsc.unbound == [esme.session_id]
            assert transport.session.stats.disconnects == 0

    run(scenario)


@pytest.mark.parametrize(
    ("text", "data_coding", "parts"),
    [(LONG_GSM, 0, 3), (LONG_UCS2, 8, 3), ("Bonjour €", 0, 1)],
    ids=["gsm7", "ucs2", "single"],
)
def test_messages_reach_the_server_whole(text: str, data_coding: int, parts: int) -> None:
    async def scenario() -> None:
        async with independent_smsc() as smsc, transport_to(smsc) as transport:
            result = await transport.submit(message(text))
            assert result.status == SubmitStatus.ACCEPTED
            assert result.total_parts == parts
            received = smsc.received
            assert len(received) == parts
            assert list(result.carrier_ids) == [r.message_id for r in received]
            assert len(set(result.carrier_ids)) == parts
            assert reassemble(received) == text
            for part in received:
                assert part.system_id == SYSTEM_ID
                assert part.data_coding == data_coding
                assert part.esm_class == (0x40 if parts > 1 else 0)
                assert part.source == (5, 0, "MLUMIERE")
                assert part.destination == (1, 1, "33612345678")
                assert part.registered_delivery == 1
                assert fits_one_sms(part), f"part of {len(part.short_message)} octets"

    run(scenario)


@pytest.mark.parametrize(
    ("sender", "address"), [("36111", (3, 0, "36111")), ("+33612000000", (1, 1, "33612000000"))]
)
def test_numeric_senders_keep_their_ton_npi(sender: str, address: tuple[int, int, str]) -> None:
    async def scenario() -> None:
        async with independent_smsc() as smsc, transport_to(smsc) as transport:
            assert (await transport.submit(message("Bonjour", sender))).status == "accepted"
            assert [r.source for r in smsc.received] == [address]

    run(scenario)


def test_a_refusal_keeps_its_smpp_status() -> None:
    async def scenario() -> None:
        async with independent_smsc() as smsc, transport_to(smsc) as transport:
            smsc.refuse["33612345678"] = ESME_RINVDSTADR
            failed = await transport.submit(message(LONG_GSM))
            assert failed.status == SubmitStatus.FAILED
            assert failed.error is not None
            assert (failed.error.system, failed.error.code) == ("smpp", 0x0B)
            assert len(failed.parts) == 1  # the first part refused: the others never went
            smsc.refuse["33612345678"] = ESME_RSYSERR
            retry = await transport.submit(message("Bonjour"))
            assert retry.status == SubmitStatus.RETRY
            assert retry.error is not None and retry.error.code == 0x08
            assert smsc.received == []

    run(scenario)


def test_enquire_link_keeps_the_session() -> None:
    """After 0.2 s of silence the session asks enquire_link and drops the connection when no
    answer comes within 1 s; smpp34 answers, so 1.5 s of silence keep the one connection."""

    async def scenario() -> None:
        async with (
            independent_smsc() as smsc,
            transport_to(smsc, enquire_link_interval=0.2, response_timeout=1.0) as transport,
        ):
            session = transport.session
            connection = session._connection
            assert connection is not None
            heard = connection.last_received
            await asyncio.sleep(1.5)
            assert connection.last_received > heard  # only an enquire_link_resp came meanwhile
            assert session._connection is connection
            assert (session.stats.connections, session.stats.disconnects) == (1, 0)
            assert (await transport.submit(message("Toujours là"))).status == "accepted"

    run(scenario)


def receipt_text(message_id: str, stat: str = "DELIVRD", err: str = "000") -> bytes:
    return (
        f"id:{message_id} sub:001 dlvrd:001 submit date:2611282150 done date:2611282151 "
        f"stat:{stat} err:{err} text:Bonjour Marie"
    ).encode("ascii")


@pytest.mark.parametrize("with_tlvs", [True, False], ids=["tlv", "text"])
def test_receipts_from_the_server_are_read(with_tlvs: bool) -> None:
    async def scenario() -> None:
        inbox = Inbox()
        async with independent_smsc() as smsc, transport_to(smsc, inbox) as transport:
            result = await transport.submit(message(LONG_GSM))
            assert result.status == SubmitStatus.ACCEPTED
            esme = await smsc.esme()
            for n, part in enumerate(smsc.received):
                failed = n == 2
                tlvs = [
                    smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, part.message_id.encode() + b"\0"),
                    smpp34.Tlv(TLV_MESSAGE_STATE, bytes([5 if failed else 2])),
                ]
                resp = await asyncio.wait_for(
                    esme.deliver_sm(
                        "MLUMIERE",
                        receipt_text(part.message_id, *(("UNDELIV", "001") if failed else ())),
                        source_addr="33612345678",
                        source_addr_ton=1,
                        source_addr_npi=1,
                        dest_addr_ton=5,
                        esm_class=0x04,
                        tlvs=tlvs if with_tlvs else [],
                    ),
                    WAIT,
                )
                assert (resp.is_success, resp.command_status) == (True, 0)
            assert len(inbox.receipts) == 3
            by_key = {key: r for r in inbox.receipts for key in r.match_keys}
            receipts = [by_key[message_key(i)] for i in result.carrier_ids]
            assert [r.outcome for r in receipts] == [
                Outcome.DELIVERED,
                Outcome.DELIVERED,
                Outcome.FAILED,
            ]
            assert receipts[2].state == MessageState.UNDELIVERABLE
            assert receipts[2].error == 1
            assert [r.from_tlv for r in receipts] == [with_tlvs] * 3
            assert [r.text_id for r in receipts] == list(result.carrier_ids)
            assert all(r.submitted_at is not None and r.done_at is not None for r in receipts)

    run(scenario)


def test_replies_from_the_server_are_read() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        async with independent_smsc() as smsc, transport_to(smsc, inbox):
            esme = await smsc.esme()
            deliveries = [
                ("Arrêt SVP ✋".encode("utf-16-be"), 8),
                (b"START", 0),
                ("Merci pour l'info".encode("ascii"), 0),
            ]
            for text, data_coding in deliveries:
                resp = await asyncio.wait_for(
                    esme.deliver_sm(
                        "36111",
                        text,
                        source_addr="33612345678",
                        source_addr_ton=1,
                        source_addr_npi=1,
                        dest_addr_ton=3,
                        data_coding=data_coding,
                    ),
                    WAIT,
                )
                assert (resp.is_success, resp.command_status) == (True, 0)
            stop, start, other = inbox.replies
            assert (stop.kind, stop.sender, stop.short_number, stop.text) == (
                ReplyKind.STOP,
                "+33612345678",
                "36111",
                "Arrêt SVP ✋",
            )
            assert (start.kind, start.text) == (ReplyKind.START, "START")
            assert (other.kind, other.text) == (ReplyKind.OTHER, "Merci pour l'info")
            assert inbox.receipts == []

    run(scenario)


def test_the_server_learns_when_a_deliver_sm_was_not_taken() -> None:
    """An unreadable receipt is refused for good (ESME_RX_P_APPN), a reply whose handler fails
    for now (ESME_RX_T_APPN), both in the deliver_sm_resp smpp34 reads."""

    async def scenario() -> None:
        def failing(inbound: Inbound) -> None:
            if isinstance(inbound, Reply):
                raise RuntimeError("the ledger is down")

        async with independent_smsc() as smsc, transport_to(smsc, failing):
            esme = await smsc.esme()
            bogus = await asyncio.wait_for(
                esme.deliver_sm("MLUMIERE", b"stat:DELIVRD", source_addr="33612345678",
                                esm_class=0x04),
                WAIT,
            )  # fmt: skip
            assert (bogus.is_success, bogus.command_status) == (False, Status.ESME_RX_P_APPN)
            reply = await asyncio.wait_for(
                esme.deliver_sm("36111", b"STOP", source_addr="33612345678"), WAIT
            )
            assert (reply.is_success, reply.command_status) == (False, Status.ESME_RX_T_APPN)

    run(scenario)


def test_the_server_unbinding_ends_the_session_cleanly() -> None:
    """smpp34 sends unbind: the session answers, drops the connection, binds again."""

    async def scenario() -> None:
        async with independent_smsc() as smsc, transport_to(smsc) as transport:
            esme = await smsc.esme()
            await asyncio.wait_for(esme.unbind(), WAIT)
            session = transport.session
            await eventually(lambda: session.stats.disconnects == 1, WAIT, "the unbind seen")
            await eventually(lambda: session.stats.connections == 2, WAIT, "bound again")
            await eventually(lambda: len(smsc.esmes) == 2, WAIT, "the server saw the new bind")
            assert (await transport.submit(message("Encore là"))).status == "accepted"
            assert [r.system_id for r in smsc.received] == [SYSTEM_ID]

    run(scenario)
