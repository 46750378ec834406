"""Receipts against the outbox (services/outbox.py), on SQLite and PostgreSQL: a receipt for a
part not recorded yet waits, and is not taken by another message whose id reads the same in
the other base."""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.services import outbox
from tambour.store.tables import early_receipts
from tambour.store.tables import outbox as outbox_rows
from tambour.traffic import MessageState, Receipt
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


def test_a_message_of_two_parts_settles_once_all_its_parts_are_known(
    engine: Engine, tmp_path: Path
) -> None:
    x = mobile(1)
    claimed = _claimed(engine, tmp_path, [x])[x]
    with engine.begin() as conn:
        outbox.record_submitted(
            conn, "w1", NOW,
            [outbox.Submitted(claimed.id, claimed.advertiser_id, ("a1", "a2"), None, NOW)],
        )  # fmt: skip
    first = Receipt("A1", MessageState.DELIVERED, from_tlv=True)
    with engine.begin() as conn:
        assert outbox.record_receipts(conn, NOW, [first, first]) == 0
    assert _state(engine) == {x: "submitted"}  # one part of two
    second = Receipt("A2", MessageState.UNDELIVERABLE, error=1, from_tlv=True)
    late = Receipt("A2", MessageState.DELIVERED, from_tlv=True)  # contradicts, too late
    with engine.begin() as conn:
        outbox.record_receipts(conn, NOW, [second])
        outbox.record_receipts(conn, NOW, [late])
    assert _state(engine) == {x: "failed"}  # any part failed: the message failed, for good


def test_a_reused_id_names_the_most_recent_part_at_its_carrier(
    engine: Engine, tmp_path: Path
) -> None:
    """A carrier restarted and gives out its ids again: X's part "1" still waits for a
    receipt that will never come when Y's part gets "1" too. Y's receipt is Y's, even though X
    has the lower id and still waits; the same id at another carrier names neither."""
    x, y, z = mobile(1), mobile(2), mobile(3)
    claimed = _claimed(engine, tmp_path, [x, y, z])
    later = NOW + timedelta(minutes=5)
    with engine.begin() as conn:
        outbox.record_submitted(
            conn, "w1", NOW,
            [outbox.Submitted(claimed[x].id, claimed[x].advertiser_id, ("1",), None, NOW),
             outbox.Submitted(claimed[z].id, claimed[z].advertiser_id, ("7",), None, NOW,
                              carrier="other")],
        )  # fmt: skip
    with engine.begin() as conn:
        outbox.record_submitted(
            conn, "w1", later,
            [outbox.Submitted(claimed[y].id, claimed[y].advertiser_id, ("1",), None, later)],
        )  # fmt: skip
    with engine.begin() as conn:
        delivered = Receipt("1", MessageState.DELIVERED, from_tlv=True)
        assert outbox.record_receipts(conn, later, [delivered]) == 0
        # "7" at the default carrier is nobody's: it waits, Z's part at "other" is untouched
        assert outbox.record_receipts(conn, later, [Receipt("7", MessageState.DELIVERED)]) == 1
    assert _state(engine) == {x: "submitted", y: "delivered", z: "submitted"}
    with engine.begin() as conn:
        theirs = Receipt("7", MessageState.UNDELIVERABLE, error=5, carrier="other")
        assert outbox.record_receipts(conn, later, [theirs]) == 0
    assert _state(engine) == {x: "submitted", y: "delivered", z: "failed"}


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


def test_claims_whose_commit_went_unheard_go_back_to_the_queue(
    engine: Engine, tmp_path: Path
) -> None:
    """A worker that lost its database during a claim does not know whether it committed; it
    knows what it holds (and may send). What else it has `submitting` it never sent: queued
    again, due at once, for any worker; another worker's claims are not touched."""
    numbers = [mobile(i) for i in range(4)]
    claimed = _claimed(engine, tmp_path, numbers[:3] + numbers[3:])
    held = claimed[numbers[0]].id
    with engine.begin() as conn:
        conn.execute(
            outbox_rows.update().where(outbox_rows.c.e164 == numbers[3]).values(lease_owner="w2")
        )
        assert outbox.release_unheld(conn, "w1", NOW, [held]) == 2
    states = _state(engine)
    assert [states[n] for n in numbers] == ["submitting", "queued", "queued", "submitting"]
    with engine.begin() as conn:
        again = outbox.claim(conn, "w3", NOW, LEASE, 10)
    assert sorted(m.e164 for m in again) == numbers[1:3]
