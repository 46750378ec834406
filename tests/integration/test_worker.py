"""Issue 5: the outbox worker over real TCP against the local SMSC, on SQLite and PostgreSQL.

Campaigns are made through the real services (import, plan, launch); the worker runs in this
process on an injected clock that runs (so leases expire and windows open) and can jump ahead,
except in the crash test, where `tambour worker` is a process killed with SIGKILL.
"""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text

from tambour.dispatch.smsc import Smsc
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.dispatch.worker import Worker, WorkerReport, WorkerSettings
from tambour.services import campaigns
from tambour.store.tables import audit_log, evidence, outbox, outbox_parts
from tests.dispatch_setup import (
    STOP_NUMBER,
    context,
    launched_campaign,
    mobile,
    paris,
    record_only_config,
)
from tests.integration.smpp_peers import (
    PASSWORD,
    SYSTEM_ID,
    SmscThread,
    eventually,
    running_smsc,
    session_settings,
)

PARIS = ZoneInfo("Europe/Paris")
TUESDAY_10 = paris("2026-12-01T10:00")


class Clock:
    """Runs from `start` at `speed` times real time; `jump` moves it ahead at once."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        self.start = start
        self.speed = speed
        self.origin = time.monotonic()
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        elapsed = (time.monotonic() - self.origin) * self.speed
        return self.start + self.offset + timedelta(seconds=elapsed)

    def jump(self, delta: timedelta) -> None:
        self.offset += delta


def run(scenario: Callable[[], Coroutine[Any, Any, None]], timeout: float = 90.0) -> None:
    """Run `scenario`, failing after `timeout` seconds with where every task and thread was
    then (a hang seen once in CI must say where it hung)."""

    async def bounded() -> None:
        task = asyncio.ensure_future(scenario())
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            where = _where_everything_is()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise AssertionError(f"the scenario took more than {timeout} s; then:\n{where}")
        task.result()

    asyncio.run(bounded())


def _where_everything_is(frames: int = 4) -> str:
    """Each asyncio task's and each thread's innermost frames, one line each."""

    def line(stack: traceback.StackSummary) -> str:
        return " < ".join(f"{Path(s.filename).name}:{s.lineno} {s.name}" for s in stack[::-1])

    def awaited(task: "asyncio.Task[Any]") -> traceback.StackSummary:
        """The chain of coroutines a task awaits (get_stack gives its outermost frame only)."""
        stack: list[FrameType] = []
        coroutine: Any = task.get_coro()
        while coroutine is not None:
            frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
            if frame is not None:
                stack.append(frame)
            coroutine = getattr(coroutine, "cr_await", None) or getattr(
                coroutine, "gi_yieldfrom", None
            )
        walk = ((frame, frame.f_lineno) for frame in stack[-frames:])
        return traceback.StackSummary.extract(walk, lookup_lines=False)

    out = [f"task {t.get_name()}: {line(awaited(t))}" for t in asyncio.all_tasks()]
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        stack = traceback.extract_stack(frame, limit=frames)
        out.append(f"thread {names.get(ident, ident)}: {line(stack)}")
    return "\n".join(out)


def worker(engine: Engine, smsc: Smsc, clock: Callable[[], datetime], **settings: Any) -> Worker:
    session = settings.pop("session", {})
    defaults: dict[str, Any] = {"receipt_wait": 10.0, "lease": timedelta(seconds=10)}
    smsc.clock = clock  # the carrier judges validity periods in the test's time, as the worker
    return Worker(
        engine,
        lambda on_inbound: SmppTransport(session_settings(smsc.port, **session), on_inbound),
        settings=WorkerSettings(**{**defaults, **settings}),
        clock=clock,
    )


def states(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT state, count(*) FROM outbox GROUP BY state"))
        return Counter(dict(found.all()))


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def received(smsc: Smsc) -> Counter[str]:
    """How many whole messages the SMSC took for each destination."""
    return Counter("+" + m.destination.address for m in smsc.messages)


def test_messages_leave_once_and_receipts_close_them(engine: Engine, tmp_path: Path) -> None:
    numbers = [mobile(i) for i in range(300)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            report = await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            assert report.submitted == 300
            assert received(smsc) == Counter(numbers)  # each exactly once
            texts = {"+" + m.destination.address: m.text for m in smsc.messages}
            for row in rows(engine):
                assert texts[row.e164] == row.text
                assert row.state == "delivered"
                assert row.submitted_at is not None and row.done_at is not None
                # the carrier is told to drop it at the end of the window: 20:00 in Paris
                assert row.valid_until == paris("2026-12-01T20:00")
            validities = {p.valid_until for p in smsc.parts}
            assert validities == {paris("2026-12-01T20:00")}

    run(scenario)
    with engine.connect() as conn:
        parts = conn.execute(select(outbox_parts.c.outcome)).scalars().all()
    assert len(parts) == 300 and set(parts) == {"delivered"}
    # Issue 13: the last receipt ended the campaign, at its time.
    status = campaigns.status(context(engine, TUESDAY_10), name="soldes")
    assert status.status == "finished"
    assert status.campaign.finished_at == max(r.done_at for r in rows(engine))


def test_long_gsm7_and_ucs2_messages_reassemble_exactly(engine: Engine, tmp_path: Path) -> None:
    gsm = (
        "Bonjour {first_name|}, nos soldes d'hiver : -30% sur les lampes [salon], -20% sur les "
        "suspensions \\cuisine| et ~10€ offerts dès 50€ d'achat. Livraison offerte à domicile "
        "jusqu'à dimanche soir, retrait en boutique possible. Maison Lumière, 12 rue des Arts."
    )
    ucs2 = (
        "Bonjour {first_name|} ✨ nos soldes d'hiver : -30% sur les lampes, -20% sur les "
        "suspensions, et un cadeau 🎁 dès 50€ d'achat. Livraison offerte jusqu'à dimanche. "
        "Maison Lumière"
    )
    launched_campaign(engine, tmp_path, [mobile(1), mobile(2)], now=TUESDAY_10, text=gsm)
    launched_campaign(
        engine, tmp_path, [mobile(3), mobile(4)], now=TUESDAY_10, text=ucs2, name="cadeau"
    )

    async def scenario() -> None:
        async with running_smsc() as smsc:
            await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            # the exact texts, STOP mention included, each to its recipient once
            got = Counter(("+" + m.destination.address, m.text) for m in smsc.messages)
            assert got == Counter((r.e164, r.text) for r in rows(engine))
            parts = {("+" + m.destination.address, m.text): m for m in smsc.messages}
            for row in rows(engine):
                message = parts[row.e164, row.text]
                assert len(message.message_ids) == row.parts > 1
                assert message.data_coding == (8 if row.encoding == "UCS-2" else 0)
                assert row.state == "delivered"
            assert {r.encoding for r in rows(engine)} == {"GSM-7", "UCS-2"}

    run(scenario)
    with engine.connect() as conn:
        counted = Counter(conn.execute(select(outbox_parts.c.outbox_id)).scalars())
    assert sorted(counted.values()) == sorted(r.parts for r in rows(engine))


def test_failed_receipts_fail_the_message_with_the_carrier_error(
    engine: Engine, tmp_path: Path
) -> None:
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(20)], now=TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc(failure_rate=1.0) as smsc:
            await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)

    run(scenario)
    assert states(engine) == Counter({"failed": 20})
    assert all(r.error_code and r.done_at for r in rows(engine))  # the receipt's err:


def test_a_refused_number_fails_at_once_with_the_smpp_status(
    engine: Engine, tmp_path: Path
) -> None:
    launched_campaign(engine, tmp_path, [mobile(1), mobile(2)], now=TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            smsc.refuse(mobile(2), 0x0B)  # ESME_RINVDSTADR: permanent
            await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)

    run(scenario)
    by_number = {r.e164: r for r in rows(engine)}
    assert by_number[mobile(1)].state == "delivered"
    refused = by_number[mobile(2)]
    assert (refused.state, refused.error_code, refused.attempts) == ("failed", 0x0B, 1)
    assert "ESME_RINVDSTADR" in refused.last_error


def test_throttling_slows_without_loss_or_duplicate(engine: Engine, tmp_path: Path) -> None:
    numbers = [mobile(i) for i in range(1000)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc(tps=400) as smsc:
            started = time.monotonic()
            await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            assert smsc.stats.throttled > 0, "the SMSC must have throttled"
            # a burst of 400, then 400 a second
            assert time.monotonic() - started > (1000 - 400) / 400 * 0.9
            assert received(smsc) == Counter(numbers)

    run(scenario)
    assert states(engine) == Counter({"delivered": 1000})


def test_a_dropped_connection_resumes_and_nothing_is_sent_twice(
    engine: Engine, tmp_path: Path
) -> None:
    numbers = [mobile(i) for i in range(2000)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc(tps=2000) as smsc:
            runner = worker(engine, smsc, Clock(TUESDAY_10))
            task = asyncio.create_task(runner.run(until_idle=True))
            await eventually(lambda: len(smsc.messages) > 300, 20, "300 messages sent")
            smsc.drop_connections()
            report = await task
            assert smsc.stats.binds >= 2, "the session bound again"
            counts = received(smsc)
            assert max(counts.values()) == 1, "a message was sent twice"
            final = states(engine)
            # parts in flight when the line dropped are in doubt: unknown, never resent
            assert final["delivered"] + final["unknown"] == 2000
            assert final["unknown"] <= 64  # in flight when the line dropped
            assert report.unknown == final["unknown"]
            delivered = {r.e164 for r in rows(engine) if r.state == "delivered"}
            assert delivered <= set(counts)

    run(scenario)


def test_stopping_while_the_carrier_is_unreachable_returns_and_loses_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """SIGTERM (stop) while the SMSC is gone: the submits waiting for a connection come back
    unsent and are held for later; the worker does not wait for a carrier that is not there."""
    numbers = [mobile(i) for i in range(2000)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            runner = worker(engine, smsc, Clock(TUESDAY_10), session={"tps": 500})
            task = asyncio.create_task(runner.run())
            await eventually(lambda: len(smsc.messages) > 200, 20, "200 messages sent")
            await smsc.close()  # the carrier goes away: no reconnection can succeed
            await asyncio.sleep(0.3)
            stopped_at = time.monotonic()
            runner.stop()
            await asyncio.wait_for(task, 15)
            assert time.monotonic() - stopped_at < 12
            sent = received(smsc)
        final = states(engine)
        assert not final["submitting"], final  # all written back
        assert final["queued"] > 0  # held for later, not lost
        assert final["delivered"] + final["submitted"] + final["unknown"] + final["queued"] == 2000
        assert max(sent.values()) == 1
        # what the SMSC took is recorded as taken or in doubt, never as still to send
        queued = {r.e164 for r in rows(engine) if r.state == "queued"}
        assert not queued & set(sent)

    run(scenario)


def test_a_stop_reply_opts_out_and_stops_a_pending_message(engine: Engine, tmp_path: Path) -> None:
    first, second = mobile(1), mobile(2)
    launched_campaign(engine, tmp_path, [first, second], now=TUESDAY_10)
    later = paris("2026-12-01T15:00")
    launched_campaign(
        engine, tmp_path, [first, second], now=TUESDAY_10, name="relance", start=later
    )
    clock = Clock(TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            runner = worker(engine, smsc, clock)
            task = asyncio.create_task(runner.run())
            await eventually(lambda: states(engine)["delivered"] == 2, 20, "first campaign")
            await asyncio.wait_for(smsc.inject_mo(first, STOP_NUMBER, "Stop !"), 10)
            clock.jump(later - TUESDAY_10)  # the second campaign falls due
            await eventually(lambda: states(engine)["delivered"] == 3, 20, "second campaign")
            runner.stop()
            report = await task
            assert report.replies == 1
            assert received(smsc) == Counter({first: 1, second: 2})

    run(scenario)
    stopped = [r for r in rows(engine) if r.e164 == first and r.state != "delivered"]
    assert [(r.state, r.reason) for r in stopped] == [("cancelled", "opted_out")]
    with engine.connect() as conn:
        sources = (
            conn.execute(select(evidence.c.data).where(evidence.c.kind == "opt_out"))
            .scalars()
            .all()
        )
    assert [s["source"] for s in sources] == ["sms_stop"]


def test_messages_that_cannot_all_go_by_20h_wait_for_the_next_window(
    engine: Engine, tmp_path: Path
) -> None:
    numbers = [mobile(i) for i in range(600)]
    planned = paris("2026-12-01T19:00")
    due = paris("2026-12-01T19:59")
    launched_campaign(engine, tmp_path, numbers, now=planned, start=due)
    # A minute of the campaign is six seconds here: slow enough that a loaded machine's delay
    # between the worker's last look at the clock and the SMSC's arrival (seconds of real
    # time under a parallel test run) stays well inside the window's margin.
    clock = Clock(due, speed=10.0)

    arrived: list[datetime] = []  # the campaign's clock when each submit_sm reached the SMSC

    async def scenario() -> None:
        async with running_smsc() as smsc:
            received_submit = smsc._submit

            def submit_seen(*args: Any) -> None:
                arrived.append(clock())
                received_submit(*args)

            smsc._submit = submit_seen  # type: ignore[method-assign]
            runner = worker(
                engine, smsc, clock, window_margin=timedelta(seconds=30),
                session={"tps": 50},
            )  # fmt: skip
            report = await runner.run(until_idle=True)
            assert 0 < report.submitted < 600, report
            assert report.held == 600 - report.submitted

    run(scenario)
    sent = [r for r in rows(engine) if r.state == "delivered"]
    waiting = [r for r in rows(engine) if r.state == "queued"]
    assert len(sent) + len(waiting) == 600, states(engine)
    closing = paris("2026-12-01T20:00")
    # No PDU reached the carrier after the window's margin began, although the transport's
    # TPS limit kept hundreds waiting past it: they were asked right before leaving.
    assert len(arrived) == len(sent)
    assert max(arrived) < closing - timedelta(seconds=5), max(arrived)
    for row in sent:  # left with at least the margin of the window, told to die at its end
        assert row.submitted_at <= closing - timedelta(seconds=30)
        assert row.valid_until == closing
    for row in waiting:  # Wednesday 08:00 in Paris, not rushed
        assert row.send_at == paris("2026-12-02T08:00")
        assert (row.reason, row.lease_owner) == ("quiet_hours", None)
        assert row.attempts <= 1  # held when screened, or right before its submit


def test_two_workers_share_a_campaign_without_sending_twice(engine: Engine, tmp_path: Path) -> None:
    numbers = [mobile(i) for i in range(1500)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            clock = Clock(TUESDAY_10)
            # 500 a second each: the campaign takes both of them a while (without a limit
            # one SQLite worker can finish it before the other wins the write lock)
            one = worker(engine, smsc, clock, session={"tps": 500})
            two = worker(engine, smsc, clock, session={"tps": 500})
            reports: list[WorkerReport] = await asyncio.gather(
                one.run(until_idle=True), two.run(until_idle=True)
            )
            assert received(smsc) == Counter(numbers)
            assert sum(r.submitted for r in reports) == 1500
            assert min(r.submitted for r in reports) > 0, "both workers took a share"

    run(scenario)
    assert states(engine) == Counter({"delivered": 1500})


def test_a_message_held_back_after_a_cancel_is_not_sent(engine: Engine, tmp_path: Path) -> None:
    """A message claimed before the cancel and held back to queued after it (the carrier was
    busy) must not leave when it is claimed again."""
    from tambour.services import campaigns
    from tests.dispatch_setup import context

    launched_campaign(engine, tmp_path, [mobile(i) for i in range(3)], now=TUESDAY_10)
    with engine.begin() as conn:  # what a hold after the cancel leaves: queued again
        conn.execute(text("UPDATE campaigns SET status = 'cancelled'"))
    assert campaigns.status(context(engine, TUESDAY_10), name="soldes").status == "cancelled"

    async def scenario() -> None:
        async with running_smsc() as smsc:
            report = await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            assert report.submitted == 0 and not smsc.messages

    run(scenario)
    assert [(r.state, r.reason) for r in rows(engine)] == [("cancelled", "campaign_cancelled")] * 3


def test_an_unrecordable_receipt_is_refused_and_the_rest_goes_on(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receipt the database refuses must hold back neither the submit results nor the
    replies that came with it: they are written apart, and that receipt is refused for good
    (else the carrier would deliver it again and again, and every flush would fail)."""
    from tambour.dispatch.receipts import format_receipt_text
    from tambour.dispatch.smpp.pdu import Address, DeliverSm
    from tambour.dispatch.smsc import DeliveryRefusedError
    from tambour.services import outbox as outbox_service
    from tambour.traffic import MessageState

    recorded = outbox_service.record_receipts

    def refusing(conn: Any, now: datetime, receipts: Any, *more: Any) -> int:
        if any(r.message_id == "poison" for r in receipts):
            raise ValueError("the database refuses this receipt")
        return recorded(conn, now, receipts, *more)

    monkeypatch.setattr(outbox_service, "record_receipts", refusing)
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(50)], now=TUESDAY_10)
    stop_from = mobile(500)  # not a recipient: its STOP is recorded as a suppression

    async def scenario() -> None:
        async with running_smsc() as smsc:
            runner = worker(engine, smsc, Clock(TUESDAY_10))
            task = asyncio.create_task(runner.run(until_idle=True))
            await eventually(lambda: smsc.bound_sessions > 0, 10, "bound")
            now = datetime.now(UTC)
            poison = format_receipt_text("poison", MessageState.DELIVERED, now, now).encode()
            refused = smsc.deliver(
                DeliverSm(Address(1, 1, "33612345678"), Address(3, 0, "36111"), poison,
                          esm_class=0x04)
            )  # fmt: skip
            stop = smsc.inject_mo(stop_from, STOP_NUMBER, "STOP")
            outcomes = await asyncio.wait_for(
                asyncio.gather(refused, stop, return_exceptions=True), 20
            )
            assert isinstance(outcomes[0], DeliveryRefusedError)  # refused for good
            assert outcomes[1] == [None]  # the STOP acknowledged: recorded
            report = await task
            assert report.submitted == 50
            assert smsc.stats.deliveries_refused == 1  # the poison, once and for good
            assert report.replies == 1

    run(scenario)
    assert states(engine) == Counter({"delivered": 50})
    from tambour.services import advertisers
    from tambour.services.suppression import phone_hash
    from tambour.store.tables import suppressions

    with engine.connect() as conn:
        key = phone_hash(advertisers.get(conn, "maison-lumiere"), stop_from)
        source = conn.execute(
            select(suppressions.c.source).where(suppressions.c.phone_hash == key)
        ).scalar_one()
    assert source == "sms_stop"


