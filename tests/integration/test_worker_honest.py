"""Issue 13: nothing pretends to send, and a launched campaign ends. On SQLite and PostgreSQL,
through `tambour worker` and `tambour campaign` as a user runs them (in this process, on an
injected clock that runs from TAMBOUR_NOW).

- Without a transport the worker refuses to start and says how to configure one.
- The record-only transport, named as such, stores what it takes as `recorded` (never
  `submitted`), says so, and never takes a message twice.
- `worker --until-idle` that sends nothing says when the next message is due.
- A launched campaign is `finished`, with its end time, once none of its messages is queued,
  in flight or unknown; audited once.
"""

import asyncio
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select, text, update

from tambour.contacts.values import PARIS
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.dispatch.worker import Worker, WorkerSettings
from tambour.services import audit, campaigns, outbox
from tambour.store import schema
from tambour.store.tables import outbox as outbox_rows
from tambour.store.tables import outbox_parts
from tambour.traffic import MessageState, Receipt
from tests.dispatch_setup import context, launched_campaign, mobile, paris, record_only_config
from tests.integration.cli import Cli, Result
from tests.integration.smpp_peers import eventually, running_smsc, session_settings

NOW = paris("2026-12-01T10:00")  # a Tuesday: the sending window is open
LEASE = timedelta(seconds=60)


@pytest.fixture(autouse=True)
def _switch_interval() -> Iterator[None]:
    """`tambour worker` shortens the interpreter's switch interval for itself: give it back."""
    saved = sys.getswitchinterval()
    yield
    sys.setswitchinterval(saved)


def states(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(
            dict(conn.execute(text("SELECT state, count(*) FROM outbox GROUP BY state")).all())
        )


def worker(cli: Cli, config: Path | None, at: datetime, *args: str) -> Result:
    """`tambour worker --until-idle` with TAMBOUR_CONFIG naming `config` (None: unset), at
    `at`."""
    cli.env["TAMBOUR_CONFIG"] = str(config) if config is not None else ""
    cli.env["TAMBOUR_NOW"] = at.isoformat()
    return cli("worker", "--until-idle", *args, ok=False)


def finish_entries(engine: Engine) -> list[audit.AuditEntry]:
    with engine.connect() as conn:
        return [e for e in audit.entries(conn, limit=1000) if e.action == "campaign.finish"]


def test_without_a_transport_the_worker_refuses_to_start(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(3)], now=NOW)
    cli = Cli(db_url)
    refused = worker(cli, None, NOW)
    assert (refused.code, refused.out) == (2, "")
    [line] = refused.err.splitlines()  # one line, no traceback
    assert line.startswith("error: no transport is configured, so nothing can be sent: set ")
    for said in ("TAMBOUR_CONFIG", "[transport]", 'kind = "smpp"', "host = ", 'kind = "http"',
                 "url = ", 'kind = "record-only"', "tambour.example.toml"):  # fmt: skip
        assert said in line, said
    without_transport = tmp_path / "tambour.toml"
    without_transport.write_text("[worker]\nlease = 30\n", encoding="utf-8")
    refused = worker(cli, without_transport, NOW)
    assert refused.code == 2
    [line] = refused.err.splitlines()
    assert line.startswith(f"error: {without_transport}: no [transport] table, so nothing can be")
    assert 'kind = "record-only"' in line
    assert states(engine) == Counter({"queued": 3})  # nothing recorded, nothing sent


