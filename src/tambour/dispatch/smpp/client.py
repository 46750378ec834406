"""An SMPP v3.4 client session (ESME) on asyncio: bind_transceiver, a window of PDUs in flight,
a TPS limit, enquire_link, reconnection with exponential backoff, clean unbind.

`SmppSession.submit(submit_sm)` returns one of:

- `Accepted(message_id)`: the SMSC took the part.
- `Refused(status)`: the SMSC refused it with that command_status. Throttling statuses
  (ESME_RTHROTTLED, ESME_RMSGQFUL) are not returned at once: the session pauses all submits
  (0.1 s, doubling to 5 s while they go on) and submits the part again, for up to
  `throttle_give_up` seconds; a refusal means nothing was taken, so retrying never duplicates.
- `InDoubt(reason)`: the PDU went out but no response came (the connection dropped, or
  `response_timeout` passed). The SMSC may have taken it: never submitted again by the session;
  the caller records it as unknown.
- `NotSent(reason)`: the session is closing and the part never left; safe to submit later.

A part whose PDU had not reached the socket when the connection dropped is submitted again on the
next connection, so a drop loses nothing and duplicates nothing that Tambour can know of.
Responses are matched to requests by sequence number in a dict (O(1)); the window is a semaphore
held from the first attempt to the final outcome. Deliver_sm (receipts and replies) go to
`on_deliver`, which returns None (answered at once) or an awaitable (answered when it completes;
ESME_RX_T_APPN if it raises, so the SMSC delivers it again; ESME_RX_P_APPN if it raises
InboundRejectedError: traffic that can never be read).

Why our own codec and session rather than a library. Measured on this 2-core machine
(2026-11-28, shared with other work), one client bound to tambour's local SMSC running in another
process, window 64, the same one-part GSM-7 text; the scratch scripts lived in /tmp/eval,
outside the repository, the libraries in a scratch virtualenv:

    client                 submit_sm/s        with a receipt a part     window 64 bounds
                           (no receipts)                                in-flight PDUs
    smpp34 1.5.0 (Rust)    13,900             2,100 (64 submitters) *   no: 500 reached a
                                                                        silent SMSC
    aiosmpplib 0.7.4       -                  2,790 **                  it has no window
    ours (this module)     32,000             14,400 (128 submitters);  yes (tested)
                                              10,000 with every receipt
                                              parsed (bench_smpp.py)

    *  with 128 submitters, 92% of the submits failed with ESME_RSYSERR raised by the client
       itself (the SMSC refused none).
    ** its broker gated by a semaphore of ours, released on each submit_sm_resp.

- smpp34 is fast without receipts, but slower than ours once receipts flow back (each one
  crosses into Python through a pull API), its `window_size` did not bound what was in flight,
  and its errors under load came from the client, not the SMSC. The reported crash at exit
  after unbind + `client.stop()` did not happen in 6 runs here, but nothing above needed it.
- aiosmpplib sends everything its broker hands it (no window), splits long messages its own way
  (SAR TLVs, not our splitter's UDH parts) and its receipt parsing was reported buggy; it would
  have to be wrapped in most of what this module does anyway.
- Ours: a 600-line typed codec, strict with errors that name the field, and a session that does
  exactly what dispatch needs: window as a semaphore, O(1) correlation, coalesced writes (one
  system call per event-loop turn), in-doubt parts told apart from never-sent ones on a drop.
  No dependency to keep in step with. benches/bench_smpp.py gives the current figures.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from tambour.dispatch.inbound import InboundRejectedError
from tambour.dispatch.rate import client_bucket
from tambour.dispatch.smpp.connection import SmppConnection
from tambour.dispatch.smpp.pdu import (
    MAX_SEQUENCE,
    Bind,
    BindMode,
    Body,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    is_response,
)
from tambour.dispatch.smpp.status import Status, is_throttling, status_name

log = logging.getLogger(__name__)

DeliverHandler = Callable[[DeliverSm], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class SessionSettings:
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    window: int = 64  # submits in flight
    tps: float = 0.0  # submits a second on this connection; 0: no limit
    enquire_link_interval: float = 30.0  # seconds of silence before an enquire_link
    response_timeout: float = 30.0
    connect_timeout: float = 10.0
    reconnect_initial: float = 0.5
    reconnect_max: float = 30.0
    throttle_pause: float = 0.1
    throttle_pause_max: float = 5.0
    throttle_give_up: float = 120.0


@dataclass(frozen=True, slots=True)
class Accepted:
    message_id: str


@dataclass(frozen=True, slots=True)
class Refused:
    status: int

    def __str__(self) -> str:
        return f"refused: {status_name(self.status)}"


@dataclass(frozen=True, slots=True)
class InDoubt:
    reason: str


@dataclass(frozen=True, slots=True)
class NotSent:
    reason: str


SubmitOutcome = Accepted | Refused | InDoubt | NotSent


@dataclass(slots=True)
class SessionStats:
    accepted: int = 0
    refused: int = 0
    throttled: int = 0  # throttling responses (each retried)
    in_doubt: int = 0
    resent: int = 0  # parts that had not left when a connection dropped, sent again
    delivered: int = 0  # deliver_sm received
    connections: int = 0  # successful binds
    disconnects: int = 0


class SmppError(Exception):
    pass


class BindRefusedError(SmppError):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind_transceiver refused: {status_name(status)}")
        self.status = status


class _Lost:
    """Why a request got no response; a sentinel, never a PDU."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_UNSENT: Final = _Lost("unsent")  # never handed to the socket
