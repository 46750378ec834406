"""The oracle for `message_minutes` (migration 0016): its counts recomputed in Python from every
outbox row, independently of the triggers' SQL. The `db_url` fixture compares the two after
every integration test, so every scenario the suite plays (workers, receipts, faults, an
operator's decisions, plain SQL) checks that the triggers kept the counts exact."""

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, inspect, select

from tambour.store.tables import message_minutes, outbox

SENT = ("submitted", "delivered", "failed", "expired")

Key = tuple[int, int, int, str]  # advertiser, minute, campaign, what


def _minute(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp()) // 60


def expected(conn: Connection) -> Counter[Key]:
    counts: Counter[Key] = Counter()
    rows = conn.execute(
        select(
            outbox.c.advertiser_id,
            outbox.c.campaign_id,
            outbox.c.state,
            outbox.c.submitted_at,
            outbox.c.done_at,
        ).where(outbox.c.state.in_(SENT))
    )
    for advertiser, campaign, state, submitted_at, done_at in rows:
        if submitted_at is not None:
            counts[advertiser, _minute(submitted_at), campaign, "sent"] += 1
        if done_at is not None and state in ("delivered", "failed"):
            counts[advertiser, _minute(done_at), campaign, state] += 1
    return counts


def kept(conn: Connection) -> Counter[Key]:
    counts: Counter[Key] = Counter()
    c = message_minutes.c
    rows = conn.execute(
        select(
            c.advertiser_id, c.minute, c.campaign_id,
            func.sum(c.sent), func.sum(c.delivered), func.sum(c.failed),
        ).group_by(c.advertiser_id, c.minute, c.campaign_id)
    )  # fmt: skip
    for advertiser, minute, campaign, sent, delivered, failed in rows:
        for what, count in (("sent", sent), ("delivered", delivered), ("failed", failed)):
            if count:
                counts[advertiser, minute, campaign, what] += int(count)
    return counts


def differences(engine: Engine) -> str | None:
    """None when message_minutes holds what the outbox says (or there is no such table: a
    schema taken below migration 0016), else what differs."""
    if not inspect(engine).has_table("message_minutes"):
        return None
    with engine.connect() as conn, conn.begin():  # one snapshot of both tables
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        want, have = expected(conn), kept(conn)
    if want == have:
        return None
    wrong = sorted(set(want) | set(have))
    shown = [f"{key}: outbox {want[key]}, message_minutes {have[key]}" for key in wrong
             if want[key] != have[key]][:10]  # fmt: skip
    return "message_minutes differs from the outbox: " + "; ".join(shown)