def test_a_number_suppressed_after_the_plan_is_not_sent(engine: Engine, tmp_path: Path) -> None:
    """The suppression list alone (no fact in the ledger: an erasure's hash, a list kept
    elsewhere) stops a message too, when it changed after the plan."""
    from tambour.services import advertisers
    from tambour.services.suppression import record_suppressions

    launched_campaign(engine, tmp_path, [mobile(i) for i in range(5)], now=TUESDAY_10)
    later = TUESDAY_10 + timedelta(minutes=1)
    with engine.begin() as conn:
        advertiser = advertisers.get(conn, "maison-lumiere")
        record_suppressions(conn, advertiser, [(mobile(3), "data_request", later)], later)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            clock = Clock(TUESDAY_10 + timedelta(minutes=2))
            report = await worker(engine, smsc, clock).run(until_idle=True)
            assert report.submitted == 4
            assert mobile(3) not in received(smsc)

    run(scenario)
    stopped = [(r.e164, r.state, r.reason) for r in rows(engine) if r.state != "delivered"]
    assert stopped == [(mobile(3), "cancelled", "opted_out")]


def test_a_cancelled_campaign_sends_nothing_more(engine: Engine, tmp_path: Path) -> None:
    from tambour.services import campaigns
    from tests.dispatch_setup import context

    launched_campaign(engine, tmp_path, [mobile(i) for i in range(10)], now=TUESDAY_10)
    campaigns.cancel(context(engine, TUESDAY_10), name="soldes")

    async def scenario() -> None:
        async with running_smsc() as smsc:
            report = await worker(engine, smsc, Clock(TUESDAY_10)).run(until_idle=True)
            assert report.submitted == 0 and not smsc.messages

    run(scenario)
    assert states(engine) == Counter({"cancelled": 10})


