"""`tambour campaign requeue-unknown`: an operator queues again the unknown messages the
carrier's records show were not taken; never those it took parts of, never without --yes,
never for a cancelled campaign; audited."""

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.services import audit, outbox
from tambour.store.tables import campaigns, early_receipts
from tambour.store.tables import outbox as outbox_rows
from tambour.traffic import MessageState, Receipt
from tests.dispatch_setup import SENDER, launched_campaign, mobile, paris
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
    # Without --yes: what to check with the carrier's support, as CSV; nothing changes.
    listed = ledger("campaign", "requeue-unknown", "soldes")
    assert "--yes" in listed.err and "4 unknown message(s)" in listed.err
    table = list(csv.DictReader(io.StringIO(listed.out)))
    assert [row["recipient"] for row in table] == numbers
    assert {row["sender"] for row in table} == {SENDER}
    assert [row["reason"] for row in table] == ["in_doubt"] + ["worker_lost"] * 3
    assert [row["carrier_ids"] for row in table] == ["a1", "", "", ""]
    # the dead worker's: searchable from their claim, in doubt since their rescue
    assert {row["may_have_left_from"] for row in table[1:]} == {NOW.isoformat()}
    assert {row["in_doubt_since"] for row in table[1:]} == {(NOW + 2 * LEASE).isoformat()}
    assert set(_states(engine).values()) == {"unknown"}  # nothing without the confirmation
    as_json = ledger("campaign", "requeue-unknown", "soldes", "--json").json()
    assert [m["message_id"] for m in as_json] == [int(row["message_id"]) for row in table]
    assert ledger("campaign", "requeue-unknown", "soldes", "--csv", str(tmp_path / "x.csv"))
    assert (tmp_path / "x.csv").read_text(encoding="utf-8-sig") == listed.out
    assert (tmp_path / "x.csv").stat().st_mode & 0o077 == 0
    with engine.connect() as conn:
        (rescued,) = [e for e in audit.entries(conn) if e.action == "dispatch.rescued"]
        dead = conn.execute(
            select(outbox_rows.c.id).where(outbox_rows.c.e164.in_(numbers[1:]))
        ).scalars()
        assert rescued.details["unknown"] == audit.id_ranges(sorted(dead))
        assert rescued.details["workers"] == ["w1"]

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


def test_receipts_prove_taken_the_messages_in_doubt_they_name(
    engine: Engine, tmp_path: Path
) -> None:
    """A dead worker left four messages submitting. The carrier receipted two of them (the
    receipts matched no part: the worker died before writing what the carrier answered): those
    two are proven taken, one delivered and one failed, and so never queued again. A receipt
    from another sender proves nothing; nor does a receipt older than the message's claim."""
    numbers = [mobile(i) for i in range(4)]
    launched_campaign(engine, tmp_path, numbers, now=NOW)
    later = NOW + timedelta(seconds=5)

    def receipt(number: str, key: str, state: MessageState, sender: str = SENDER) -> Receipt:
        return Receipt(key, state, from_tlv=True, recipient=number[1:], sender=sender)

    with engine.begin() as conn:
        outbox.claim(conn, "w1", NOW, LEASE, 10)
    with engine.begin() as conn:
        stored = outbox.record_receipts(
            conn, later,
            [receipt(numbers[0], "a1", MessageState.DELIVERED),
             receipt(numbers[1], "a2", MessageState.UNDELIVERABLE),
             receipt(numbers[2], "a3", MessageState.DELIVERED, sender="AUTRE")],
        )  # fmt: skip
        assert stored == 3  # no part has these ids: they wait
        outbox.record_receipts(
            conn, NOW - timedelta(hours=1), [receipt(numbers[3], "a4", MessageState.DELIVERED)]
        )
    with engine.begin() as conn:
        assert outbox.rescue(conn, NOW + 2 * LEASE, "worker:test") == 4
        assert outbox.prove_unknown(conn, NOW + 2 * LEASE, "worker:test", NOW) == 2
    states = _states(engine)
    assert [states[n] for n in numbers] == ["delivered", "failed", "unknown", "unknown"]
    with engine.connect() as conn:
        (proven,) = [e for e in audit.entries(conn) if e.action == "dispatch.proven"]
        ids = dict(conn.execute(select(outbox_rows.c.e164, outbox_rows.c.id)).all())
        keys = conn.execute(select(early_receipts.c.carrier_key)).scalars().all()
    assert proven.details["delivered"] == [[ids[numbers[0]]] * 2]
    assert proven.details["failed"] == [[ids[numbers[1]]] * 2]
    assert sorted(keys) == ["a3", "a4"]  # used receipts are gone; the others wait
    # Proven taken: never queued again by an operator.
    done = Cli(str(engine.url.render_as_string(False)))(
        "campaign", "requeue-unknown", "soldes", "--yes", "--json"
    ).json()
    assert done["requeued"] == 2
    assert _states(engine)[numbers[0]] == "delivered"
