"""Issue 12 point 5: an inbound message that cannot be read is refused for good, over real TCP
against the local SMSC. A deliver_sm whose reply cannot be read (no source address, a header or
a data_coding that cannot be read) gets a deliver_sm_resp with ESME_RX_P_APPN, so the SMSC drops
it instead of delivering it again and again; a reply the database keeps refusing is refused
the same way after MAX_REPLY_FAILURES tries. Each is logged without its number or text, and the
replies that came with it are recorded."""

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select

from tambour.dispatch import journal
from tambour.dispatch.smpp.pdu import Address, DeliverSm
from tambour.dispatch.smpp.status import Status
from tambour.dispatch.smsc import DeliveryRefusedError, Smsc
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.dispatch.worker import MAX_REPLY_FAILURES, Worker, WorkerSettings
from tambour.services.replies import record_replies
from tambour.store.tables import replies
from tambour.traffic import Reply
from tests.dispatch_setup import STOP_NUMBER, ensure_advertiser, paris
from tests.integration.smpp_peers import (
    Inbox,
    eventually,
    running_smsc,
    session_settings,
    transport_to,
)

NOW = paris("2026-12-01T10:00")
PERSON = "+33612345678"
SHORT = Address(3, 0, STOP_NUMBER)
FROM_PERSON = Address(1, 1, PERSON[1:])
# Each cannot be read as a reply, for good; each says STOP, which must not reach the logs.
UNREADABLE = {
    "no source address": DeliverSm(Address(1, 1, ""), SHORT, b"STOP"),
    "a header that runs past the message": DeliverSm(
        FROM_PERSON, SHORT, b"\x0bSTOP", esm_class=0x40
    ),
    "a reserved data_coding": DeliverSm(FROM_PERSON, SHORT, b"STOP", data_coding=0xA7),
    "a compressed text": DeliverSm(FROM_PERSON, SHORT, b"STOP", data_coding=0x20),
    "half a UCS-2 character": DeliverSm(FROM_PERSON, SHORT, b"\x00S\x00T\x00O\x00P\x00", 8),
    "a source that is no address": DeliverSm(Address(5, 0, "S" * 20), SHORT, b"STOP"),
}


def secrets_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> list[str]:
    """The log records (with their tracebacks) that name one of `secrets`."""
    found = []
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if any(secret in text for secret in secrets):
            found.append(text)
    return found


@pytest.mark.parametrize("pdu", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_unreadable_reply_is_refused_for_good_not_delivered_again(
    pdu: DeliverSm, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        inbox = Inbox()
        async with running_smsc() as smsc, transport_to(smsc, inbox):
            with pytest.raises(DeliveryRefusedError) as refused:
                await asyncio.wait_for(smsc.deliver(pdu), 5)
            assert refused.value.status == Status.ESME_RX_P_APPN
            assert (smsc.stats.redeliveries, smsc.stats.deliveries_refused) == (0, 1)
            assert smsc.pending_deliveries == 0
            # The session goes on: the next reply is taken.
            await asyncio.wait_for(smsc.inject_mo(PERSON, STOP_NUMBER, "Stop svp"), 5)
            assert [r.text for r in inbox.replies] == ["Stop svp"]

    with caplog.at_level(logging.WARNING, logger="tambour"):
        asyncio.run(asyncio.wait_for(scenario(), 30))
    warned = [r.getMessage() for r in caplog.records if r.name.startswith("tambour")]
    assert any(m.startswith("unreadable reply, refused for good: ") for m in warned), warned
    assert secrets_logged(caplog, "612345678", "STOP", "SSSS") == []


def _worker(engine: Engine, smsc: Smsc) -> Worker:
    return Worker(
        engine,
        lambda on_inbound: SmppTransport(session_settings(smsc.port), on_inbound),
        settings=WorkerSettings(receipt_wait=1.0, lease=timedelta(seconds=10)),
        clock=lambda: NOW,
    )


def kept(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        found = conn.execute(select(replies.c.text, replies.c.status).order_by(replies.c.id))
        return [(text, status) for text, status in found]


def test_the_worker_refuses_an_unreadable_reply_and_records_the_others(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    ensure_advertiser(engine, NOW)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            runner = _worker(engine, smsc)
            task = asyncio.create_task(runner.run())
            await eventually(lambda: smsc.bound_sessions > 0, 10, "bound")
            outcomes = await asyncio.wait_for(
                asyncio.gather(
                    *(smsc.deliver(pdu) for pdu in UNREADABLE.values()),
                    smsc.inject_mo(PERSON, STOP_NUMBER, "Merci, à samedi"),
                    return_exceptions=True,
                ),
                20,
            )
            assert [type(o).__name__ for o in outcomes] == ["DeliveryRefusedError"] * len(
                UNREADABLE
            ) + ["list"]
            assert smsc.stats.redeliveries == 0
            runner.stop()
            report = await task
            assert report.replies == 1

    with caplog.at_level(logging.WARNING, logger="tambour"):
        asyncio.run(asyncio.wait_for(scenario(), 60))
    assert kept(engine) == [("Merci, à samedi", "new")]
    assert secrets_logged(caplog, "612345678", "STOP", "samedi") == []


def test_a_reply_the_database_keeps_refusing_is_refused_after_a_few_tries(
    engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply that can never be recorded (here: a statement the database refuses, whose error
    text quotes the number and the text) must not come back for ever: it is answered
    ESME_RX_T_APPN (the SMSC tries again) MAX_REPLY_FAILURES - 1 times, then ESME_RX_P_APPN.
    The STOP that came with it is recorded, and the logs name neither."""
    ensure_advertiser(engine, NOW)

    def refusing(conn: Connection, batch: Sequence[Reply], **kwargs: Any) -> Any:
        for reply in batch:
            if "poison" in reply.text:  # NULL in a NOT NULL column, with the text beside it
                conn.execute(insert(replies).values(e164=None, to_number="36111",
                    text=f"{reply.sender} {reply.text}", meaning="other", status="new",
                    received_at=NOW))  # fmt: skip
        return record_replies(conn, batch, **kwargs)

    monkeypatch.setattr(journal, "record_replies", refusing)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            runner = _worker(engine, smsc)
            task = asyncio.create_task(runner.run())
            await eventually(lambda: smsc.bound_sessions > 0, 10, "bound")
            poison = smsc.inject_mo(PERSON, STOP_NUMBER, "poison pill")
            stop = smsc.inject_mo("+33698765432", STOP_NUMBER, "STOP")
            outcomes = await asyncio.wait_for(
                asyncio.gather(poison, stop, return_exceptions=True), 20
            )
            assert isinstance(outcomes[0], DeliveryRefusedError)
            assert outcomes[0].status == Status.ESME_RX_P_APPN
            assert outcomes[1] == [None]
            assert smsc.stats.redeliveries == MAX_REPLY_FAILURES - 1
            runner.stop()
            report = await task
            assert report.replies == 1

    with caplog.at_level(logging.WARNING, logger="tambour"):
        asyncio.run(asyncio.wait_for(scenario(), 60))
    assert kept(engine) == [("STOP", "opted_out")]
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"could not be recorded {MAX_REPLY_FAILURES} times" in m for m in messages)
    assert secrets_logged(caplog, "612345678", "698765432", "poison") == []