# --- a worker killed with SIGKILL -----------------------------------------------------------


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "tambour.toml"
    path.write_text(
        "[transport]\n"
        f'kind = "smpp"\nhost = "127.0.0.1"\nport = {port}\nsystem_id = "{SYSTEM_ID}"\n'
        f'password = "{PASSWORD}"\nwindow = 64\ntps = 1500\n'
        "[worker]\nlease = 5\nreceipt_wait = 10\n"
    )
    return path


def _worker_process(db_url: str, config: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "TAMBOUR_DATABASE_URL": db_url,
        "TAMBOUR_CONFIG": str(config),
        "TAMBOUR_NOW": TUESDAY_10.isoformat(),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tambour", "worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sending(db_url: str, config: Path, smsc: SmscThread, messages: int) -> subprocess.Popen[str]:
    """A `tambour worker` process, once the SMSC has received `messages` from it."""
    process = _worker_process(db_url, config)
    deadline = time.monotonic() + 60
    try:
        while smsc.call(lambda s: len(s.messages)) < messages:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"the worker did not send {messages} messages"
            time.sleep(0.05)
    except BaseException:
        process.kill()  # never leave a worker behind a failed test
        process.wait(10)
        raise
    return process


def test_a_worker_killed_mid_campaign_loses_and_duplicates_nothing(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    numbers = [mobile(i) for i in range(4000)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    with SmscThread(clock=Clock(TUESDAY_10)) as smsc:
        config = _config(tmp_path, smsc.port)
        victim = _sending(db_url, config, smsc, 800)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        left = states(engine)
        assert left["submitting"] + left["queued"] > 0, "killed mid-campaign"
        survivor = _worker_process(db_url, config, "--until-idle", "--json")
        _out, err = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, err
        counts = smsc.call(received)
    assert max(counts.values()) == 1, "a message was sent twice"
    final = states(engine)
    assert set(final) <= {"delivered", "unknown"}, final
    assert final["delivered"] + final["unknown"] == 4000  # nothing lost
    # unknown: only what the dead worker had marked submitting and not yet written back: the
    # worker marks another window's worth only while fewer than two are (3 windows of 64)
    assert final["unknown"] <= 3 * 64
    unknown = {r.e164 for r in rows(engine) if r.state == "unknown"}
    delivered = {r.e164 for r in rows(engine) if r.state == "delivered"}
    # Issue 14: what the dead worker sent and could not write down, its receipts proved taken:
    # delivered; unknown is only what never reached the carrier.
    assert delivered == set(counts)
    assert not unknown & set(counts)
    assert all(r.reason == "worker_lost" for r in rows(engine) if r.state == "unknown")
    # The audit log names every message the carrier took as submitted (or proven taken) and
    # every message the dead worker left in doubt, though it was killed mid-flush.
    named = _audit_named(engine)
    ids = {r.e164: r.id for r in rows(engine)}
    assert {ids[n] for n in delivered} <= named["submitted"] | named["proven"]
    assert {ids[n] for n in unknown} <= named["rescued"]
    assert named["rescued"] >= named["proven"]


def _audit_named(engine: Engine) -> dict[str, set[int]]:
    """The outbox ids the audit log names: submitted (dispatch.batch), rescued as unknown
    (dispatch.rescued), proven taken by their receipts (dispatch.proven)."""
    named: dict[str, set[int]] = {"submitted": set(), "rescued": set(), "proven": set()}
    with engine.connect() as conn:
        found = conn.execute(
            select(audit_log.c.action, audit_log.c.details).where(
                audit_log.c.action.in_(["dispatch.batch", "dispatch.rescued", "dispatch.proven"])
            )
        ).all()
    for action, details in found:
        data = json.loads(details)
        ranges = {
            "dispatch.batch": data.get("submitted", []),
            "dispatch.rescued": data.get("unknown", []),
            "dispatch.proven": data.get("delivered", []) + data.get("failed", []),
        }[action]
        key = {"dispatch.batch": "submitted", "dispatch.rescued": "rescued"}.get(action, "proven")
        for first, last in ranges:
            named[key].update(range(first, last + 1))
    return named


def test_the_worker_command_refuses_a_wrong_password(db_url: str, tmp_path: Path) -> None:
    with SmscThread() as smsc:
        config = tmp_path / "bad.toml"
        config.write_text(
            f'[transport]\nkind = "smpp"\nhost = "127.0.0.1"\nport = {smsc.port}\n'
            'system_id = "tambour"\npassword = "wrong"\n'
        )
        process = _worker_process(db_url, config, "--until-idle")
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "transport cannot start" in err and "Traceback" not in err


def test_sigterm_finishes_what_is_in_flight_and_gives_the_rest_back(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    numbers = [mobile(i) for i in range(3000)]
    launched_campaign(engine, tmp_path, numbers, now=TUESDAY_10)
    with SmscThread(clock=Clock(TUESDAY_10)) as smsc:
        config = _config(tmp_path, smsc.port)
        config.write_text(config.read_text().replace("tps = 1500", "tps = 500"))
        worker_process = _sending(db_url, config, smsc, 300)
        worker_process.send_signal(signal.SIGTERM)
        _out, err = worker_process.communicate(timeout=30)
        assert worker_process.returncode == 0, err
        stopped = states(engine)
        assert stopped["queued"] > 0, "stopped mid-campaign"
        assert not stopped["submitting"] and not stopped["unknown"]
        assert all(r.lease_owner is None for r in rows(engine) if r.state == "queued")
        after = _worker_process(db_url, config, "--until-idle")
        _out, err = after.communicate(timeout=120)
        assert after.returncode == 0, err
        counts = smsc.call(received)
    assert counts == Counter(numbers)
    assert states(engine) == Counter({"delivered": 3000})


def test_without_configuration_the_worker_process_refuses_to_start(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Issue 13: no transport, no default that would look like sending (the record-only
    transport must be named: tests/integration/test_worker_honest.py)."""
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(5)], now=TUESDAY_10)
    env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_NOW": TUESDAY_10.isoformat()}
    env.pop("TAMBOUR_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "tambour", "worker", "--until-idle", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: no transport is configured")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert states(engine) == Counter({"queued": 5})


RECEIPT_WAIT = 600


def test_the_record_only_transport_named_records_without_waiting_for_receipts(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(5)], now=TUESDAY_10)
    config = record_only_config(tmp_path)
    with config.open("a", encoding="utf-8") as file:  # a wait for receipts would show
        file.write(f"[worker]\nreceipt_wait = {RECEIPT_WAIT}\n")
    env = {
        **os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_NOW": TUESDAY_10.isoformat(),
        "TAMBOUR_CONFIG": str(config),
    }  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tambour", "worker", "--until-idle", "--json"],
        env=env, capture_output=True, text=True, timeout=RECEIPT_WAIT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["recorded"], report["submitted"], report["next_due"]) == (5, 0, None)
    # No receipt to wait for: it returned long before the wait for the last ones (ten
    # minutes here) could have ended, however loaded the machine.
    assert time.monotonic() - started < RECEIPT_WAIT / 4
    # Issue 14: structured log lines on stderr (JSON), from start to stop, no number in them.
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert events[0] == "start" and events[-1] == "stop", events
    assert lines[-1]["recorded"] == 5 and lines[-1]["level"] == "info"
    assert "+336" not in done.stderr and "336" not in done.stderr.replace(
        TUESDAY_10.isoformat(), ""
    )
    quiet = subprocess.run(
        [sys.executable, "-m", "tambour", "worker", "--until-idle", "--log-level", "warning"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert quiet.returncode == 0 and "{" not in quiet.stderr, quiet.stderr
    assert states(engine) == Counter({"recorded": 5})  # nothing comes back from it


def test_a_transactional_message_goes_despite_a_marketing_stop_not_despite_a_complaint(
    engine: Engine, tmp_path: Path
) -> None:
    """Issue 12: a STOP refuses marketing, not one's own order; a 33700 report stops all."""
    from tambour.rules.codes import OptOutSource
    from tambour.services import optouts
    from tests.dispatch_setup import context

    launched_campaign(
        engine, tmp_path, [mobile(i) for i in range(3)], now=TUESDAY_10, nature="transactional",
        text="Votre commande Maison Lumière {commande} est prête en boutique.",
    )  # fmt: skip
    later = context(engine, TUESDAY_10 + timedelta(minutes=1))
    optouts.add(later, slug="maison-lumiere", number=mobile(1), source=OptOutSource.SMS_STOP)
    optouts.add(later, slug="maison-lumiere", number=mobile(2), source=OptOutSource.COMPLAINT_33700)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            clock = Clock(TUESDAY_10 + timedelta(minutes=2))
            report = await worker(engine, smsc, clock).run(until_idle=True)
            assert report.submitted == 2
            assert set(received(smsc)) == {mobile(0), mobile(1)}

    run(scenario)
    stopped = [(r.e164, r.state, r.reason) for r in rows(engine) if r.state != "delivered"]
    assert stopped == [(mobile(2), "cancelled", "complaint_33700")]


def test_a_recipient_whose_data_lapsed_since_the_plan_is_not_messaged(
    engine: Engine, tmp_path: Path
) -> None:
    """Issue 12: retention is checked again at dispatch. Consent of 2023-12-02, nothing since:
    the data lapses on 2026-12-02; planned on the 1st, the messages still waiting on the 2nd
    expire."""
    launched_campaign(
        engine, tmp_path, [mobile(i) for i in range(3)], now=TUESDAY_10, consent_at="2023-12-02"
    )

    async def scenario() -> None:
        async with running_smsc() as smsc:
            clock = Clock(TUESDAY_10 + timedelta(days=1))
            report = await worker(engine, smsc, clock).run(until_idle=True)
            assert report.submitted == 0 and not smsc.messages

    run(scenario)
    assert {(r.state, r.reason) for r in rows(engine)} == {("expired", "retention_expired")}