_DROPPED: Final = _Lost("dropped")  # handed to the socket, then the connection was lost
_TIMED_OUT: Final = _Lost("timed out")

Reply = Pdu | _Lost


class _ClientConnection(SmppConnection):
    def __init__(self, session: "SmppSession") -> None:
        super().__init__()
        self.session = session
        # sequence -> (future, position in the send order, deadline); insertion order is
        # deadline order, so expiry looks at the oldest only.
        self.pending: dict[int, tuple[asyncio.Future[Reply], int, float]] = {}
        self.last_received = self._loop.time()
        self.enquiring: asyncio.Future[Reply] | None = None

    def request(self, body: Body, sequence: int) -> "asyncio.Future[Reply]":
        future: asyncio.Future[Reply] = self._loop.create_future()
        if not self.is_open:
            future.set_result(_UNSENT)
            return future
        self.send(body, sequence)
        deadline = self._loop.time() + self.session.settings.response_timeout
        self.pending[sequence] = (future, self.queued, deadline)
        return future

    def pdu_received(self, pdu: Pdu) -> None:
        self.last_received = self._loop.time()
        if is_response(pdu.command_id):
            entry = self.pending.pop(pdu.sequence, None)
            if entry is None:
                log.warning(
                    "response to unknown sequence %d (%s), ignored",
                    pdu.sequence,
                    status_name(pdu.status),
                )
            elif not entry[0].done():
                entry[0].set_result(pdu)
            return
        match pdu.body:
            case DeliverSm():
                self.session._deliver(self, pdu)
            case EnquireLink():
                self.send(EnquireLinkResp(), pdu.sequence)
            case Unbind():
                log.warning("the SMSC unbinds the session")
                self.send(UnbindResp(), pdu.sequence)
                self.abort(flush=True)
            case _:
                self.send(GenericNack(), pdu.sequence, Status.ESME_RINVCMDID)

    def expire(self, now: float) -> None:
        """Resolve the requests whose response is overdue."""
        expired: list[int] = []
        for sequence, (_, _, deadline) in self.pending.items():
            if deadline > now:
                break
            expired.append(sequence)
        for sequence in expired:
            future = self.pending.pop(sequence)[0]
            if not future.done():
                future.set_result(_TIMED_OUT)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        for future, position, _ in self.pending.values():
            if not future.done():
                future.set_result(_UNSENT if position > self.flushed else _DROPPED)
        self.pending.clear()
        self.session._connection_lost(self)


