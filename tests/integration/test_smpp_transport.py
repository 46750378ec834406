"""The SMPP transport against the local SMSC over real TCP: long messages reassemble to the
exact text, receipts are matched (TLV and text forms), replies are classified, refusals keep
their SMPP status."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tambour.dispatch.inbound import Inbound
from tambour.dispatch.smpp.pdu import Address, DeliverSm
from tambour.dispatch.smpp.status import Status
from tambour.dispatch.smpp.user_data import GSM7, UCS2
from tambour.dispatch.smsc import DeliveryRefusedError
from tambour.dispatch.transports.base import SubmitResult, SubmitStatus
from tambour.rules.replies import ReplyKind
from tambour.traffic import OutboundMessage, Outcome, message_key, message_outcome
from tests.integration.smpp_peers import (
    LONG_GSM,
    LONG_UCS2,
    Inbox,
    eventually,
    run,
    running_smsc,
    transport_to,
)


def message(text: str, sender: str = "MLUMIERE", n: int = 1) -> OutboundMessage:
    return OutboundMessage(f"msg-{n}", sender, "+33612345678", text)


@pytest.mark.parametrize(
    ("text", "data_coding", "parts"),
    [(LONG_GSM, GSM7, 3), (LONG_UCS2, UCS2, 3), ("Bonjour €", GSM7, 1)],
    ids=["gsm7", "ucs2", "single"],
)
def test_long_messages_reassemble_to_the_exact_text(
    text: str, data_coding: int, parts: int
) -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, transport_to(smsc) as transport:
            result = await transport.submit(message(text))
            assert result.status == SubmitStatus.ACCEPTED
            assert result.total_parts == parts
            [received] = smsc.messages
            assert received.text == text
            assert received.data_coding == data_coding
            assert received.message_ids == result.carrier_ids
            assert received.source == Address(5, 0, "MLUMIERE")
            assert received.destination == Address(1, 1, "33612345678")
            assert [p.registered_delivery for p in smsc.parts] == [1] * parts

    run(scenario)


def test_many_long_messages_at_once_keep_their_parts_apart() -> None:
    """300 long messages in flight together, 30 of them to one recipient: concatenation
    references never collide for a recipient, every message reassembles to its own text."""

    async def scenario() -> None:
        async with running_smsc() as smsc, transport_to(smsc) as transport:
            texts = [f"{n:03d} {LONG_UCS2 if n % 2 else LONG_GSM}" for n in range(300)]
            recipients = ["+33612345678" if n % 10 == 0 else f"+33612{n:06d}" for n in range(300)]
            results = await asyncio.gather(
                *(
                    transport.submit(OutboundMessage(f"m{n}", "MLUMIERE", to, text))
                    for n, (to, text) in enumerate(zip(recipients, texts, strict=True))
                )
            )
            assert {r.status for r in results} == {SubmitStatus.ACCEPTED}
            assert sorted(m.text for m in smsc.messages) == sorted(texts)
            assert transport._references == {}

    run(scenario)


def test_too_many_long_messages_in_flight_to_one_recipient_are_retried_later() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, transport_to(smsc, window=1) as transport:
            smsc.mute()
            submits = [
                asyncio.create_task(transport.submit(message(LONG_GSM, n=n))) for n in range(257)
            ]
            done, _ = await asyncio.wait(submits, timeout=2.0)
            [refused] = done
            result = refused.result()
            assert result.status == SubmitStatus.RETRY
            assert result.error is not None and "256 messages in flight" in result.error.detail
            smsc.drop_connections()
            smsc.mute(False)
            await asyncio.gather(*submits)

    run(scenario)


@pytest.mark.parametrize(
    ("sender", "address"),
    [("36111", Address(3, 0, "36111")), ("+33612000000", Address(1, 1, "33612000000"))],
)
def test_numeric_senders_keep_their_ton_npi(sender: str, address: Address) -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, transport_to(smsc) as transport:
            await transport.submit(message("Bonjour", sender=sender))
            assert smsc.parts[0].source == address

    run(scenario)


@pytest.mark.parametrize(
    ("receipt_tlvs", "receipt_seconds", "receipt_decimal_ids"),
    [(True, False, True), (False, False, False), (False, True, True)],
    ids=["tlv", "text", "text-decimal-12-digit-dates"],
)
def test_receipts_are_matched_to_every_part(
    receipt_tlvs: bool, receipt_seconds: bool, receipt_decimal_ids: bool
) -> None:
    """Matched by the receipted_message_id TLV when there is one (the text then writes the id in
    decimal, as some carriers do), else by the text's id:, in the same base or the other."""

    async def scenario() -> None:
        inbox = Inbox()
        settings = {
            "receipt_tlvs": receipt_tlvs,
            "receipt_seconds": receipt_seconds,
            "receipt_decimal_ids": receipt_decimal_ids,
        }
        async with running_smsc(**settings) as smsc, transport_to(smsc, inbox) as transport:
            results: list[SubmitResult] = [
                await transport.submit(message(LONG_GSM)),
                await transport.submit(message("Bonjour")),
            ]
            await eventually(lambda: len(inbox.receipts) == 4, what="4 receipts")
            by_key = {key: r for r in inbox.receipts for key in r.match_keys}
            for result in results:
                parts = [by_key[message_key(i)].outcome for i in result.carrier_ids]
                assert message_outcome(parts) == Outcome.DELIVERED
            carrier_ids = {i for r in results for i in r.carrier_ids}
            for receipt in inbox.receipts:
                assert receipt.submitted_at is not None  # 10 or 12 digits, read either way
                assert (receipt.message_id in carrier_ids) == (
                    receipt_tlvs or not receipt_decimal_ids
                )
                assert (receipt.text_id in carrier_ids) == (not receipt_decimal_ids)
            await eventually(lambda: smsc.stats.deliveries_acked == 4, what="4 acks")
            assert smsc.pending_deliveries == 0

    run(scenario)