@pytest.mark.parametrize("kind", ["record-only", "outbox"])  # "outbox": its former name
def test_the_record_only_transport_records_says_so_and_never_takes_a_message_twice(
    kind: str, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    numbers = [mobile(i) for i in range(5)]
    launched_campaign(engine, tmp_path, numbers, now=NOW)
    cli = Cli(db_url)
    config = record_only_config(tmp_path, kind)
    done = worker(cli, config, NOW)
    assert done.code == 0, done.err
    report = done.out.splitlines()[0]
    assert "5 recorded (not sent: record-only transport)" in report
    assert "submitted" not in done.out
    assert "record-only transport sends nothing" in done.err
    assert states(engine) == Counter({"recorded": 5})
    with engine.connect() as conn:
        rows = list(conn.execute(select(outbox_rows)))
    assert all(r.done_at is not None and r.submitted_at is None for r in rows)
    status = cli("campaign", "status", "soldes", "--json").json()
    assert (status["messages"]["recorded"], status["messages"]["submitted"]) == (5, 0)
    assert "recorded 5" in cli("campaign", "status", "soldes").out
    written = (tmp_path / "recorded.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["to"] for line in written) == sorted(numbers)

    again = worker(cli, config, NOW + timedelta(minutes=5), "--json")
    assert again.code == 0, again.err
    assert (again.json()["recorded"], again.json()["submitted"]) == (0, 0)
    assert len((tmp_path / "recorded.jsonl").read_text(encoding="utf-8").splitlines()) == 5
    assert states(engine) == Counter({"recorded": 5})


def test_until_idle_with_nothing_due_says_when_the_next_message_is(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    cli = Cli(db_url)
    config = record_only_config(tmp_path)
    empty = worker(cli, config, NOW)
    assert empty.code == 0, empty.err
    assert empty.out.splitlines()[-1] == "nothing due now: nothing is queued"
    assert worker(cli, config, NOW, "--json").json()["next_due"] is None

    launched_campaign(
        engine, tmp_path, [mobile(1), mobile(2)], now=NOW, start=paris("2026-12-09T10:00")
    )
    evening = paris("2026-12-08T19:57")
    waiting = worker(cli, config, evening)
    assert waiting.code == 0, waiting.err
    # 14 h 3 min from 19:57, less the seconds the command took to start (its clock runs from
    # TAMBOUR_NOW): a loaded machine may take half a minute of them.
    assert re.fullmatch(
        r"nothing due now; next message due 09/12/2026 10:00 \(in 14 h [23] min\)",
        waiting.out.splitlines()[-1],
    ), waiting.out
    payload = worker(cli, config, evening, "--json").json()
    assert (payload["next_due"], payload["recorded"]) == ("2026-12-09T10:00:00+01:00", 0)
    assert states(engine) == Counter({"queued": 2})
    status = cli("campaign", "status", "soldes", "--json").json()
    assert (status["status"], status["finished_at"]) == ("launched", None)  # all queued


def test_a_campaign_finishes_once_nothing_is_queued_in_flight_or_unknown(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(4)], now=NOW)
    cli = Cli(db_url, actor="ops:carla")
    config = record_only_config(tmp_path)
    # A worker died submitting one of them: nobody can tell whether it left.
    with engine.begin() as conn:
        assert len(outbox.claim(conn, "w1", NOW, LEASE, 1)) == 1
    with engine.begin() as conn:
        assert outbox.rescue(conn, NOW + 2 * LEASE) == 1
    later = NOW + 3 * LEASE
    assert worker(cli, config, later).code == 0
    assert states(engine) == Counter({"recorded": 3, "unknown": 1})
    status = cli("campaign", "status", "soldes", "--json").json()
    assert (status["status"], status["finished_at"]) == ("launched", None)  # its operator decides
    assert finish_entries(engine) == []

    cli.env["TAMBOUR_NOW"] = later.isoformat()
    cli("campaign", "requeue-unknown", "soldes", "--yes")
    [listed] = cli("campaign", "list", "--json").json()
    assert (listed["status"], listed["finished_at"]) == ("launched", None)  # queued again
    end = later + timedelta(minutes=1)
    assert worker(cli, config, end).code == 0
    assert states(engine) == Counter({"recorded": 4})

    status = cli("campaign", "status", "soldes", "--json").json()
    assert status["status"] == "finished"
    finished_at = datetime.fromisoformat(status["finished_at"])
    with engine.connect() as conn:
        last = max(r.done_at for r in conn.execute(select(outbox_rows)))
    assert finished_at == last and end <= finished_at < end + timedelta(minutes=1)
    [listed] = cli("campaign", "list", "--json").json()
    assert (listed["status"], listed["finished_at"]) == ("finished", status["finished_at"])
    said = f": finished {finished_at.astimezone(PARIS):%d/%m/%Y %H:%M} (Paris)"
    assert cli("campaign", "status", "soldes").out.splitlines()[0].endswith(said)
    assert f"(commercial, {said[2:]})" in cli("campaign", "list").out
    [entry] = finish_entries(engine)
    assert entry.actor == "worker:ops:carla"
    assert entry.details == {
        "campaign": "soldes", "campaign_id": entry.details["campaign_id"],
        "finished_at": finished_at.isoformat(), "messages": {"recorded": 4},
    }  # fmt: skip
    # Over, it stays over: another run changes nothing, audits nothing.
    assert worker(cli, config, end + timedelta(minutes=5)).code == 0
    assert (
        cli("campaign", "status", "soldes", "--json").json()["finished_at"]
        == (status["finished_at"])
    )
    assert len(finish_entries(engine)) == 1


def test_a_campaign_waiting_for_receipts_is_not_over_until_they_come(
    engine: Engine, tmp_path: Path
) -> None:
    """Over SMPP: a worker that gives up waiting leaves the messages `submitted` (in flight);
    another worker, which never sent them, gets their receipts and ends the campaign."""
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(3)], now=NOW)
    status = partial(campaigns.status, context(engine, NOW), name="soldes")

    def smpp_worker(port: int, at: datetime, receipt_wait: float) -> Worker:
        return Worker(
            engine,
            lambda on_inbound: SmppTransport(session_settings(port), on_inbound),
            settings=WorkerSettings(receipt_wait=receipt_wait, lease=timedelta(seconds=10)),
            clock=lambda: at,
        )

    async def scenario() -> None:
        async with running_smsc(receipt_delay=1.5) as smsc:
            smsc.clock = lambda: NOW  # validity periods judged in the test's time
            report = await smpp_worker(smsc.port, NOW, 0.1).run(until_idle=True)
            assert (report.submitted, report.receipts) == (3, 0)
            assert states(engine) == Counter({"submitted": 3})
            assert (status().status, status().campaign.finished_at) == ("launched", None)
            second = smpp_worker(smsc.port, NOW + timedelta(seconds=5), 5.0)
            running = asyncio.create_task(second.run())
            try:
                await eventually(lambda: states(engine) == Counter({"delivered": 3}), 10)
                await eventually(lambda: status().status == "finished")
            finally:
                second.stop()
                report = await running
            assert (report.submitted, report.receipts) == (0, 3)

    asyncio.run(asyncio.wait_for(scenario(), 60))
    found = status()
    with engine.connect() as conn:
        last = max(r.done_at for r in conn.execute(select(outbox_rows)))
    assert found.campaign.finished_at == last
    assert [e.details["messages"] for e in finish_entries(engine)] == [{"delivered": 3}]


