"""The demo's second half (`make demo`): the planned sample campaign launched and dispatched
over SMPP through the local SMSC, with receipts, one STOP reply from a recipient whose message
is still waiting, and the campaign's final state.

Real parts throughout: the SMSC listens on a free port of 127.0.0.1 and the worker binds to it
over TCP, in this process. The clock is simulated: it starts when the campaign does and, when
nothing is due, jumps to the next message's send time (Saturday 08:00 for the recipients held
by Good Friday), so the story of two days runs in a few seconds.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.dispatch.smpp.client import SessionSettings
from tambour.dispatch.smsc import Smsc, SmscSettings
from tambour.dispatch.transports.smpp import SmppTransport
from tambour.dispatch.worker import Worker, WorkerReport, WorkerSettings
from tambour.services import campaigns, outbox
from tambour.services.context import Context
from tambour.store.engine import make_engine
from tambour.store.tables import outbox as outbox_rows

SYSTEM_ID = "tambour"
PASSWORD = "demo"
RECEIPT_DELAY = 0.05  # seconds
FAILURE_RATE = 0.1  # of the parts the SMSC says it could not deliver
SEED = 5  # the failure draw: the same story at every run


class SimulatedClock:
    """Real time from `start`, plus the jumps the demo makes over idle hours."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()
        self.skipped = timedelta(0)

    def __call__(self) -> datetime:
        return self.start + self.skipped + timedelta(seconds=time.monotonic() - self.origin)

    def jump_to(self, instant: datetime) -> None:
        ahead = instant - self()
        if ahead > timedelta(0):
            self.skipped += ahead


@dataclass
class Round:
    """One stretch of dispatch: from when, and what the worker did."""

    at: datetime
    report: WorkerReport


@dataclass
class DispatchDemo:
    launched: campaigns.Launched
    smsc_port: int
    stop_number: str
    stop_from: str | None  # who replied STOP
    stop_acknowledged: bool
    rounds: list[Round] = field(default_factory=list)
    status: campaigns.CampaignStatus | None = None
    smsc_messages: int = 0


def dispatch_demo(
    database: Path, campaign: str, slug: str, stop_number: str, planned_at: datetime
) -> DispatchDemo:
    """Launch the planned `campaign` at `planned_at` and dispatch it to the end."""
    engine = make_engine(f"sqlite:///{database}")
    try:
        ctx = Context(engine, actor="demo", clock=lambda: planned_at)
        launched = campaigns.launch(ctx, name=campaign, slug=slug)
        return asyncio.run(_dispatch(engine, launched, campaign, slug, stop_number))
    finally:
        engine.dispose()


async def _dispatch(
    engine: Engine, launched: campaigns.Launched, campaign: str, slug: str, stop_number: str
) -> DispatchDemo:
    first_due = _next_due(engine)
    assert first_due is not None, "the demo campaign queues messages"
    clock = SimulatedClock(first_due)
    smsc = Smsc(
        SmscSettings(
            port=0, system_id=SYSTEM_ID, password=PASSWORD, receipt_delay=RECEIPT_DELAY,
            failure_rate=FAILURE_RATE, seed=SEED,
        ),
        clock=clock,  # validity periods are judged in the demo's time
    )  # fmt: skip
    await smsc.start()
    try:
        stop_from = _latest_recipient(engine)
        done = DispatchDemo(launched, smsc.port, stop_number, stop_from, False)
        done.stop_acknowledged = await _first_round(engine, smsc, clock, done)
        while (due := _next_due(engine)) is not None:
            clock.jump_to(due)
            at = clock()
            report = await _worker(engine, smsc, clock).run(until_idle=True)
            done.rounds.append(Round(at, report))
        done.smsc_messages = len(smsc.messages)
    finally:
        await smsc.close()
    done.status = campaigns.status(Context(engine, actor="demo", clock=clock), name=campaign,
                                   slug=slug)  # fmt: skip
    return done


async def _first_round(
    engine: Engine, smsc: Smsc, clock: SimulatedClock, done: DispatchDemo
) -> bool:
    """The first stretch, during which the person with the last pending message replies STOP
    (through the SMSC, to the advertiser's short number). True when the worker acknowledged
    the reply (it is recorded)."""
    at = clock()
    runner = _worker(engine, smsc, clock)
    task = asyncio.create_task(runner.run())
    acknowledged = False
    try:
        await _until(lambda: smsc.bound_sessions > 0, 10)
        if done.stop_from is not None:
            reply = smsc.inject_mo(done.stop_from, done.stop_number, "STOP")
            await asyncio.wait_for(reply, 10)
            acknowledged = True
        await _until(lambda: _settled_until_now(engine, clock()), 30)
    finally:
        runner.stop()
        report = await task
    done.rounds.append(Round(at, report))
    return acknowledged


def _worker(engine: Engine, smsc: Smsc, clock: Callable[[], datetime]) -> Worker:
    session = SessionSettings(
        host="127.0.0.1", port=smsc.port, system_id=SYSTEM_ID, password=PASSWORD, window=64
    )
    return Worker(
        engine,
        lambda on_inbound: SmppTransport(session, on_inbound),
        settings=WorkerSettings(receipt_wait=5.0, confirm_stop=True),
        clock=clock,
        actor="demo-worker",
    )


async def _until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the demo's dispatch did not settle")
        await asyncio.sleep(0.02)


def _next_due(engine: Engine) -> datetime | None:
    with engine.begin() as conn:
        return outbox.next_due(conn)


def _settled_until_now(engine: Engine, now: datetime) -> bool:
    """Nothing due now is still queued, and every message sent has its receipt."""
    with engine.connect() as conn:
        busy = conn.execute(
            select(outbox_rows.c.id)
            .where(
                (outbox_rows.c.state.in_(["submitting", "submitted"]))
                | ((outbox_rows.c.state == "queued") & (outbox_rows.c.send_at <= now))
            )
            .limit(1)
        ).first()
    return busy is None


def _latest_recipient(engine: Engine) -> str | None:
    """The number of the message due last: the one a STOP will have time to stop."""
    with engine.connect() as conn:
        return conn.execute(
            select(outbox_rows.c.e164)
            .where(outbox_rows.c.state == "queued")
            .order_by(outbox_rows.c.send_at.desc(), outbox_rows.c.id.desc())
            .limit(1)
        ).scalar()
