"""`tambour campaign requeue-unknown`: an operator queues again the unknown messages the
carrier's records show were not taken; never those it took parts of, never without --yes,
never for a cancelled campaign; audited."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.services import audit, outbox
from tambour.store.tables import campaigns
from tambour.store.tables import outbox as outbox_rows
from tests.dispatch_setup import launched_campaign, mobile, paris
from tests.integration.cli import Cli

NOW = paris("2026-12-01T10:00")
LEASE = timedelta(seconds=60)


def _states(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(outbox_rows.c.e164, outbox_rows.c.state)).all())


def _unknown_campaign(engine: Engine, tmp_path: Path) -> list[str]:
    """Four messages left unknown: one the carrier took a part of before its submit went
    without an answer, three a dead worker was submitting."""
    numbers = [mobile(i) for i in range(4)]
    launched_campaign(engine, tmp_path, numbers, now=NOW)
    with engine.begin() as conn:
        claimed = {m.e164: m for m in outbox.claim(conn, "w1", NOW, LEASE, 10)}
        doubtful = claimed[numbers[0]]
        outbox.finish(
            conn, "w1", NOW,
            [outbox.Finished(doubtful.id, "unknown", "in_doubt", None, "no answer", ("a1",),
                             doubtful.advertiser_id)],
        )  # fmt: skip
    with engine.begin() as conn:
        assert outbox.rescue(conn, NOW + 2 * LEASE) == 3
    assert set(_states(engine).values()) == {"unknown"}
    return numbers


def test_requeue_unknown_queues_what_the_carrier_did_not_take(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    numbers = _unknown_campaign(engine, tmp_path)
    ledger = Cli(db_url, actor="ops:carla")
    refused = ledger("campaign", "requeue-unknown", "soldes", ok=False)
    assert refused.code == 2 and "--yes" in refused.err
    assert set(_states(engine).values()) == {"unknown"}  # nothing without the confirmation

    done = ledger("campaign", "requeue-unknown", "soldes", "--yes", "--json").json()
    assert done == {"campaign": "soldes", "requeued": 3, "kept_unknown": 1}
    states = _states(engine)
    assert states[numbers[0]] == "unknown"  # the carrier took a part of it: it left
    assert [states[n] for n in numbers[1:]] == ["queued"] * 3
    with engine.connect() as conn:
        (entry,) = [e for e in audit.entries(conn) if e.action == "campaign.requeue_unknown"]
    with engine.connect() as conn:
        requeued = conn.execute(
            select(outbox_rows.c.id).where(outbox_rows.c.e164.in_(numbers[1:]))
        ).scalars()
        expected = audit.id_ranges(sorted(requeued))
    assert entry.actor == "ops:carla"
    with engine.connect() as conn:
        soldes = conn.execute(select(campaigns.c.id)).scalar_one()
    assert entry.details == {"campaign": "soldes", "campaign_id": soldes, "requeued": expected,
                             "kept_unknown": 1}  # fmt: skip
    later = datetime.now(UTC) + timedelta(seconds=1)  # due now: any worker claims them,
    with engine.begin() as conn:  # as any queued message, for a new attempt
        again = outbox.claim(conn, "w2", later, LEASE, 10)
    assert sorted(m.e164 for m in again) == sorted(numbers[1:])
    assert all(m.attempts == 2 for m in again)

    # a cancelled campaign sends nothing more, unknown or not
    with engine.begin() as conn:
        assert outbox.rescue(conn, later + 2 * LEASE) == 3
    ledger("campaign", "cancel", "soldes")
    refused = ledger("campaign", "requeue-unknown", "soldes", "--yes", ok=False)
    assert refused.code == 2 and "cancelled" in refused.err and "Traceback" not in refused.err
    assert list(_states(engine).values()).count("unknown") == 4
