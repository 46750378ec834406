"""Issue 14: the dispatcher against a carrier that misbehaves, over real TCP, on SQLite and
PostgreSQL: message ids given out again after a restart, receipts and late answers for messages
in doubt, a database that goes away under a running worker.

The worker runs in this process against the local SMSC (tambour.dispatch.smsc), on a clock
that runs; campaigns are made through the real services.
"""

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url, select

from tambour.dispatch.routing import Route
from tambour.dispatch.smpp.status import Status
from tambour.dispatch.smsc import Smsc
from tambour.dispatch.transports.carriers import CarrierSet
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.dispatch.worker import Worker, WorkerSettings
from tambour.services import audit
from tambour.services import campaigns as campaigns_service
from tambour.store.engine import make_engine
from tambour.store.tables import campaigns, outbox
from tests.dispatch_setup import context, launched_campaign, mobile
from tests.integration.cli import Cli
from tests.integration.smpp_peers import (
    PASSWORD,
    SYSTEM_ID,
    SmscThread,
    eventually,
    running_smsc,
    session_settings,
)
from tests.integration.tcp_proxy import proxy_to
from tests.integration.test_worker import TUESDAY_10, Clock, received, run, worker


def _states(engine: Engine, campaign: str | None = None) -> Counter[str]:
    query = select(outbox.c.state)
    if campaign is not None:
        query = query.join(campaigns, campaigns.c.id == outbox.c.campaign_id).where(
            campaigns.c.name == campaign
        )
    with engine.connect() as conn:
        return Counter(conn.execute(query).scalars().all())


