"""`message_minutes` (migration 0016), the counts the dashboard reads, kept by triggers on the
outbox on SQLite and PostgreSQL: through the worker's own writes, an operator's plain SQL, a
change of campaign, a deletion, and the migration's backfill. (After every integration test the
`db_url` fixture also compares them with the outbox: message_minutes_check.py.)"""

from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, text, update

from tambour.services import message_minutes, outbox
from tambour.store import schema
from tambour.store.tables import message_minutes as message_minutes_rows
from tambour.store.tables import outbox as outbox_rows
from tambour.traffic import MessageState, Receipt
from tests.dispatch_setup import launched_campaign, mobile, paris
from tests.integration import message_minutes_check

NOW = paris("2026-12-01T10:00")
LATER = NOW + timedelta(hours=3)
LEASE = timedelta(seconds=60)
H = message_minutes.minute_of(NOW) // 60  # the hour of NOW (a whole hour)
M = message_minutes.minute_of(NOW)


def _counts(engine: Engine, advertiser_id: int) -> message_minutes.Counts:
    with engine.connect() as conn:
        return message_minutes.by_hour(conn, advertiser_id, since=NOW - timedelta(days=1))


def _sent(engine: Engine, tmp_path: Path, count: int) -> tuple[int, list[outbox.Claimed]]:
    """A campaign to `count` numbers, claimed and taken by the carrier at NOW (keys k0, k1...)."""
    launched_campaign(engine, tmp_path, [mobile(n) for n in range(count)], now=NOW)
    with engine.begin() as conn:
        claimed = outbox.claim(conn, "w1", NOW, LEASE, count)
        assert message_minutes.by_hour(conn, claimed[0].advertiser_id, since=NOW) == {
            "sent": {}, "delivered": {}, "failed": {}
        }  # fmt: skip  # claimed is not sent
        outbox.record_submitted(
            conn, "w1", NOW,
            [outbox.Submitted(m.id, m.advertiser_id, (f"k{n}",), None, NOW, m.campaign_id)
             for n, m in enumerate(claimed)],
        )  # fmt: skip
    return claimed[0].advertiser_id, claimed


def test_the_workers_writes_count_each_message_once_at_its_hours(
    engine: Engine, tmp_path: Path
) -> None:
    advertiser, _ = _sent(engine, tmp_path, 5)
    assert _counts(engine, advertiser) == {"sent": {H: 5}, "delivered": {}, "failed": {}}
    receipts = [
        Receipt("k0", MessageState.DELIVERED, from_tlv=True),
        Receipt("k1", MessageState.DELIVERED, from_tlv=True),
        Receipt("k2", MessageState.UNDELIVERABLE, error=11, from_tlv=True),
        Receipt("k3", MessageState.EXPIRED, from_tlv=True),
    ]
    with engine.begin() as conn:
        outbox.record_receipts(conn, LATER, receipts)
        outbox.record_receipts(conn, LATER, receipts[:1])  # a redelivered receipt: no change
    # Still sent at its hour; delivered and failed at the hour their receipts came; expired
    # is sent, neither delivered nor failed; k4 awaits its receipt.
    assert _counts(engine, advertiser) == {
        "sent": {H: 5}, "delivered": {H + 3: 2}, "failed": {H + 3: 1}
    }  # fmt: skip


def test_a_campaign_is_counted_by_minute(engine: Engine, tmp_path: Path) -> None:
    _, claimed = _sent(engine, tmp_path, 3)
    with engine.begin() as conn:
        outbox.record_receipts(conn, NOW + timedelta(seconds=59), [
            Receipt("k0", MessageState.DELIVERED, from_tlv=True),
            Receipt("k1", MessageState.UNDELIVERABLE, error=11, from_tlv=True),
        ])  # fmt: skip
        outbox.record_receipts(
            conn, NOW + timedelta(minutes=2), [Receipt("k2", MessageState.DELIVERED, from_tlv=True)]
        )
    campaign = claimed[0].campaign_id
    with engine.connect() as conn:
        by_minute = message_minutes.settled_by(conn, campaign, 1)
        by_hour = message_minutes.settled_by(conn, campaign, 60)
        span = message_minutes.settled_span(conn, campaign)
        other = message_minutes.settled_by(conn, campaign + 1, 1)
        kept = message_minutes_check.kept(conn)
    assert by_minute == {M: (1, 1), M + 2: (1, 0)}
    assert by_hour == {H * 60: (2, 1)} and span == (M, M + 2) and other == {}
    sent = {key: n for key, n in kept.items() if key[3] == "sent"}
    assert sent == {(claimed[0].advertiser_id, M, campaign, "sent"): 3}


def test_plain_sql_moves_and_removes_the_counts(engine: Engine, tmp_path: Path) -> None:
    advertiser, claimed = _sent(engine, tmp_path, 3)
    first, second, third = (m.id for m in claimed)
    with engine.begin() as conn:
        # An operator marks one delivered by hand, moves another's instant, queues the third.
        conn.execute(
            update(outbox_rows)
            .where(outbox_rows.c.id == first)
            .values(state="delivered", done_at=LATER)
        )
        conn.execute(
            update(outbox_rows)
            .where(outbox_rows.c.id == second)
            .values(submitted_at=NOW + timedelta(hours=1))
        )
        conn.execute(
            update(outbox_rows)
            .where(outbox_rows.c.id == third)
            .values(state="queued", submitted_at=None)
        )
    assert _counts(engine, advertiser) == {
        "sent": {H: 1, H + 1: 1}, "delivered": {H + 3: 1}, "failed": {}
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(outbox_rows.delete().where(outbox_rows.c.id == first))
        conn.execute(
            update(outbox_rows)
            .where(outbox_rows.c.id == second)
            .values(advertiser_id=advertiser + 1)
        )
    assert _counts(engine, advertiser) == {"sent": {}, "delivered": {}, "failed": {}}
    with engine.connect() as conn:
        other = message_minutes.by_hour(conn, advertiser + 1, since=NOW)
    assert other["sent"] == {H + 1: 1}


def test_the_check_sees_a_count_edited_behind_the_triggers(engine: Engine, tmp_path: Path) -> None:
    """The oracle the fixture runs after every test is not blind."""
    _sent(engine, tmp_path, 2)
    assert message_minutes_check.differences(engine) is None
    with engine.begin() as conn:
        conn.execute(update(message_minutes_rows).values(sent=message_minutes_rows.c.sent + 1))
    try:
        found = message_minutes_check.differences(engine)
        assert found is not None and "outbox 2, message_minutes 3" in found
    finally:
        with engine.begin() as conn:
            conn.execute(update(message_minutes_rows).values(sent=message_minutes_rows.c.sent - 1))


def test_the_migration_counts_the_messages_already_sent(engine: Engine, tmp_path: Path) -> None:
    advertiser, _ = _sent(engine, tmp_path, 4)
    with engine.begin() as conn:
        outbox.record_receipts(conn, LATER, [Receipt("k0", MessageState.DELIVERED, from_tlv=True)])
    config = schema.alembic_config(engine)
    command.downgrade(config, "0015")
    try:
        with engine.begin() as conn:  # sent while Tambour had no counts
            conn.execute(text("UPDATE outbox SET state = 'failed', done_at = submitted_at"
                              " WHERE state = 'submitted'"))  # fmt: skip
    finally:
        command.upgrade(config, "head")
    assert _counts(engine, advertiser) == {
        "sent": {H: 4}, "delivered": {H + 3: 1}, "failed": {H: 3}
    }  # fmt: skip
