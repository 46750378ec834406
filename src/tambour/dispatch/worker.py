"""The outbox worker: claims due messages, re-checks them right before they leave, submits them
through a transport, and records what comes back (submit results, receipts, replies).

One asyncio loop and two database threads (claims, flushes). The loop keeps the transport's
window full. What the database must learn is written by the flusher as soon as it is free,
everything that came meanwhile in one transaction (a group commit: batches grow with the load,
the latency stays one transaction): results, receipts, replies (journal.py writes them). A
receipt or reply is acknowledged to the carrier only once that transaction is committed, so
nothing acknowledged is lost.

Crash safety (services/outbox.py has the states): a worker claims a window's worth at a time,
marked `submitting` and committed right before they leave, and claims more only while fewer
than two windows' worth are unsettled (submitted but not yet written back). A worker killed at
any point leaves at most three windows of `submitting` messages, which the rescuer turns into
`unknown` once their lease runs out: never submitted twice, never lost.

A message the record-only transport takes is `recorded`, never `submitted`: nothing left. A
launched campaign is marked over (`finished_at`) by the flush that settles its last message
(journal.py), or, when that escaped it, by an idle worker's look at every campaign not over.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import StatementError

from tambour.dispatch.inbound import (
    Inbound,
    InboundDeferredError,
    InboundHandler,
    InboundRejectedError,
)
from tambour.dispatch.journal import Journal, Pending, Written, merge_notes
from tambour.dispatch.outage import Outage, described, transient
from tambour.dispatch.transports.base import SubmitResult, SubmitStatus, Transport
from tambour.rules.codes import Reason
from tambour.rules.sending import Expire, Go, Hold, SendNow, send_now
from tambour.rules.territory import Locality, locate
from tambour.services import outbox, workers
from tambour.services.dispatch_checks import (
    CampaignDispatch,
    campaign_dispatch,
    stopped_since_plan,
)
from tambour.services.outbox import Claimed, Finished, Held, Late, Submitted
from tambour.sms.phone import parse_phone
from tambour.traffic import OutboundMessage, Receipt, Reply, message_key

log = logging.getLogger(__name__)
T = TypeVar("T")
LEASE_SAFETY = 5.0  # seconds before a lease runs out when messages stop leaving
STOP_GIVE_UP = 30.0  # seconds a stopping worker keeps trying to record its results
END_LOOK_EVERY = 5.0  # seconds between an idle worker's looks for campaigns over
# Times a reply is refused by the database alone, for a reason other than the database being
# away or busy, before it is refused to the carrier for good (ESME_RX_P_APPN): a reply that
# can never be recorded must not come back for ever, each time costing a failed flush.
MAX_REPLY_FAILURES = 3


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    chunk: int = 64  # messages marked `submitting` at once: the transport's window
    lease: timedelta = timedelta(seconds=60)
    window_margin: timedelta = timedelta(seconds=60)  # of the window left for a message to go
    flush_interval: float = 0.02  # seconds between looks at the queue when nothing wakes them
    poll: float = 1.0  # longest sleep when nothing is due
    receipt_wait: float = 30.0  # --until-idle: how long to wait for the last receipts
    retry_after: timedelta = timedelta(seconds=30)  # first wait after a temporary refusal
    max_attempts: int = 8  # then a temporarily refused message fails
    confirm_stop: bool = False  # send a confirmation to a STOP
    keep_early_receipts: timedelta = timedelta(days=7)


def _reply_key(reply: Reply) -> tuple[object, ...]:
    """A reply as the carrier delivers it again: the same addresses, text and part."""
    return (reply.sender_address, reply.short_number, reply.text, reply.concatenation)


def _log_failure(message: str, error: BaseException) -> None:
    """Log a failed write without the numbers and texts it carried: a database error by its
    class and code only; any other error (a bug) with its traceback."""
    if isinstance(error, StatementError):
        log.error("%s: %s", message, described(error))
    else:
        log.error("%s", message, exc_info=error)


def worker_name() -> str:
    """Unique among workers on every machine sharing the database."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class WorkerReport:
    """What one run of a worker did."""

    submitted: int = 0
    recorded: int = 0  # by the record-only transport: not sent
    failed: int = 0
    unknown: int = 0
    held: int = 0
    cancelled: int = 0
    expired: int = 0
    receipts: int = 0
    replies: int = 0
    rescued: int = 0
    proven: int = 0  # unknown messages their receipts proved taken
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class _Screened:
    """What the claims thread did with a claimed chunk."""

    go: list[Claimed] = field(default_factory=list)
    notes: list[tuple[Claimed, str]] = field(default_factory=list)
    finished: list[Finished] = field(default_factory=list)
    held: int = 0


