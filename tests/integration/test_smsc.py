"""The local SMSC as an SMPP peer, driven over a raw TCP socket: bind states, answers to
malformed PDUs, SAR reassembly, receipts that wait for a session and are delivered until
acknowledged."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tambour.dispatch.receipts import is_receipt, parse_receipt
from tambour.dispatch.smpp.pdu import (
    HEADER,
    Address,
    Bind,
    BindMode,
    Body,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    FrameReader,
    Pdu,
    PduError,
    SubmitSm,
    Tag,
    Tlv,
    decode,
    encode,
)
from tambour.dispatch.smpp.status import Status
from tambour.dispatch.smsc import Smsc
from tests.integration.smpp_peers import PASSWORD, SYSTEM_ID, eventually, run, running_smsc

BRAND = Address(5, 0, "BRAND")
MOBILE = Address(1, 1, "33612345678")


class RawEsme:
    """A bare TCP connection speaking PDUs, to send what a well-behaved client never would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.frames = FrameReader()
        self.received: list[Pdu] = []

    def send_raw(self, octets: bytes) -> None:
        self.writer.write(octets)

    def send(self, body: Body, sequence: int) -> None:
        self.send_raw(encode(body, sequence))

    async def next(self, timeout: float = 2.0) -> Pdu:
        while not self.received:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionError("closed by the SMSC")
            self.received += [decode(f) for f in self.frames.feed(data)]
        return self.received.pop(0)

    async def bind(self, mode: BindMode = BindMode.TRANSCEIVER) -> Pdu:
        self.send(Bind(mode, SYSTEM_ID, PASSWORD), 1)
        return await self.next()


@asynccontextmanager
async def raw_esme(smsc: Smsc) -> AsyncIterator[RawEsme]:
    reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
    try:
        yield RawEsme(reader, writer)
    finally:
        writer.close()


def test_bind_modes_and_states() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc:
            async with raw_esme(smsc) as esme:
                esme.send(SubmitSm(BRAND, MOBILE, b"hi"), 5)
                early = await esme.next()
                assert (early.command_id, early.status, early.sequence) == (
                    CommandId.SUBMIT_SM_RESP,
                    Status.ESME_RINVBNDSTS,
                    5,
                )
                bound = await esme.bind(BindMode.RECEIVER)
                assert (bound.command_id, bound.status) == (CommandId.BIND_RECEIVER_RESP, 0)
                again = await esme.bind(BindMode.TRANSCEIVER)
                assert again.status == Status.ESME_RALYBND
                esme.send(SubmitSm(BRAND, MOBILE, b"hi"), 6)
                assert (await esme.next()).status == Status.ESME_RINVBNDSTS  # a receiver
            assert smsc.parts == []

    run(scenario)


def test_malformed_pdus_are_answered_as_smpp_says() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, raw_esme(smsc) as esme:
            await esme.bind()
            esme.send_raw(HEADER.pack(16, 0x00000103, 0, 41))  # query_sm: not spoken here
            nack = await esme.next()
            assert (nack.command_id, nack.status, nack.sequence) == (
                CommandId.GENERIC_NACK,
                Status.ESME_RINVCMDID,
                41,
            )
            longest = Address(1, 1, "3" * 20)  # 20 digits and the NUL: the most source_addr holds
            frame = encode(SubmitSm(longest, MOBILE, b"hi"), 42).replace(b"3" * 20, b"3" * 25)
            frame = len(frame).to_bytes(4, "big") + frame[4:]
            bad = await _send_and_read(esme, frame)
            assert (bad.command_id, bad.status, bad.sequence) == (
                CommandId.SUBMIT_SM_RESP,
                Status.ESME_RINVSRCADR,
                42,
            )
            esme.send_raw(HEADER.pack(8, 0x15, 0, 43))  # a command_length under 16
            broken = await esme.next()
            assert (broken.command_id, broken.status) == (
                CommandId.GENERIC_NACK,
                Status.ESME_RINVCMDLEN,
            )
            with pytest.raises(ConnectionError):
                await esme.next()  # the stream cannot be read any further: closed
            assert smsc.parts == []

    run(scenario)