class SmppSession:
    """One bound transceiver session, kept up until `close()`."""

    def __init__(self, settings: SessionSettings, on_deliver: DeliverHandler | None = None) -> None:
        if settings.window < 1:
            raise ValueError("window must be at least 1")
        self.settings = settings
        self.stats = SessionStats()
        self._on_deliver = on_deliver
        self._window = asyncio.Semaphore(settings.window)
        self._bucket = client_bucket(settings.tps)
        self._sequence = 0
        self._connection: _ClientConnection | None = None
        self._bound = asyncio.Event()
        self._closing = False
        self._throttled_until = 0.0
        self._throttle_pause = settings.throttle_pause
        self._supervisor: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    # life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and bind. Raises OSError, TimeoutError or BindRefusedError when the first bind
        fails (a wrong host or password should stop the caller, not loop); after that, a lost
        connection is re-established in the background."""
        connection = await self._open()
        self._use(connection)
        self._supervisor = asyncio.create_task(self._supervise(connection))

    async def close(self, timeout: float = 10.0) -> None:
        """Stop taking submits, wait (up to `timeout`) for those in flight and for the
        deliver_sm handlers, unbind, close the connection."""
        if self._closing:
            return
        self._closing = True
        self._bound.set()  # waiters wake, see the session closing, return NotSent
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connection = self._connection
        while connection is not None and connection.pending and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=max(0.0, deadline - loop.time()))
        if connection is not None and connection.is_open:
            reply = connection.request(Unbind(), self._next_sequence())
            try:
                await asyncio.wait_for(reply, max(0.1, deadline - loop.time()))
            except TimeoutError:
                log.warning("no unbind_resp; closing anyway")
            connection.abort(flush=True)
            await connection.closed
        for task in (self._supervisor, self._watcher):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._supervisor, self._watcher) if t is not None),
            return_exceptions=True,
        )

    @property
    def bound(self) -> bool:
        connection = self._connection
        return connection is not None and connection.is_open and not self._closing

    # submitting ------------------------------------------------------------------------

    async def submit(
        self, message: SubmitSm, may_send: Callable[[], bool] | None = None
    ) -> SubmitOutcome:
        """Submit one part; see the module's docstring for the outcomes. Raises PduError when
        the PDU cannot be encoded (nothing is sent then). `may_send` is asked right before the
        PDU is written, after every wait (the window, the TPS limit, throttling, a
        reconnection): when it says no, the part is NotSent."""
        loop = asyncio.get_running_loop()
        async with self._window:
            give_up_at: float | None = None
            while True:
                connection = await self._bound_connection()
                if connection is None:
                    return NotSent("the session is closing")
                now = loop.time()
                if self._throttled_until > now:
                    await asyncio.sleep(self._throttled_until - now)
                    continue
                if self._bucket is not None:
                    wait = self._bucket.reserve(now)
                    if wait > 0:
                        await asyncio.sleep(wait)
                        if self._closing:  # the unbind may be on its way: nothing after it
                            return NotSent("the session is closing")
                if may_send is not None and not may_send():
                    return NotSent("no longer allowed to leave (its window closed meanwhile)")
                reply = await connection.request(message, self._next_sequence())
                if reply is _UNSENT:
                    self.stats.resent += 1
                    continue
                if isinstance(reply, _Lost):
                    self.stats.in_doubt += 1
                    if reply is _TIMED_OUT:
                        timeout = self.settings.response_timeout
                        return InDoubt(f"no submit_sm_resp within {timeout:g} s")
                    return InDoubt("the connection dropped before the submit_sm_resp")
                status = reply.status
                if reply.command_id == CommandId.SUBMIT_SM_RESP and status == 0:
                    assert isinstance(reply.body, SubmitSmResp)
                    self.stats.accepted += 1
                    self._throttle_pause = self.settings.throttle_pause
                    return Accepted(reply.body.message_id)
                if is_throttling(status):
                    self.stats.throttled += 1
                    now = loop.time()
                    if give_up_at is None:
                        give_up_at = now + self.settings.throttle_give_up
                    if now < give_up_at:
                        self._throttle(now)
                        continue
                self.stats.refused += 1
                return Refused(status or Status.ESME_RSYSERR)  # a generic_nack with status 0

    def _throttle(self, now: float) -> None:
        """Pause every submit; a longer pause when throttled again right after one."""
        if self._throttled_until > now:
            return  # the other parts in flight were throttled by the same burst
        self._throttled_until = now + self._throttle_pause
        self._throttle_pause = min(self._throttle_pause * 2, self.settings.throttle_pause_max)

    async def _bound_connection(self) -> _ClientConnection | None:
        while not self._closing:
            connection = self._connection
            if connection is not None and connection.is_open:
                return connection
            if connection is not None and not connection.closed.done():
                await connection.closed  # closing: connection_lost comes next
                continue
            if connection is not None:  # lost: forget it until the supervisor binds again
                self._connection = None
                self._bound.clear()
            await self._bound.wait()
        return None

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % MAX_SEQUENCE + 1
        return self._sequence

    # connections -----------------------------------------------------------------------

    async def _open(self) -> _ClientConnection:
        settings = self.settings
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(lambda: _ClientConnection(self), settings.host, settings.port),
            settings.connect_timeout,
        )
        try:
            bind = Bind(
                BindMode.TRANSCEIVER, settings.system_id, settings.password, settings.system_type
            )
            reply = await asyncio.wait_for(
                connection.request(bind, self._next_sequence()), settings.response_timeout
            )
            if isinstance(reply, _Lost):
                raise ConnectionError("the SMSC closed the connection during the bind")
            if reply.status:
                raise BindRefusedError(reply.status)
        except BaseException:
            connection.abort()
            raise
        return connection

    def _use(self, connection: _ClientConnection) -> None:
        if not connection.is_open:  # lost right after its bind: the supervisor reconnects
            return
        self._connection = connection
        self.stats.connections += 1
        self._bound.set()
        self._watcher = asyncio.create_task(self._watch(connection))
        log.info("SMPP session bound to %s:%d", self.settings.host, self.settings.port)

    def _connection_lost(self, connection: _ClientConnection) -> None:
        if connection is self._connection:
            self._connection = None
            if not self._closing:
                self._bound.clear()

    async def _supervise(self, connection: _ClientConnection) -> None:
        """Re-establish the session each time it drops, with exponential backoff."""
        settings = self.settings
        while True:
            await connection.closed
            if self._closing:
                return
            self.stats.disconnects += 1
            delay = settings.reconnect_initial
            log.warning("SMPP connection lost; reconnecting in %.1f s", delay)
            while True:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                if self._closing:
                    return
                try:
                    connection = await self._open()
                    break
                except (OSError, TimeoutError, SmppError) as error:
                    delay = min(delay * 2, settings.reconnect_max)
                    log.warning("SMPP reconnect failed (%s); next try in %.1f s", error, delay)
            self._use(connection)

    async def _watch(self, connection: _ClientConnection) -> None:
        """Expire overdue responses; enquire_link after a silence, drop the connection when
        even that goes unanswered (the supervisor then reconnects)."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        tick = min(1.0, settings.enquire_link_interval / 2, settings.response_timeout / 2)
        while connection.is_open:
            await asyncio.sleep(tick)
            now = loop.time()
            connection.expire(now)
            enquiring = connection.enquiring
            if enquiring is not None and enquiring.done():
                connection.enquiring = None
                if enquiring.result() is _TIMED_OUT:
                    log.warning("enquire_link unanswered; dropping the connection")
                    connection.abort()
                    return
            if (
                connection.enquiring is None
                and now - connection.last_received >= settings.enquire_link_interval
            ):
                connection.enquiring = connection.request(EnquireLink(), self._next_sequence())

    # deliver_sm ------------------------------------------------------------------------

    def _deliver(self, connection: _ClientConnection, pdu: Pdu) -> None:
        self.stats.delivered += 1
        assert isinstance(pdu.body, DeliverSm)
        handler = self._on_deliver
        pending: Awaitable[None] | None = None
        if handler is not None:
            try:
                pending = handler(pdu.body)
            except Exception as error:
                connection.send(DeliverSmResp(), pdu.sequence, _handler_failure(error))
                return
        if pending is None:
            connection.send(DeliverSmResp(), pdu.sequence)
            return
        task = asyncio.ensure_future(self._answer_later(connection, pdu.sequence, pending))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _answer_later(
        self, connection: _ClientConnection, sequence: int, pending: Awaitable[None]
    ) -> None:
        status = 0
        try:
            await pending
        except Exception as error:
            status = _handler_failure(error)
        if connection.is_open:
            connection.send(DeliverSmResp(), sequence, status)


def _handler_failure(error: Exception) -> int:
    """The deliver_sm_resp status for a handler that raised: permanent for traffic it can never
    read, temporary (the SMSC delivers it again) for anything else."""
    if isinstance(error, InboundRejectedError):
        return Status.ESME_RX_P_APPN
    log.error(
        "deliver_sm handler failed (%s); the SMSC will deliver it again", type(error).__name__
    )
    return Status.ESME_RX_T_APPN