class Worker:
    def __init__(
        self,
        engine: Engine,
        make_transport: Callable[[InboundHandler], Transport],
        *,
        settings: WorkerSettings | None = None,
        clock: Callable[[], datetime],
        actor: str = "worker",
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or WorkerSettings()
        self.clock = clock
        self.actor = actor
        self.name = name or worker_name()
        self.report = WorkerReport()
        self._transport = make_transport(self._inbound)
        # Two database threads, each with its own connection: claiming and screening never
        # wait behind a flush of results and receipts (on PostgreSQL they run side by side).
        self._db = ThreadPoolExecutor(1, thread_name_prefix="tambour-claims")
        self._db_flush = ThreadPoolExecutor(1, thread_name_prefix="tambour-flush")
        # And a third for replies, each recorded as it comes in a transaction of its own: a
        # STOP never waits behind a flush of thousands of receipts (issue 14: in force within
        # 200 ms under full load, benches/bench_dispatch.py).
        self._db_replies = ThreadPoolExecutor(1, thread_name_prefix="tambour-replies")
        self._replies: list[tuple[Reply, asyncio.Future[None]]] = []
        self._wake_replies = asyncio.Event()
        self._connections = threading.local()
        self._pending = Pending()
        self._wake_flusher = asyncio.Event()
        self._in_flight = 0  # submits running
        # Marked `submitting` and not yet written back: what a crash would leave unknown.
        # Another chunk is marked only while fewer than two chunks are, so at most three.
        self._unsettled = 0
        self._room = asyncio.Event()
        self._stopping = asyncio.Event()
        self._plans: dict[int, CampaignDispatch] = {}
        self._localities: dict[tuple[str, str | None], Locality | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._claimed_until = 0.0  # monotonic: until then the leases held are known to be valid
        self._stopped: set[tuple[int, str]] = set()  # (advertiser, number) STOPped meanwhile
        self._stopped_at = 0.0
        self._journal = Journal(
            worker=self.name, actor=actor, confirm_stop=self.settings.confirm_stop, clock=clock
        )
        self._next_end_look = 0.0  # monotonic: when idle, look for campaigns over from then
        # Replies the database refused alone, by content: how many times (see _reply_failed).
        self._reply_failures: dict[tuple[object, ...], int] = {}
        # Receipts wait for the submits that were out when they came: one may be for a part
        # the carrier just took, whose id is not written yet, and an older part with the same
        # id (carriers reuse ids) must not get it. Messages that left and whose submit has not
        # returned, by the order they left in (oldest first); each receipt's place in it.
        self._out: dict[int, int] = {}  # leaving order -> message id
        self._left = 0  # messages that left, ever
        self._arrived: dict[asyncio.Future[None], int] = {}  # a receipt's ack -> self._left then
        self._outage = Outage()
        self._started_at = clock()
        self._sharing: Mapping[str, int] = {}  # carrier: live workers sending through it
        # Claimed messages whose results are not recorded yet: after a claim whose commit went
        # unheard (the database went away), what this worker has `submitting` and does not hold
        # was never sent, and goes back to the queue.
        self._holding: set[int] = set()
        self._claim_in_doubt = False

    # --- running ------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish what is in flight and return (a signal handler's call)."""
        self._stopping.set()
        self._room.set()

    async def run(self, *, until_idle: bool = False) -> WorkerReport:
        started = time.monotonic()
        await self._transport.start()
        flusher = asyncio.create_task(self._flusher())
        reply_flusher = asyncio.create_task(self._reply_flusher())
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._dispatch(until_idle)
        finally:
            self._stopping.set()
            self._stopped_at = time.monotonic()
            # Close first: it finishes what is in flight and frees the submits still waiting
            # (for a window slot, or a carrier that cannot be reached: they come back NotSent
            # and are held for later), so draining them cannot hang.
            await self._transport.close()
            await self._drain()
            heartbeat.cancel()
            self._wake_flusher.set()
            await flusher
            self._wake_replies.set()
            await reply_flusher
            with contextlib.suppress(Exception):  # the others share its account's tps at once
                await self._db_call(self._transaction, self._gone)
            for executor in (self._db, self._db_flush, self._db_replies):
                executor.submit(self._close_connection).result()
                executor.shutdown()
            self.report.seconds = round(time.monotonic() - started, 3)
        return self.report

    async def _db_call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, function, *args)

    def _transaction(self, work: Callable[..., T], *args: Any) -> T:
        """`work(conn, *args)` in one transaction on this thread's connection (kept open: no
        pool check-out and ping for every batch; dropped after an error, for a fresh one)."""
        conn = getattr(self._connections, "conn", None)
        if conn is None:
            conn = self._connections.conn = self.engine.connect()
        try:
            with conn.begin():
                return work(conn, *args)
        except BaseException:
            self._close_connection()
            raise

    def _close_connection(self) -> None:
        conn = getattr(self._connections, "conn", None)
        self._connections.conn = None
        if conn is not None:
            conn.close()

    async def _dispatch(self, until_idle: bool) -> None:
        idle_since: float | None = None
        receipts_seen: tuple[int, int | None] = (0, 0)
        while not self._stopping.is_set():
            while self._unsettled >= 2 * self.settings.chunk and not self._stopping.is_set():
                self._room.clear()
                await self._room.wait()
            if self._stopping.is_set():
                return
            release = sorted(self._holding) if self._claim_in_doubt else None
            screened = await self._db_retrying("claim", self._claim_and_screen, release)
            if screened is None:
                return
            self._claim_in_doubt = False
            for message, what in screened.notes:
                self._pending.note(message, what)
            self._count(screened.finished)
            self.report.held += screened.held
            go = screened.go
            if go:
                self._claimed_until = time.monotonic() + self.settings.lease.total_seconds()
            for message in go:
                self._in_flight += 1
                self._unsettled += 1
                self._holding.add(message.id)
                task = asyncio.create_task(self._submit(message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if go or screened.notes or screened.finished or screened.held:
                idle_since = None
                continue
            if self._in_flight or len(self._pending):
                await asyncio.sleep(self.settings.flush_interval)
                continue
            wait = await self._db_retrying("idle look", self._idle_wait)
            if self._stopping.is_set():
                return
            horizon = self.settings.lease.total_seconds()
            if until_idle and (wait is None or wait > horizon):
                # Nothing is due before a lease would run out (a stopped worker's messages are
                # rescued within one): done once the last receipts are in, or when none has
                # come for `receipt_wait` seconds (to this worker, or recorded by the API
                # server, which receives an HTTP aggregator's: fewer messages awaiting them).
                awaited = await self._db_retrying("receipts look", self._awaiting)
                if idle_since is None or (self.report.receipts, awaited) != receipts_seen:
                    idle_since, receipts_seen = time.monotonic(), (self.report.receipts, awaited)
                if not awaited or time.monotonic() - idle_since >= self.settings.receipt_wait:
                    return
                wait = 0.1
            await self._sleep(
                max(0.01, min(self.settings.poll if wait is None else wait, self.settings.poll))
            )

    async def _db_retrying(self, step: str, work: Callable[..., T], *args: Any) -> T | None:
        """`work(conn, *args)` in one transaction on the claims thread, tried again with a
        growing wait while the database is away; None when the worker stops meanwhile."""
        while True:
            try:
                result: T = await self._db_call(self._transaction, work, *args)
            except Exception as error:
                if not transient(error):
                    raise
                if step == "claim":
                    self._claim_in_doubt = True
                await self._sleep(self._outage.failed(error, step))
                if self._stopping.is_set():
                    return None
                continue
            self._outage.succeeded()
            return result

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- claiming and screening -----------------------------------------------------------

    def _idle_wait(self, conn: Connection) -> float | None:
        """Seconds until there is something to do (a message falls due, a stopped worker's
        lease runs out); None when nothing is queued or being submitted. Messages a stopped
        worker left submitting past its lease are rescued first."""
        now = self.clock()
        self.report.rescued += outbox.rescue(conn, now, self.actor)
        self.report.proven += outbox.prove_unknown(
            conn, now, self.actor, now - self.settings.keep_early_receipts
        )
        touched: dict[int, int] = {}
        outbox.sweep_early_receipts(conn, now, touched)
        if time.monotonic() >= self._next_end_look:
            # What the flushes cannot see: two workers settling one campaign's last messages
            # at once (PostgreSQL: neither sees the other's), a database made before.
            outbox.end_campaigns(conn, now, self.actor)
            self._next_end_look = time.monotonic() + END_LOOK_EVERY
        elif touched:
            outbox.end_campaigns(conn, now, self.actor, outbox.campaigns_of(conn, list(touched)))
        due = outbox.next_due(conn)
        if due is None:
            return None
        return max(0.0, (due - now).total_seconds())

    def _awaiting(self, conn: Connection) -> int:
        since = self.clock() - timedelta(days=1)
        return outbox.awaiting_receipts(conn, self.name, since)

    def _locality(self, message: Claimed) -> Locality | None:
        """The recipient's locality (cached; read from the loop and the claims thread alike,
        so the value found is returned, never looked up again after a clear)."""
        key = (message.e164, message.postal_code)
        try:
            return self._localities[key]
        except KeyError:
            pass
        try:
            found: Locality | None = locate(parse_phone(message.e164), message.postal_code)
        except ValueError:
            found = None
        if len(self._localities) > 50_000:
            self._localities = {}
        self._localities[key] = found
        return found

    def _claim_and_screen(self, conn: Connection, release: list[int] | None = None) -> _Screened:
        """Claim a window's worth and, right before it leaves, hold or finish what its
        campaign (cancelled), the recipient's opt-outs or the window forbid now (committed
        with the caller's transaction). Runs on the claims thread: what the loop must note
        (audit, counts) is returned to it. `release`: after a claim whose commit went unheard,
        the messages this worker holds; the others it has `submitting` go back to the queue."""
        now = self.clock()
        if release is not None:
            released = outbox.release_unheld(conn, self.name, now, release)
            if released:
                log.warning(
                    "%d message(s) claimed as the database went away, never sent: queued again",
                    released,
                    extra={"event": "claims_released", "messages": released},
                )
        chunk = outbox.claim(conn, self.name, now, self.settings.lease, self.settings.chunk)
        if not chunk:
            return _Screened()
        for message in chunk:
            if message.campaign_id not in self._plans:
                self._plans[message.campaign_id] = campaign_dispatch(
                    conn, message.campaign_id, message.advertiser_id
                )
        stopped = stopped_since_plan(conn, chunk, self._plans)
        finished: list[Finished] = []
        held: list[Held] = []
        parked: list[int] = []
        go: dict[int, Claimed] = {}
        notes: list[tuple[Claimed, str]] = []
        for message in chunk:
            # A cancel withdraws the queued messages, but one held back to queued after it
            # (the window closed while it waited, the carrier was busy) must not go either.
            if not message.launched:
                finished.append(Finished(message.id, "cancelled", "campaign_cancelled"))
                continue
            if message.paused:  # likewise after a pause: it waits with the others
                parked.append(message.id)
                continue
            reason = stopped.get(message.id)
            if reason is not None:
                finished.append(Finished(message.id, "cancelled", reason.value))
                notes.append((message, "cancelled"))
                continue
            if self._locality(message) is None:  # the planner sends to located numbers only
                finished.append(Finished(message.id, "failed", "invalid_number"))
                continue
            match self._verdict(message, now):
                case Go():
                    go[message.id] = message
                case Hold(until=until, deferral=deferral):
                    held.append(Held(message.id, until, deferral.value))
                case Expire(reason=expired):
                    finished.append(Finished(message.id, "expired", expired.value))
                    notes.append((message, "expired"))
        outbox.finish(conn, self.name, now, finished)
        outbox.hold(conn, self.name, now, held)
        outbox.park(conn, self.name, now, parked)
        return _Screened([go[i] for i in sorted(go)], notes, finished, len(held))

    def _count(self, finished: Sequence[Finished]) -> None:
        for item in finished:
            setattr(self.report, item.state, getattr(self.report, item.state) + 1)

    # --- submitting -----------------------------------------------------------------------

    def _verdict(self, message: Claimed, now: datetime) -> SendNow:
        plan = self._plans[message.campaign_id]
        locality = self._locality(message)
        assert locality is not None  # screened
        return send_now(
            now, locality, prospection=plan.prospection, send_by=message.send_by,
            margin=self.settings.window_margin, policy=plan.policy,
            retain_until=message.retain_until,
        )  # fmt: skip

    def _territory(self, message: Claimed) -> str | None:
        locality = self._locality(message)
        return locality.territory if locality is not None else None

    def _may_leave(self, message: Claimed) -> bool:
        """Whether `message` may leave now: asked by the transport right before the PDU is
        written, after any wait (a full window, the TPS limit, throttling, a reconnection)."""
        safety = min(LEASE_SAFETY, self.settings.lease.total_seconds() / 3)
        if time.monotonic() > self._claimed_until - safety:
            return False  # the lease may run out and the message be rescued as unknown
        if (message.advertiser_id, message.e164) in self._stopped and (
            self._plans[message.campaign_id].prospection
        ):
            return False  # a STOP this worker just recorded (a transactional message goes)
        return isinstance(self._verdict(message, self.clock()), Go)

    async def _submit(self, message: Claimed) -> None:
        order: int | None = None  # in the leaving order, once it left
        try:
            now = self.clock()
            verdict = self._verdict(message, now)
            if not isinstance(verdict, Go):
                self._not_now(message, verdict)
                return
            left_at: list[datetime] = []

            def may_leave() -> bool:
                nonlocal order
                allowed = self._may_leave(message)
                if allowed:
                    left_at.append(self.clock())
                    if order is None:
                        order = self._leaving(message)
                return allowed

            result = await self._transport.submit(
                OutboundMessage(
                    reference=str(message.id),
                    sender=message.sender,
                    recipient=message.e164,
                    text=message.text,
                    valid_until=verdict.valid_until,
                    may_leave=may_leave,
                    territory=self._territory(message),
                    campaign=self._plans[message.campaign_id].name,
                )
            )
            self._record(message, result, verdict.valid_until, left_at[-1] if left_at else now)
        except Exception:  # a bug must not leave the message `submitting` unnoticed
            log.exception("message %s: submit failed unexpectedly", message.id)
            self._finish(message, "unknown", "worker_error", error="the worker failed")
        finally:
            self._in_flight -= 1
            if order is not None:
                del self._out[order]
            self._wake_flusher.set()

    def _finish(
        self,
        message: Claimed,
        state: str,
        reason: str | None = None,
        code: int | None = None,
        error: str | None = None,
        keys: tuple[str, ...] = (),
        left_at: datetime | None = None,
        carrier: str | None = None,
    ) -> None:
        """A message settled without a receipt: to write, to audit, to count. `left_at`: when
        a message in doubt may have left, from."""
        self._pending.finished.append(
            Finished(
                message.id, state, reason, code, error, keys, message.advertiser_id,
                carrier, left_at,
            )
        )  # fmt: skip
        self._pending.note(message, state)
        setattr(self.report, state, getattr(self.report, state) + 1)

    def _hold(
        self, message: Claimed, until: datetime, reason: str | None, error: str | None
    ) -> None:
        """A message back to queued, due at `until`: nothing of it left."""
        self._pending.held.append(Held(message.id, until, reason, error))
        self.report.held += 1

    def _not_now(self, message: Claimed, verdict: Hold | Expire) -> None:
        if isinstance(verdict, Hold):
            self._hold(message, verdict.until, verdict.deferral.value, None)
        else:
            self._finish(message, "expired", verdict.reason.value)

    def _record(
        self, message: Claimed, result: SubmitResult, valid_until: datetime | None, at: datetime
    ) -> None:
        keys = tuple(message_key(i) for i in result.carrier_ids)
        error = result.error
        code = error.code if error else None
        detail = error.detail[:200] if error else None
        match result.status:
            case SubmitStatus.ACCEPTED:
                submitted = Submitted(
                    message.id,
                    message.advertiser_id,
                    keys,
                    valid_until,
                    at,
                    message.campaign_id,
                    result.carrier,
                )
                self._pending.submitted.append(submitted)
                self._pending.note(message, "submitted")
                self.report.submitted += 1
            case SubmitStatus.RECORDED:  # written down by the record-only transport, not sent
                self._finish(message, "recorded")
            case SubmitStatus.FAILED:
                self._finish(message, "failed", None, code, detail, keys, carrier=result.carrier)
            case SubmitStatus.IN_DOUBT:
                self._finish(
                    message, "unknown", "in_doubt", code, detail, keys, at, carrier=result.carrier
                )
                late = result.parts[-1].late if result.parts else None
                if late is not None:  # the carrier's answer may still come: it ends the doubt
                    self._spawn(self._await_late(message, keys, result, late))
            case SubmitStatus.RETRY:
                self._retry(message, code, detail)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _await_late(
        self,
        message: Claimed,
        keys: tuple[str, ...],
        result: SubmitResult,
        late: "asyncio.Future[str | None]",
    ) -> None:
        """The carrier's late answer to a part in doubt: taken (the message is submitted when
        that was its last part to go) or refused (queued again when nothing of it left). No
        answer before the connection goes or the wait ends: it stays unknown."""
        try:
            answer = await late
        except asyncio.CancelledError:
            return
        if answer is None and not keys:
            self._pending.late.append(Late(message.id, message.advertiser_id, result.carrier))
            self._pending.note(message, "refused_late")
        elif answer is not None and len(keys) + 1 == result.total_parts:
            taken = (*keys, message_key(answer))
            self._pending.late.append(
                Late(message.id, message.advertiser_id, result.carrier, taken)
            )
            self._pending.note(message, "taken_late")
        self._wake_flusher.set()

    def _retry(self, message: Claimed, code: int | None, detail: str | None) -> None:
        """Nothing of the message left (a temporary refusal, or it may not leave any more)."""
        if (message.advertiser_id, message.e164) in self._stopped:
            self._finish(message, "cancelled", Reason.OPTED_OUT.value)
            return
        verdict = self._verdict(message, self.clock())
        if not isinstance(verdict, Go):  # it waited past its window: the next one
            self._not_now(message, verdict)
            return
        if self._stopping.is_set():  # never left: due again at once, for any worker
            self._hold(message, self.clock(), None, "its worker stopped before it left")
            return
        attempts = message.attempts  # this claim included
        if attempts >= self.settings.max_attempts:
            error = f"refused {attempts} times for a while: {detail}"[:200]
            self._finish(message, "failed", None, code, error)
            return
        wait = self.settings.retry_after * (2 ** (attempts - 1))
        self._hold(message, self.clock() + wait, None, detail)

    # --- inbound ----------------------------------------------------------------------------

    def _leaving(self, message: Claimed) -> int:
        """Note that `message` leaves now; returns its place in the leaving order."""
        self._left += 1
        self._out[self._left] = message.id
        return self._left

    def _hold_back_receipts(self, pending: Pending) -> None:
        """Move back to the next flush the receipts that came while a message that had left
        before them was still being submitted: its part may be theirs, its id not written
        yet. (When the submit returns, its result is in the same pending as the receipts, and
        written first.)"""
        if not pending.inbound:
            return
        oldest_out = next(iter(self._out), None)
        kept: list[tuple[Inbound, asyncio.Future[None]]] = []
        for item in pending.inbound:
            arrived = self._arrived.get(item[1])
            if arrived is not None and oldest_out is not None and oldest_out <= arrived:
                self._pending.inbound.append(item)
            else:
                self._arrived.pop(item[1], None)
                kept.append(item)
        pending.inbound = kept

    def _inbound(self, inbound: Inbound) -> "asyncio.Future[None]":
        """A receipt or reply: acknowledged once the flusher has committed it; while the
        database is away, refused for now (the carrier delivers it again)."""
        if self._outage.away:
            raise InboundDeferredError()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if isinstance(inbound, Receipt):
            if self._out:
                self._arrived[done] = self._left
            self._pending.inbound.append((inbound, done))
            self._wake_flusher.set()
        else:
            self._replies.append((inbound, done))
            self._wake_replies.set()
        return done

    # --- flushing -------------------------------------------------------------------------

    async def _flusher(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_flusher.wait(), self.settings.flush_interval)
            self._wake_flusher.clear()
            stopping = self._stopping.is_set() and not self._tasks
            if len(self._pending):
                pending, self._pending = self._pending, Pending()
                self._hold_back_receipts(pending)
                # The audit entries naming what this flush records go with it, in its
                # transaction: the audit log misses nothing a worker killed after it sent.
                try:
                    await self._flush_in_thread(pending)
                except Exception as error:
                    if transient(error):  # the database is away: all of it waits
                        for _, ack in pending.inbound:  # the carrier delivers them again
                            if not ack.done():
                                ack.set_exception(InboundDeferredError())
                        self._requeue_results(pending)
                        if stopping and time.monotonic() - self._stopped_at > STOP_GIVE_UP:
                            self._give_up_results()
                            return
                        await asyncio.sleep(self._outage.failed(error, "recording results"))
                        continue
                    _log_failure("a flush failed; writing its parts one by one", error)
                    if not await self._flush_apart(pending):
                        if stopping and time.monotonic() - self._stopped_at > STOP_GIVE_UP:
                            self._give_up_results()
                            return
                        await asyncio.sleep(1.0)
                    continue
                self._outage.succeeded()
                for _, ack in pending.inbound:
                    if not ack.done():
                        ack.set_result(None)
                self._settled(pending)
            if stopping and not len(self._pending):
                return

    def _give_up_results(self) -> None:
        log.error(
            "stopping without recording %d result(s): the database is away; their messages "
            "will be rescued as unknown",
            self._pending.results,
            extra={"event": "results_abandoned", "messages": self._pending.results},
        )

    async def _reply_flusher(self) -> None:
        """Record replies as they come, in transactions of their own on the replies thread.
        While the database is away they are refused for now (the carrier delivers them again);
        a batch the database refuses for another reason goes to the main flush, which writes
        its replies one by one (and refuses for good one that can never be recorded)."""
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_replies.wait(), self.settings.flush_interval)
            self._wake_replies.clear()
            if not self._replies:
                if self._stopping.is_set() and not self._tasks:
                    return
                continue
            batch, self._replies = self._replies, []
            replies = [reply for reply, _ in batch]
            try:
                written = await loop.run_in_executor(
                    self._db_replies, self._transaction, self._journal.write_replies, replies
                )
            except Exception as error:
                if transient(error):
                    for _, ack in batch:
                        if not ack.done():
                            ack.set_exception(InboundDeferredError())
                    await asyncio.sleep(self._outage.failed(error, "recording replies"))
                else:
                    self._pending.inbound.extend(batch)
                    self._wake_flusher.set()
                continue
            self._outage.succeeded()
            self._apply(written)
            for _, ack in batch:
                if not ack.done():
                    ack.set_result(None)

    async def _flush_in_thread(self, pending: Pending) -> None:
        """Write `pending` in one transaction on the flush thread; once it is committed, count
        what it recorded, remember who replied STOP, and send the STOP confirmations."""
        written = await asyncio.get_running_loop().run_in_executor(
            self._db_flush, self._transaction, self._journal.write, pending
        )
        self._apply(written)

    def _apply(self, written: Written) -> None:
        """What a committed write tells: counts, who replied STOP, confirmations to send."""
        self.report.receipts += written.receipts
        self.report.replies += written.replies
        self._stopped.update(written.stopped)
        for message in written.confirmations:
            self._send_confirmation(message)

    def _settled(self, pending: Pending) -> None:
        self._unsettled -= pending.results
        for done in (pending.submitted, pending.finished, pending.held):
            for message in done:
                self._holding.discard(message.id)
        self._room.set()

    async def _flush_apart(self, pending: Pending) -> bool:
        """After a failed flush: the submit results alone, then each receipt or reply alone,
        so that one the database refuses (a field out of range, say) neither holds the results
        back nor the others. Returns False when even the results cannot be written (the
        database is away): they are kept for the next flush."""
        results = Pending(
            pending.submitted, pending.finished, pending.held, [], pending.audit, pending.settling,
            pending.late,
        )  # fmt: skip
        try:
            await self._flush_in_thread(results)
        except Exception as error:
            _log_failure("the database refuses the submit results; trying again", error)
            for _, ack in pending.inbound:  # the carrier delivers them again
                if not ack.done():
                    ack.set_exception(error)
            self._requeue_results(pending)
            return False
        self._settled(results)
        for item, ack in pending.inbound:
            try:
                await self._flush_in_thread(Pending(inbound=[(item, ack)]))
            except Exception as error:
                if isinstance(item, Receipt):  # it can never be recorded: the carrier drops it
                    _log_failure("a receipt could not be recorded; refused for good", error)
                    ack.set_exception(InboundRejectedError(described(error)))
                elif self._reply_failed(item, error):
                    _log_failure(
                        f"a reply could not be recorded {MAX_REPLY_FAILURES} times; refused "
                        "for good",
                        error,
                    )
                    ack.set_exception(InboundRejectedError(described(error)))
                else:  # a reply (a STOP) is not dropped at once: the carrier delivers it again
                    _log_failure("a reply could not be recorded; the carrier will retry", error)
                    ack.set_exception(error)
                continue
            if not isinstance(item, Receipt):
                self._reply_failures.pop(_reply_key(item), None)
            if not ack.done():
                ack.set_result(None)
        return True

    def _reply_failed(self, reply: Reply, error: Exception) -> bool:
        """Count a failure to record `reply` alone; True when it is to be refused for good: it
        failed MAX_REPLY_FAILURES times with an error that is not the database being away or
        busy (which the carrier's retries outlast, however long)."""
        if transient(error):
            return False
        if len(self._reply_failures) > 10_000:  # bounded: deliveries differ, or a bug
            self._reply_failures.clear()
        key = _reply_key(reply)
        self._reply_failures[key] = failures = self._reply_failures.get(key, 0) + 1
        if failures < MAX_REPLY_FAILURES:
            return False
        del self._reply_failures[key]
        return True

    def _requeue_results(self, pending: Pending) -> None:
        """Submit results must be written whatever happens: they are kept for the next flush
        (receipts and replies come again from the carrier)."""
        self._pending.submitted[:0] = pending.submitted
        self._pending.finished[:0] = pending.finished
        self._pending.held[:0] = pending.held
        self._pending.late[:0] = pending.late
        self._pending.settling |= pending.settling
        merge_notes(self._pending.audit, pending.audit)

    def _send_confirmation(self, message: OutboundMessage) -> None:
        async def send() -> None:
            result = await self._transport.submit(message)
            if result.status is not SubmitStatus.ACCEPTED:
                log.warning("a STOP confirmation was not sent: %s", result.status)

        self._spawn(send())

    # --- leases -------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        every = self.settings.lease.total_seconds() / 3
        while True:
            started = time.monotonic()
            try:
                rescued = await self._db_call(self._transaction, self._renew_and_rescue)
            except Exception as error:  # leases are not renewed, so _may_leave stops messages
                if transient(error):
                    self._outage.failed(error, "lease renewal")
                else:
                    log.exception("cannot renew the leases; messages stop leaving until it can")
            else:
                self._outage.succeeded()
                share = getattr(self._transport, "share_accounts", None)
                if share is not None:  # an account's tps, among the workers sending through it
                    share(self._sharing)
                if self._in_flight:
                    self._claimed_until = started + self.settings.lease.total_seconds()
                if rescued:
                    log.warning("%d message(s) left submitting by a stopped worker", rescued)
                    self.report.rescued += rescued
            await asyncio.sleep(every)

    def _gone(self, conn: Connection) -> None:
        workers.gone(conn, self.name)

    def _renew_and_rescue(self, conn: Connection) -> int:
        now = self.clock()
        outbox.renew(conn, self.name, now, self.settings.lease)
        carriers = getattr(self._transport, "names", ("",))
        workers.seen(conn, self.name, carriers, now, self._started_at)
        self._sharing = workers.sharing(conn, carriers, now, self.settings.lease)
        outbox.forget_early_receipts(conn, now - self.settings.keep_early_receipts)
        rescued = outbox.rescue(conn, now, self.actor)
        self.report.proven += outbox.prove_unknown(
            conn, now, self.actor, now - self.settings.keep_early_receipts
        )
        return rescued
