"""One message sent by itself (services/messages.py), on SQLite and PostgreSQL: decided by the
core as a campaign of one recipient against the ledger's facts, queued with its sealed plan row
and its audit entry, or refused with the reason code; then sent by a worker over real SMPP, its
parts and receipts read back."""

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tambour.rules.codes import Nature, OptOutSource
from tambour.services import audit_reads, campaigns, importer, messages, optouts
from tambour.services.context import InvalidInputError
from tambour.services.messages import MessageRequest
from tambour.store.tables import audit_log, contacts, outbox, plan_rows
from tambour.store.tables import campaigns as campaign_rows
from tests.dispatch_setup import (
    SENDER,
    context,
    ensure_advertiser,
    mobile,
    paris,
    write_contacts,
)
from tests.integration.smpp_peers import running_smsc
from tests.integration.test_worker import Clock, run, worker

TUESDAY_10 = paris("2026-12-01T10:00")
TUESDAY_21 = paris("2026-12-01T21:30")
SLUG = "maison-lumiere"
PROMO = "Maison Lumière : -20% sur nos luminaires ce week-end, {first_name}."
ORDER = "Maison Lumière : votre commande {transaction} est partie."


@pytest.fixture
def ledger(engine: Engine, tmp_path: Path) -> list[str]:
    """Three consenting contacts of maison-lumiere, in Paris; the second opted out since."""
    numbers = [mobile(i) for i in range(3)]
    ensure_advertiser(engine, TUESDAY_10)
    ctx = context(engine, TUESDAY_10)
    importer.import_contacts(
        ctx, slug=SLUG, path=write_contacts(tmp_path / "c.csv", numbers), workers=1
    )
    optouts.add(ctx, slug=SLUG, number=numbers[1], source=OptOutSource.SMS_STOP)
    return numbers


def promo(to: str, **more: object) -> MessageRequest:
    return MessageRequest(to=to, text=PROMO, sender=SENDER, nature=Nature.COMMERCIAL, **more)  # type: ignore[arg-type]


def refusal(engine: Engine, request: MessageRequest, now=TUESDAY_10) -> InvalidInputError:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError) as raised:
        messages.send(context(engine, now), slug=SLUG, request=request)
    return raised.value


def count(engine: Engine, table, *where) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_a_consenting_contact_is_sent_on_its_consent_with_proof(
    engine: Engine, ledger: list[str]
) -> None:
    ctx = context(engine, TUESDAY_10)
    sent = messages.send(ctx, slug=SLUG, request=promo(ledger[0], label="bienvenue"))
    assert (sent.state, sent.basis, sent.deferral, sent.kind) == (
        "queued",
        "consent",
        None,
        "message",
    )
    assert sent.send_at == TUESDAY_10 and sent.timezone == "Europe/Paris"
    assert sent.text.startswith("Maison Lumière : -20% sur nos luminaires ce week-end, Léa0.")
    assert "STOP" in sent.text  # the opt-out mention, added
    assert messages.get(ctx, message_id=sent.id, advertiser_id=None) == sent
    # Stored as a campaign of one recipient, launched, out of the campaign lists.
    with engine.connect() as conn:
        row = conn.execute(
            select(campaign_rows).where(campaign_rows.c.id == sent.campaign_id)
        ).one()
        planned = conn.execute(select(plan_rows).where(plan_rows.c.campaign_id == row.id)).one()
    assert (row.kind, row.label, row.status, row.name) == (
        "message",
        "bienvenue",
        "launched",
        f"message {row.id}",
    )
    assert (planned.decision, planned.basis, planned.text) == ("send", "consent", sent.text)
    assert campaigns.list_campaigns(ctx, SLUG) == []
    # The plan row is sealed and listed by the audit entry: the ledger's proof holds, and an
    # edit of the row is caught.
    assert count(engine, audit_log, audit_log.c.action == "message.queue") == 1
    checked = audit_reads.verify(ctx)
    assert checked.ok and checked.rows["plan_rows"] == 1
    with engine.begin() as conn:
        conn.execute(plan_rows.update().values(basis="transactional"))
    assert audit_reads.verify(ctx).row_problem_count == 1


def test_refusals_say_why_with_the_reason_code_and_store_nothing(
    engine: Engine, ledger: list[str]
) -> None:
    assert refusal(engine, promo(ledger[1])).code == "opted_out"
    unknown = refusal(engine, promo(mobile(99)))
    assert (unknown.code, unknown.field) == ("no_legal_basis", "to")
    # The nature is checked, not taken on trust: a promotion declared transactional.
    disguised = MessageRequest(
        to=ledger[0], text=PROMO, sender=SENDER, nature=Nature.TRANSACTIONAL, transaction="A1"
    )
    assert refusal(engine, disguised).code == "promotional_content"
    several = refusal(
        engine,
        MessageRequest(to="12", text=ORDER, sender="NOBODY", nature=Nature.TRANSACTIONAL),
    )
    assert {(p.field, p.code) for p in several.problems} == {
        ("to", "invalid_number"), ("sender", "unknown_sender"),
        ("transaction", "transaction_required"),
    }  # fmt: skip
    late = refusal(engine, promo(ledger[0], send_at=TUESDAY_10 - timedelta(hours=1)))
    assert (late.code, late.field) == ("send_at_past", "send_at")
    far = refusal(engine, promo(ledger[0], send_at=TUESDAY_10 + timedelta(days=36)))
    assert far.code == "send_at_too_far"
    assert count(engine, outbox) == 0 and count(engine, campaign_rows) == 0