async def _send_and_read(esme: RawEsme, frame: bytes) -> Pdu:
    esme.send_raw(frame)
    return await esme.next()


def test_sar_parts_reassemble() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, raw_esme(smsc) as esme:
            await esme.bind()
            for number, piece in ((2, b" world"), (1, b"hello")):
                tlvs = (
                    Tlv(Tag.SAR_MSG_REF_NUM, b"\x01\x00"),
                    Tlv(Tag.SAR_TOTAL_SEGMENTS, b"\x02"),
                    Tlv(Tag.SAR_SEGMENT_SEQNUM, bytes((number,))),
                )
                esme.send(SubmitSm(BRAND, MOBILE, piece, tlvs=tlvs), number)
                assert (await esme.next()).status == 0
            [message] = smsc.messages
            assert message.text == "hello world"
            assert len(message.message_ids) == 2

    run(scenario)


def test_receipts_follow_registered_delivery() -> None:
    async def scenario() -> None:
        async with running_smsc(failure_rate=0.5, seed=7) as smsc, raw_esme(smsc) as esme:
            await esme.bind()
            for sequence in range(2, 42):
                flag = sequence % 3  # 0: none, 1: always, 2: on failure only
                esme.send(SubmitSm(BRAND, MOBILE, b"x", registered_delivery=flag), sequence)
            receipts = []
            responses = 0
            while responses < 40 or len(receipts) < smsc.stats.receipts_queued:
                pdu = await esme.next()
                if isinstance(pdu.body, DeliverSm):
                    receipts.append(parse_receipt(pdu.body))
                    esme.send(DeliverSmResp(), pdu.sequence)
                else:
                    responses += 1
            flags = {p.message_id: p.registered_delivery & 3 for p in smsc.parts}
            assert all(flags[r.message_id] in (1, 2) for r in receipts)
            assert all(r.outcome == "failed" for r in receipts if flags[r.message_id] == 2)
            always = [i for i, flag in flags.items() if flag == 1]
            assert {r.message_id for r in receipts} >= set(always)
            assert 0 < smsc.stats.receipts_queued < 40

    run(scenario)


def test_receipts_wait_for_a_session_and_go_again_until_acknowledged() -> None:
    async def scenario() -> None:
        async with running_smsc(receipt_delay=0.2) as smsc:
            async with raw_esme(smsc) as esme:
                await esme.bind(BindMode.TRANSMITTER)  # cannot receive
                esme.send(SubmitSm(BRAND, MOBILE, b"x", registered_delivery=1), 2)
                assert (await esme.next()).status == 0
            await asyncio.sleep(0.3)
            assert smsc.pending_deliveries == 1  # nobody to receive it
            async with raw_esme(smsc) as esme:
                await esme.bind()
                first = await esme.next()
                assert isinstance(first.body, DeliverSm)
                assert is_receipt(first.body)
                assert (await _redelivered(esme, first)).body == first.body
                await eventually(lambda: smsc.pending_deliveries == 0, what="acknowledged")
                assert smsc.stats.redeliveries == 1

    run(scenario)


async def _redelivered(esme: RawEsme, first: Pdu) -> Pdu:
    """Answer the first delivery with a temporary error, acknowledge the second."""
    esme.send_raw(encode(DeliverSmResp(), first.sequence, Status.ESME_RX_T_APPN))
    second = await esme.next()
    esme.send(DeliverSmResp(), second.sequence)
    return second


def test_a_reply_that_cannot_be_encoded_is_refused_at_once() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, raw_esme(smsc) as esme:
            await esme.bind()
            with pytest.raises(PduError, match="source_addr"):
                smsc.inject_mo("x" * 25, "36111", "STOP")
            delivered = smsc.inject_mo("+33612345678", "36111", "STOP")
            pdu = await esme.next()
            assert isinstance(pdu.body, DeliverSm)
            assert pdu.body.short_message == b"STOP"
            esme.send(DeliverSmResp(), pdu.sequence)
            await delivered

    run(scenario)