def test_a_carrier_that_restarts_its_ids_gets_each_receipt_to_the_right_message(
    engine: Engine, tmp_path: Path
) -> None:
    """The carrier takes campaign A's messages, then restarts before their receipts go out:
    they will never come. Restarted, it gives out the same ids again for campaign B's
    messages (to A's recipients and 40 more), and receipts them at once. One worker runs
    throughout: the parts it recorded for A must not take B's receipts (A stays waiting, B is
    delivered)."""
    first = [mobile(i) for i in range(40)]
    second = [mobile(100 + i) for i in range(40)]
    launched_campaign(engine, tmp_path, first, now=TUESDAY_10, name="a")
    clock = Clock(TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc(id_prefix="", receipt_delay=3600.0) as before:
            runner = worker(engine, before, clock, receipt_wait=0.5)
            task = asyncio.create_task(runner.run())
            await eventually(lambda: _states(engine)["submitted"] == 40, 20, "A submitted")
            port = before.port
        # The same port, the same ids from 1 again, receipts at once.
        async with running_smsc(id_prefix="", port=port) as after:
            after.clock = clock
            launched_campaign(engine, tmp_path, second, now=TUESDAY_10, name="b")
            await eventually(lambda: _states(engine)["delivered"] == 80, 30, "B delivered")
            await asyncio.sleep(0.3)  # any receipt wrongly applied would have been by now
            runner.stop()
            await task
            assert sorted(m.message_ids[0] for m in after.messages)[0] == "00000001"

    run(scenario)
    assert _states(engine, "a") == Counter({"submitted": 40})
    assert _states(engine, "b") == Counter({"delivered": 80})


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_worker_outlives_a_database_restart_and_loses_nothing(
    db_url: str, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker reaches PostgreSQL through a proxy that drops every connection mid-campaign
    and refuses new ones for three seconds, as a restart would. The worker keeps its SMPP
    session, says so once in its log, and when the database is back finishes the campaign:
    every message delivered, none sent twice."""
    numbers = [mobile(i) for i in range(2000)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    url = make_url(db_url)
    caplog.set_level(logging.WARNING)

    async def scenario() -> None:
        with proxy_to(url.host or "127.0.0.1", url.port or 5432) as proxy:
            proxied = make_engine(
                url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
            )
            try:
                async with running_smsc(tps=600) as smsc:
                    runner = worker(proxied, smsc, Clock(TUESDAY_10), receipt_wait=5.0)
                    task = asyncio.create_task(runner.run(until_idle=True))
                    await eventually(lambda: len(smsc.messages) >= 300, 20, "300 sent")
                    proxy.cut()
                    await asyncio.sleep(3.0)
                    assert not task.done(), "the worker died with its database"
                    assert smsc.bound_sessions == 1, "the SMPP session stays bound"
                    cut_at = len(smsc.messages)
                    proxy.restore()
                    report = await task
                    assert proxy.refused > 0  # it did try while the database was away
                    assert received(smsc) == Counter(numbers)  # each exactly once
                    assert len(smsc.messages) > cut_at  # and it went on afterwards
                    assert report.submitted == 2000
            finally:
                proxied.dispose()

    run(scenario, timeout=120)
    assert _states(engine) == Counter({"delivered": 2000})
    said = [r.getMessage() for r in caplog.records if r.name.startswith("tambour")]
    assert sum("database unavailable" in line for line in said) == 1, said
    assert sum("database back after" in line for line in said) == 1, said
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]


def _carriers(
    engine: Engine, main: Smsc, backup: Smsc, clock: Clock, routes: tuple[Route, ...] = ()
) -> Worker:
    """A worker with two carriers, "main" first, each its own local SMSC."""
    main.clock = backup.clock = clock
    carriers = [
        (name, partial(SmppTransport, session_settings(smsc.port, down_wait=0.5)))
        for name, smsc in (("main", main), ("backup", backup))
    ]
    return Worker(
        engine,
        lambda on_inbound: CarrierSet(carriers, routes, on_inbound),
        settings=WorkerSettings(receipt_wait=5.0, lease=timedelta(seconds=10)),
        clock=clock,
    )


def _by_carrier(engine: Engine) -> dict[str | None, Counter[str]]:
    with engine.connect() as conn:
        found = conn.execute(select(outbox.c.carrier, outbox.c.state)).all()
    by: dict[str | None, Counter[str]] = {}
    for carrier, state in found:
        by.setdefault(carrier, Counter())[state] += 1
    return by


def test_a_carrier_that_goes_down_hands_its_traffic_to_the_next(
    engine: Engine, tmp_path: Path
) -> None:
    """Two carriers whose ids are the same ("00000001"...: each its own numbering). The first
    goes down mid-campaign: the rest goes through the second; every message is delivered once,
    and each receipt settles the message of its own carrier."""
    numbers = [mobile(i) for i in range(600)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)

    async def scenario() -> None:
        async with (
            running_smsc(id_prefix="", tps=300) as main,
            running_smsc(id_prefix="") as backup,
        ):
            runner = _carriers(engine, main, backup, Clock(TUESDAY_10))
            task = asyncio.create_task(runner.run(until_idle=True))
            await eventually(lambda: len(main.messages) >= 150, 20, "150 sent through main")
            await main.close()  # down, and refusing to bind again
            await task
            sent = received(main) + received(backup)
            assert max(sent.values()) == 1  # never twice, across both
            # what never arrived is only what was in doubt when the line dropped
            with engine.connect() as conn:
                unknown = set(
                    conn.execute(select(outbox.c.e164).where(outbox.c.state == "unknown")).scalars()
                )
            assert set(numbers) - set(sent) <= unknown
            assert len(backup.messages) > 0 and len(main.messages) >= 150
            by = _by_carrier(engine)
            # main took what it receipted, and maybe what was in doubt when it went down
            assert by["main"]["delivered"] <= len(main.messages) <= sum(by["main"].values())
            assert sum(by["backup"].values()) == len(backup.messages)

    run(scenario)
    by = _by_carrier(engine)
    assert set(by) == {"main", "backup"}
    assert by["backup"] == Counter({"delivered": sum(by["backup"].values())})
    # main's last messages may be in doubt (the line dropped mid-submit), or taken with their
    # receipt not sent yet when it went down (a loaded machine: submitted, awaiting it), never
    # resent; the others are delivered, by main's own receipts
    assert set(by["main"]) <= {"delivered", "unknown", "submitted"}
    assert by["main"]["unknown"] + by["main"]["submitted"] <= 64
    status = campaigns_service.status(context(engine, TUESDAY_10), name="soldes")
    assert status.carriers == {k: dict(v) for k, v in sorted(by.items())}


def test_routes_send_each_message_through_the_carriers_they_allow(
    engine: Engine, tmp_path: Path
) -> None:
    """Numbers +336100000 1x go through "backup" only; the others through "main" first. A
    carrier that cannot start does not stop the worker while another can."""
    numbers = [mobile(i) for i in range(40)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    routes = (Route(("backup",), prefixes=("+3361000001",)),)

    async def scenario() -> None:
        async with running_smsc() as main, running_smsc() as backup:
            runner = _carriers(engine, main, backup, Clock(TUESDAY_10), routes)
            await runner.run(until_idle=True)
            assert sorted(received(backup)) == [mobile(i) for i in range(10, 20)]
            assert set(received(main)) == set(numbers) - {mobile(i) for i in range(10, 20)}

    run(scenario)
    assert _states(engine) == Counter({"delivered": 40})


def test_an_account_tps_is_shared_by_the_workers_sending_through_it(engine: Engine) -> None:
    """account_tps = 120 for "main": one worker alone may use all of it; with a second worker
    each gets half; when the second stops, the first has it all again."""

    async def scenario() -> None:
        async with running_smsc() as main, running_smsc() as backup:
            sets: list[CarrierSet] = []

            def carriers(on_inbound: Any) -> CarrierSet:
                made = CarrierSet(
                    [(name, partial(SmppTransport, session_settings(smsc.port)))
                     for name, smsc in (("main", main), ("backup", backup))],
                    (), on_inbound, {"main": 120.0},
                )  # fmt: skip
                sets.append(made)
                return made

            def one() -> Worker:
                return Worker(
                    engine, carriers, clock=Clock(TUESDAY_10),
                    settings=WorkerSettings(lease=timedelta(seconds=1.5)),
                )  # fmt: skip

            def limits() -> list[float]:
                return [s.transports["main"].session.tps_limit for s in sets]  # type: ignore[attr-defined]

            first = one()
            running = asyncio.create_task(first.run())
            await eventually(lambda: limits() == [120.0], 10, "the first alone: 120")
            second = one()
            other = asyncio.create_task(second.run())
            await eventually(lambda: limits() == [60.0, 60.0], 10, "two workers: 60 each")
            second.stop()
            await other
            await eventually(lambda: limits()[0] == 120.0, 10, "alone again: 120")
            first.stop()
            await running

    run(scenario)


def test_the_worker_command_sends_through_the_carriers_its_routes_name(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """`tambour worker` with [[carriers]] and a [[routes]]: numbers +336100000 1x through
    "backup" only, the others through "main"; `campaign status` tells who took what."""
    numbers = [mobile(i) for i in range(30)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    with SmscThread(clock=Clock(TUESDAY_10)) as main, SmscThread(clock=Clock(TUESDAY_10)) as backup:
        config = tmp_path / "carriers.toml"
        config.write_text(
            "".join(
                f'[[carriers]]\nname = "{name}"\nkind = "smpp"\nhost = "127.0.0.1"\n'
                f'port = {smsc.port}\nsystem_id = "{SYSTEM_ID}"\npassword = "{PASSWORD}"\n'
                for name, smsc in (("main", main), ("backup", backup))
            )
            + '[[routes]]\nprefixes = ["+3361000001"]\ncarriers = ["backup"]\n'
            + "[worker]\nreceipt_wait = 10\n"
        )
        env = {
            **os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_CONFIG": str(config),
            "TAMBOUR_NOW": TUESDAY_10.isoformat(),
        }  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "tambour", "worker", "--until-idle", "--json"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["submitted"] == 30
        # its log: JSON lines from start to stop, a bind per carrier, no number in it
        lines = [json.loads(line) for line in done.stderr.splitlines()]
        events = [line["event"] for line in lines]
        assert events[0] == "start" and events[-1] == "stop" and events.count("bound") == 2
        assert {line["port"] for line in lines if line["event"] == "bound"} == {
            main.port,
            backup.port,
        }
        for number in numbers:  # in no form (a port of the SMSCs may hold "3361": not one)
            assert number[3:] not in done.stderr and f"0{number[3:]}" not in done.stderr
        to_backup = backup.call(received)
    assert sorted(to_backup) == [mobile(i) for i in range(10, 20)]
    status = Cli(db_url)("campaign", "status", "soldes")
    assert "carrier backup: delivered 10" in status.out
    assert "carrier main: delivered 20" in status.out


def test_a_late_answer_ends_the_doubt(engine: Engine, tmp_path: Path) -> None:
    """The carrier answers nothing within the response timeout: three messages are in doubt.
    Its answers come late after all: two taken (they become submitted, then delivered by their
    receipts), one refused (nothing of it left: queued again, and refused for good on its next
    try). Nobody receives anything twice."""
    numbers = [mobile(i) for i in range(3)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)

    async def scenario() -> None:
        # Receipts late enough that the answers come first (a receipt would prove them taken
        # by itself: test_receipts_prove_taken_the_messages_in_doubt_they_name).
        async with running_smsc(receipt_delay=4.0) as smsc:
            smsc.mute()
            smsc.refuse(numbers[2], Status.ESME_RINVDSTADR)
            runner = worker(
                engine, smsc, Clock(TUESDAY_10), session={"response_timeout": 0.5},
                retry_after=timedelta(seconds=0),
            )  # fmt: skip
            task = asyncio.create_task(runner.run())
            await eventually(lambda: _states(engine)["unknown"] == 3, 20, "three in doubt")
            assert smsc.answer_late() == 3
            await eventually(
                lambda: _states(engine) == Counter({"delivered": 2, "failed": 1}), 20,
                "settled by the late answers",
            )  # fmt: skip
            runner.stop()
            await task
            assert received(smsc) == Counter(numbers[:2])  # the refused one never arrived

    run(scenario)
    with engine.connect() as conn:
        refused = conn.execute(
            select(outbox.c.attempts, outbox.c.error_code).where(outbox.c.e164 == numbers[2])
        ).one()
    assert tuple(refused) == (2, Status.ESME_RINVDSTADR)  # tried again once, refused for good
    with engine.connect() as conn:
        notes = [e.details for e in audit.entries(conn) if e.action == "dispatch.batch"]
    late: Counter[str] = Counter()
    for note in notes:
        for what in ("taken_late", "refused_late"):
            late[what] += sum(last - first + 1 for first, last in note.get(what, []))
    assert late == Counter({"taken_late": 2, "refused_late": 1})  # the late answers did it


def _closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_carrier_down_at_start_does_not_stop_the_others(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ "main" cannot be reached when the worker starts: its messages go through "backup", and
    the worker says which carrier is down. With every carrier down it does not start."""
    numbers = [mobile(i) for i in range(20)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    down = _closed_port()
    caplog.set_level(logging.WARNING)

    def carriers(ports: dict[str, int]) -> Callable[[Any], CarrierSet]:
        return lambda on_inbound: CarrierSet(
            [(name, partial(SmppTransport, session_settings(port, connect_timeout=1.0)))
             for name, port in ports.items()],
            (), on_inbound,
        )  # fmt: skip

    async def scenario() -> None:
        async with running_smsc() as backup:
            backup.clock = Clock(TUESDAY_10)
            runner = Worker(
                engine, carriers({"main": down, "backup": backup.port}),
                settings=WorkerSettings(receipt_wait=5.0), clock=Clock(TUESDAY_10),
            )  # fmt: skip
            await runner.run(until_idle=True)
            assert received(backup) == Counter(numbers)
        nobody = Worker(
            engine, carriers({"main": down, "other": _closed_port()}), clock=Clock(TUESDAY_10)
        )
        with pytest.raises(OSError):
            await nobody.run(until_idle=True)

    run(scenario)
    said = [r for r in caplog.records if getattr(r, "event", None) == "carrier_down"]
    assert [r.carrier for r in said][:1] == ["main"]  # type: ignore[attr-defined]
    assert _by_carrier(engine) == {"backup": Counter({"delivered": 20})}