def test_migration_0008_records_what_the_old_local_outbox_took_and_ends_campaigns(
    engine: Engine, tmp_path: Path
) -> None:
    """Before issue 13 the local outbox transport left its messages `submitted` (parts named
    `outbox-<hex>-<n>`): 0008 makes them `recorded`; a message a carrier took stays
    `submitted`, its campaign launched. A campaign already over is ended, at its last fate."""
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(3)], now=NOW)
    config = schema.alembic_config(engine)
    command.downgrade(config, "0007")
    try:
        left_at = {}
        with engine.begin() as conn:
            messages = conn.execute(
                select(outbox_rows.c.id, outbox_rows.c.advertiser_id, outbox_rows.c.e164)
            ).all()
            for number, (outbox_id, advertiser_id, e164) in enumerate(messages):
                left_at[e164] = left = NOW + timedelta(seconds=number)
                conn.execute(
                    update(outbox_rows)
                    .where(outbox_rows.c.id == outbox_id)
                    .values(state="submitted", submitted_at=left, updated_at=left)
                )
                key = "a1b2c" if e164 == mobile(2) else f"outbox-a1b2c3-{number}"
                conn.execute(
                    insert(outbox_parts).values(
                        outbox_id=outbox_id, part=1, of_parts=1, advertiser_id=advertiser_id,
                        carrier_key=key,
                    )
                )  # fmt: skip
    finally:
        command.upgrade(config, "head")

    def fates() -> dict[str, tuple[str, datetime | None]]:
        with engine.connect() as conn:
            found = conn.execute(
                select(outbox_rows.c.e164, outbox_rows.c.state, outbox_rows.c.done_at)
            )
            return {e164: (state, done_at) for e164, state, done_at in found}

    assert fates() == {
        mobile(0): ("recorded", left_at[mobile(0)]),
        mobile(1): ("recorded", left_at[mobile(1)]),
        mobile(2): ("submitted", None),  # a carrier has it: its receipt is to come
    }
    ctx = context(engine, NOW + timedelta(hours=1))
    assert campaigns.status(ctx, name="soldes").status == "launched"

    delivered_at = NOW + timedelta(minutes=3)
    with engine.begin() as conn:  # its receipt, written by no worker (a Tambour before)
        receipt = Receipt("a1b2c", MessageState.DELIVERED, from_tlv=True)
        outbox.record_receipts(conn, delivered_at, [receipt])
    command.downgrade(config, "0007")
    command.upgrade(config, "head")
    assert fates()[mobile(2)] == ("delivered", delivered_at)
    ended = campaigns.status(ctx, name="soldes")
    assert (ended.status, ended.campaign.finished_at) == ("finished", delivered_at)