def test_quiet_hours_hold_a_message_to_the_next_window(engine: Engine, ledger: list[str]) -> None:
    sent = messages.send(context(engine, TUESDAY_21), slug=SLUG, request=promo(ledger[0]))
    assert (sent.basis, sent.deferral) == ("consent", "quiet_hours")
    assert sent.send_at == paris("2026-12-02T08:00")


def test_a_transactional_message_answers_its_transaction_even_after_a_stop(
    engine: Engine, ledger: list[str]
) -> None:
    ctx = context(engine, TUESDAY_21)  # not prospection: no window either
    order = MessageRequest(
        to=ledger[1], text=ORDER, sender=SENDER, nature=Nature.TRANSACTIONAL, transaction="CMD-7"
    )
    sent = messages.send(ctx, slug=SLUG, request=order)
    assert (sent.basis, sent.send_at, sent.transaction) == ("transactional", TUESDAY_21, "CMD-7")
    assert "votre commande CMD-7 est partie" in sent.text
    # A customer not in the ledger yet becomes a contact with no fact.
    stranger = MessageRequest(
        to="06 99 88 77 66", text=ORDER, sender=SENDER, nature=Nature.TRANSACTIONAL,
        transaction="CMD-8",
    )  # fmt: skip
    assert messages.send(ctx, slug=SLUG, request=stranger).to == "+33699887766"
    assert count(engine, contacts, contacts.c.e164 == "+33699887766") == 1
    # A 33700 complaint stops even that.
    optouts.add(ctx, slug=SLUG, number=ledger[2], source=OptOutSource.COMPLAINT_33700)
    complained = MessageRequest(
        to=ledger[2], text=ORDER, sender=SENDER, nature=Nature.TRANSACTIONAL, transaction="C9"
    )
    assert refusal(engine, complained, TUESDAY_21).code == "complaint_33700"


def test_another_advertisers_message_is_not_found(engine: Engine, ledger: list[str]) -> None:
    ctx = context(engine, TUESDAY_10)
    sent = messages.send(ctx, slug=SLUG, request=promo(ledger[0]))
    with engine.connect() as conn:
        mine = conn.execute(select(campaign_rows.c.advertiser_id)).scalar_one()
    with pytest.raises(messages.NotFoundError) as raised:
        messages.get(ctx, message_id=sent.id, advertiser_id=mine + 1)
    assert raised.value.code == "message_not_found"


def test_the_worker_sends_it_and_its_receipt_is_read_back(
    engine: Engine, ledger: list[str]
) -> None:
    ctx = context(engine, TUESDAY_10)
    sent = messages.send(ctx, slug=SLUG, request=promo(ledger[0]))

    async def scenario() -> None:
        async with running_smsc() as smsc:
            report = await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            assert report.submitted == 1
            assert Counter("+" + m.destination.address for m in smsc.messages) == {ledger[0]: 1}

    run(scenario)
    read = messages.get(ctx, message_id=sent.id, advertiser_id=None)
    assert read.state == "delivered" and read.submitted_at is not None
    assert [(p.part, p.of_parts, p.outcome) for p in read.parts] == [(1, 1, "delivered")]
    # A message is not a campaign: no campaign.finish entry for it.
    assert count(engine, audit_log, audit_log.c.action == "campaign.finish") == 0


def test_messages_sent_together_are_each_decided_and_stored_in_one_entry(
    engine: Engine, ledger: list[str]
) -> None:
    """The API gathers the messages that arrive together: each is decided on its own, the
    refusals answered as such, the accepted stored in one transaction and one audit entry."""
    ctx = context(engine, TUESDAY_10)
    stranger = "+33699887766"

    def order(to: str, reference: str) -> MessageRequest:
        return MessageRequest(
            to=to, text=ORDER, sender=SENDER, nature=Nature.TRANSACTIONAL, transaction=reference
        )

    outcomes = messages.send_many(
        ctx,
        slug=SLUG,
        requests=[
            promo(ledger[0]), promo(ledger[1]), order(stranger, "A1"), promo("12"),
            order(stranger, "A2"), promo(ledger[0], label="encore"),
        ],
    )  # fmt: skip
    kinds = [o.code if isinstance(o, InvalidInputError) else o.basis for o in outcomes]
    assert kinds == ["consent", "opted_out", "transactional", "invalid_number",
                     "transactional", "consent"]  # fmt: skip
    sent = [o for o in outcomes if isinstance(o, messages.Message)]
    assert len({m.id for m in sent}) == len({m.campaign_id for m in sent}) == 4
    assert [m.label for m in sent] == [None, None, None, "encore"]
    assert count(engine, contacts, contacts.c.e164 == stranger) == 1  # made once
    assert count(engine, audit_log, audit_log.c.action == "message.queue") == 1
    for message in sent:
        assert messages.get(ctx, message_id=message.id, advertiser_id=None) == message
    checked = audit_reads.verify(ctx)
    assert checked.ok and checked.rows["plan_rows"] == 4
