"""Receipts against the outbox (services/outbox.py), on SQLite and PostgreSQL: a receipt for a
part not recorded yet waits, and is not taken by another message whose id reads the same in
the other base."""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.dispatch.receipts import MessageState, Receipt
from tambour.services import outbox
from tambour.store.tables import early_receipts
from tambour.store.tables import outbox as outbox_rows
from tests.dispatch_setup import launched_campaign, mobile, paris

NOW = paris("2026-12-01T10:00")
LEASE = timedelta(seconds=60)


def _state(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(outbox_rows.c.e164, outbox_rows.c.state)).all())


def _claimed(engine: Engine, tmp_path: Path, numbers: list[str]) -> dict[str, outbox.Claimed]:
    """A campaign to `numbers`, launched and claimed by worker w1: its messages by number."""
    launched_campaign(engine, tmp_path, numbers, now=NOW)
    with engine.begin() as conn:
        return {m.e164: m for m in outbox.claim(conn, "w1", NOW, LEASE, 10)}


def test_a_receipt_waits_for_its_part_and_never_takes_an_alias(
    engine: Engine, tmp_path: Path
) -> None:
    x, y = mobile(1), mobile(2)
    claimed = _claimed(engine, tmp_path, [x, y])
    with engine.begin() as conn:
        # X left under the carrier id 64; Y's submit_sm_resp (id 100) is not written yet
        outbox.record_submitted(
            conn, "w1", NOW, [outbox.Submitted(claimed[x].id, claimed[x].advertiser_id,
                                               ("64",), None, NOW)],
        )  # fmt: skip
        # Y's receipt comes first. Decimal 100 is hex 64, X's id: read in the other base, Y's
        # id names X. With a TLV id only the ids as written count, so X is not touched.
        y_failed = Receipt("100", MessageState.UNDELIVERABLE, text_id="100", error=11,
                           from_tlv=True)  # fmt: skip
        assert outbox.record_receipts(conn, NOW, [y_failed]) == 1  # kept for later
    assert _state(engine) == {x: "submitted", y: "submitting"}
    with engine.begin() as conn:
        outbox.record_submitted(
            conn, "w1", NOW, [outbox.Submitted(claimed[y].id, claimed[y].advertiser_id,
                                               ("100",), None, NOW)],
        )  # fmt: skip
        delivered = Receipt("64", MessageState.DELIVERED, text_id="64", from_tlv=True)
        outbox.record_receipts(conn, NOW, [delivered, delivered])  # a redelivery: no change
        left = conn.execute(select(early_receipts.c.id)).all()
    assert _state(engine) == {x: "delivered", y: "failed"}
    assert left == []


def test_parts_the_worker_remembers_need_no_look_up_and_settle_once(
    engine: Engine, tmp_path: Path
) -> None:
    x = mobile(1)
    claimed = _claimed(engine, tmp_path, [x])[x]
    with engine.begin() as conn:
        outbox.record_submitted(
            conn, "w1", NOW,
            [outbox.Submitted(claimed.id, claimed.advertiser_id, ("a1", "a2"), None, NOW)],
        )  # fmt: skip
    recent = {"a1": outbox.Part(claimed.id, 1, 2), "a2": outbox.Part(claimed.id, 2, 2)}
    first = Receipt("A1", MessageState.DELIVERED, from_tlv=True)
    with engine.begin() as conn:
        assert outbox.record_receipts(conn, NOW, [first, first], recent) == 0
    assert _state(engine) == {x: "submitted"}  # one part of two
    second = Receipt("A2", MessageState.UNDELIVERABLE, error=1, from_tlv=True)
    late = Receipt("A2", MessageState.DELIVERED, from_tlv=True)  # contradicts, too late
    with engine.begin() as conn:
        outbox.record_receipts(conn, NOW, [second], recent)
        outbox.record_receipts(conn, NOW, [late], recent)
    assert _state(engine) == {x: "failed"}  # any part failed: the message failed, for good


def test_the_sweep_applies_a_receipt_stored_before_another_worker_recorded_its_part(
    engine: Engine, tmp_path: Path
) -> None:
    x, y = mobile(1), mobile(2)
    claimed = _claimed(engine, tmp_path, [x, y])
    with engine.begin() as conn:
        # Worker 2 gets X's receipt before worker 1's part is visible: kept as early; and a
        # receipt for a message no worker ever recorded (another system's, say).
        delivered = Receipt("6a", MessageState.DELIVERED, from_tlv=True)
        stranger = Receipt("ff", MessageState.DELIVERED, from_tlv=True)
        assert outbox.record_receipts(conn, NOW, [delivered, stranger]) == 2
    with engine.begin() as conn:
        outbox.sweep_early_receipts(conn, NOW)  # no part yet: nothing moves
    assert _state(engine) == {x: "submitting", y: "submitting"}
    with engine.begin() as conn:
        # Worker 1 records the part without looking (it stored no early receipt itself).
        outbox.record_submitted(
            conn, "w1", NOW,
            [outbox.Submitted(claimed[x].id, claimed[x].advertiser_id, ("6a",), None, NOW)],
            early=False,
        )  # fmt: skip
    assert _state(engine) == {x: "submitted", y: "submitting"}
    with engine.begin() as conn:
        outbox.sweep_early_receipts(conn, NOW)
        left = conn.execute(select(early_receipts.c.carrier_key)).scalars().all()
    assert _state(engine) == {x: "delivered", y: "submitting"}
    assert left == ["ff"]  # the stranger waits (until forget_early_receipts drops it)