def test_a_failed_part_fails_the_message() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        async with (
            running_smsc(failure_rate=1.0) as smsc,
            transport_to(smsc, inbox) as transport,
        ):
            result = await transport.submit(message(LONG_GSM))
            await eventually(lambda: len(inbox.receipts) == 3, what="3 receipts")
            assert {r.outcome for r in inbox.receipts} == {Outcome.FAILED}
            assert {r.error for r in inbox.receipts} == {1}
            assert {r.network_error for r in inbox.receipts} == {(3, 1)}
            by_id = {r.message_id: r.outcome for r in inbox.receipts}
            outcomes = [by_id[i] for i in result.carrier_ids]
            assert message_outcome(outcomes) == Outcome.FAILED

    run(scenario)


def test_a_validity_period_makes_the_carrier_drop_what_came_too_late() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        async with (
            running_smsc(receipt_delay=0.5) as smsc,
            transport_to(smsc, inbox) as transport,
        ):
            now = datetime.now(UTC)
            soon = OutboundMessage("m1", "BRAND", "+33612345678", "Bonjour", now)
            later = OutboundMessage("m2", "BRAND", "+33612345678", "Bonjour", now + timedelta(1))
            assert (await transport.submit(soon)).status == SubmitStatus.ACCEPTED
            assert (await transport.submit(later)).status == SubmitStatus.ACCEPTED
            assert [p.valid_until for p in smsc.parts] == [
                now.replace(microsecond=now.microsecond // 100_000 * 100_000),
                (now + timedelta(1)).replace(microsecond=now.microsecond // 100_000 * 100_000),
            ]
            await eventually(lambda: len(inbox.receipts) == 2, what="2 receipts")
            outcomes = {r.message_id: r.outcome for r in inbox.receipts}
            assert [outcomes[p.message_id] for p in smsc.parts] == [
                Outcome.EXPIRED,
                Outcome.DELIVERED,
            ]
            naive = OutboundMessage("m3", "BRAND", "+33612345678", "x", datetime(2026, 1, 1))
            assert (await transport.submit(naive)).status == SubmitStatus.FAILED

    run(scenario)


def test_replies_are_classified_and_acknowledged() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        async with running_smsc() as smsc, transport_to(smsc, inbox):
            await smsc.inject_mo("+33612345678", "36111", "Arrêt SVP ✋")
            await smsc.inject_mo("0612345679", "36111", "START")
            await smsc.inject_mo("+33612345680", "36111", "Merci " * 40)  # two parts
            stop, start, *other = inbox.replies
            assert (stop.kind, stop.sender, stop.short_number, stop.text) == (
                ReplyKind.STOP,
                "+33612345678",
                "36111",
                "Arrêt SVP ✋",
            )
            assert (start.kind, start.sender) == (ReplyKind.START, "+33612345679")
            assert [r.kind for r in other] == [ReplyKind.OTHER, ReplyKind.OTHER]
            assert smsc.stats.deliveries_acked == 4

    run(scenario)


def test_a_failing_handler_gets_the_reply_again() -> None:
    async def scenario() -> None:
        seen: list[Inbound] = []

        async def flaky(inbound: Inbound) -> None:
            seen.append(inbound)
            if len(seen) == 1:
                raise RuntimeError("the ledger is down")

        async with running_smsc() as smsc, transport_to(smsc, flaky):
            await smsc.inject_mo("+33612345678", "36111", "STOP")
            assert len(seen) == 2
            assert seen[0] == seen[1]
            assert smsc.stats.redeliveries == 1

    run(scenario)


def test_an_unreadable_receipt_is_refused_for_good() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        async with running_smsc() as smsc, transport_to(smsc, inbox):
            bogus = DeliverSm(
                Address(1, 1, "33612345678"), Address(5, 0, "X"), b"stat:DELIVRD", esm_class=4
            )
            with pytest.raises(DeliveryRefusedError) as caught:
                await smsc.deliver(bogus)
            assert caught.value.status == Status.ESME_RX_P_APPN
            assert smsc.stats.deliveries_refused == 1
            assert smsc.stats.redeliveries == 0
            assert inbox.receipts == []

    run(scenario)


def test_refusals_keep_their_smpp_status() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, transport_to(smsc) as transport:
            smsc.refuse("+33612345678", Status.ESME_RINVDSTADR)
            failed = await transport.submit(message(LONG_GSM))
            assert failed.status == SubmitStatus.FAILED
            assert failed.error is not None
            assert (failed.error.system, failed.error.code) == ("smpp", 0x0B)
            assert len(failed.parts) == 1  # the first part refused: the others never went
            smsc.refuse("+33612345678", Status.ESME_RSYSERR)
            retry = await transport.submit(message("Bonjour"))
            assert retry.status == SubmitStatus.RETRY
            assert retry.error is not None and retry.error.code == 0x08
            assert smsc.parts == []

    run(scenario)


def test_what_cannot_be_sent_fails_before_the_smsc() -> None:
    async def scenario() -> None:
        async with running_smsc() as smsc, transport_to(smsc) as transport:
            for bad in (message("x", sender="MAISON-LUMIERE-SAS"), message("")):
                result = await transport.submit(bad)
                assert result.status == SubmitStatus.FAILED
                assert result.error is not None and result.error.system == "local"
            assert smsc.stats.submits == 0

    run(scenario)
