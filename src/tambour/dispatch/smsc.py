"""A local SMSC: an SMPP v3.4 server on asyncio for the demo and the tests, a real peer for the
client (nothing is mocked between them but the carrier's radio network).

- Binds: bind_transceiver, bind_transmitter or bind_receiver with the configured system_id and
  password (ESME_RINVSYSID / ESME_RINVPASWD otherwise, ESME_RALYBND when bound already,
  ESME_RINVBNDSTS for a submit before the bind).
- submit_sm: acknowledged with a message id; above `tps` a second, ESME_RTHROTTLED. Each
  session has its own token bucket, `tps` a second with a burst of `tps_burst` seconds' worth
  (0.1: 10 submits at 100 a second), as a carrier counts a bind's submits. Parts of a
  concatenated message (UDH or sar_* TLVs) are reassembled into `messages` for inspection; every
  part is kept in `parts`.
- Receipts: for each part that asks for one (registered_delivery), a deliver_sm with esm_class
  0x04, the receipted_message_id and message_state TLVs (unless `receipt_tlvs` is off) and the
  standard text, `receipt_delay` seconds later; `failure_rate` of the parts fail (UNDELIV), and a
  part whose validity_period ends before then expires (EXPIRED).
  A receipt or reply that is not acknowledged (a temporary error status, no answer, a lost
  connection) is delivered again, as carriers do: the client must take duplicates. One refused
  for good (ESME_RX_P_APPN, ESME_RX_R_APPN...) is dropped and counted.
- TLS: with `tls_cert` and `tls_key` it serves SMPP over TLS only; with `tls_client_ca` too, an
  ESME must show a certificate signed by that CA (its TLS handshake fails otherwise).
- Replies: `inject_mo(source, short_number, text)` delivers an MO message into a bound session;
  `tambour smsc mo` does it through the admin port (tambour.dispatch.smsc_admin). `deliver(pdu)`
  delivers any deliver_sm (tests use it for malformed receipts).
- For tests: `refuse(destination, status)` refuses submits to a number; `mute()` keeps taking
  submits without answering them; `drop_connections()` kills the server side of every socket.

Logs carry counts and ids, never numbers or texts.
"""

import asyncio
import heapq
import itertools
import logging
import random
import re
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from tambour.dispatch.rate import TokenBucket
from tambour.dispatch.receipts import RECEIPT, format_receipt_text, is_receipt
from tambour.dispatch.smpp.addresses import (
    NPI_E164,
    NPI_UNKNOWN,
    TON_INTERNATIONAL,
    TON_UNKNOWN,
    sender_address,
)
from tambour.dispatch.smpp.connection import SmppConnection
from tambour.dispatch.smpp.pdu import (
    MAX_SEQUENCE,
    Address,
    Bind,
    BindMode,
    BindResp,
    CommandId,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    PduError,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Unbind,
    UnbindResp,
    encode,
    is_response,
)
from tambour.dispatch.smpp.status import Status, is_transient, status_name
from tambour.dispatch.smpp.times import parse_time
from tambour.dispatch.smpp.user_data import (
    UserDataError,
    decode_payload,
    encode_text,
    message_parts,
)
from tambour.dispatch.tls import TlsSetupError, server_context
from tambour.services.context import utc_now
from tambour.sms.phone import parse_phone
from tambour.traffic import Concatenation, MessageState

log = logging.getLogger(__name__)

SMSC_SYSTEM_ID: Final = "TAMBOURSMSC"
DELIVERY_WINDOW: Final = 64  # deliver_sm in flight per session
_NOT_RECEIPT_TEXT: Final = re.compile(r"[^A-Za-z0-9 .,!?-]")  # replaced by ? in a receipt


class DeliveryRefusedError(Exception):
    """The ESME refused a deliver_sm for good."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the ESME refused the deliver_sm: {status_name(status)}")
        self.status = status


@dataclass(frozen=True, slots=True)
class SmscSettings:
    host: str = "127.0.0.1"
    port: int = 2775  # 0: any free port (see Smsc.port)
    system_id: str = "tambour"
    password: str = field(default="tambour", repr=False)
    receipt_delay: float = 1.0
    failure_rate: float = 0.0  # share of parts whose receipt says UNDELIV
    tps: float = 0.0  # submits a second per session before ESME_RTHROTTLED; 0: no limit
    tps_burst: float = 0.1  # seconds' worth of `tps` taken at once (at least one submit)
    # SMPP over TLS: the server's certificate and key (PEM); with tls_client_ca, an ESME must
    # show a certificate signed by it. None: plain TCP.
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    receipt_tlvs: bool = True  # receipted_message_id and message_state besides the text
    receipt_seconds: bool = False  # 12-digit dates in the receipt text
    receipt_decimal_ids: bool = False  # the text's id: in decimal (message ids are hex)
    record: bool = True  # keep parts and messages (off for benchmarks)
    seed: int | None = None  # for the failures
    redeliver_after: float = 1.0
    response_timeout: float = 10.0
    # Message ids are this prefix and a counter from 1. None: a random prefix, so that ids of
    # two runs differ; a fixed one gives the same ids again after a restart, as some carriers
    # do (receipts must then name the most recent part with an id).
    id_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedPart:
    message_id: str
    system_id: str
    source: Address
    destination: Address
    data_coding: int
    concatenation: Concatenation | None
    payload: bytes
    registered_delivery: int
    valid_until: datetime | None = None  # from validity_period


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A whole message: a single part, or every part of a concatenated one, reassembled."""

    source: Address
    destination: Address
    data_coding: int
    text: str
    message_ids: tuple[str, ...]


@dataclass(slots=True)
class SmscStats:
    binds: int = 0
    bind_refusals: int = 0
    submits: int = 0
    accepted: int = 0
    throttled: int = 0
    refused: int = 0
    receipts_queued: int = 0
    deliveries_sent: int = 0  # deliver_sm written, redeliveries included
    deliveries_acked: int = 0
    redeliveries: int = 0
    deliveries_refused: int = 0  # refused for good by the ESME (ESME_RX_P_APPN, ...): dropped
    mo_queued: int = 0
    enquire_links: int = 0
    unbinds: int = 0


@dataclass(slots=True, eq=False)
class _Delivery:
    system_id: str
    pdu: DeliverSm
    done: asyncio.Future[None] | None = None  # set when acknowledged (MO injections wait on it)
    reply: bool = False  # a person's message (MO), not a receipt


class _Session(SmppConnection):
    def __init__(self, smsc: "Smsc") -> None:
        super().__init__()
        self.smsc = smsc
        self.mode: BindMode | None = None
        self.system_id = ""
        settings = smsc.settings
        self.bucket = (
            TokenBucket(settings.tps, max(1.0, settings.tps * settings.tps_burst))
            if settings.tps
            else None
        )
        self.sequence = 0
        self.in_flight: dict[int, tuple[_Delivery, float]] = {}

    @property
    def receives(self) -> bool:
        return self.mode in (BindMode.TRANSCEIVER, BindMode.RECEIVER) and self.is_open

    def next_sequence(self) -> int:
        self.sequence = self.sequence % MAX_SEQUENCE + 1
        return self.sequence

    def pdu_received(self, pdu: Pdu) -> None:
        body = pdu.body
        if isinstance(body, SubmitSm):
            self.smsc._submit(self, pdu.sequence, body)
        elif is_response(pdu.command_id):
            if pdu.command_id in (CommandId.DELIVER_SM_RESP, CommandId.GENERIC_NACK):
                self.smsc._answered(self, pdu.sequence, pdu.status)
        elif isinstance(body, Bind):
            self.smsc._bind(self, pdu.sequence, body)
        elif isinstance(body, EnquireLink):
            self.smsc.stats.enquire_links += 1
            self.send(EnquireLinkResp(), pdu.sequence)
        elif isinstance(body, Unbind):
            self.smsc.stats.unbinds += 1
            self.send(UnbindResp(), pdu.sequence)
            self.abort(flush=True)
        else:
            self.send(GenericNack(), pdu.sequence, Status.ESME_RINVCMDID)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.smsc._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.smsc._session_lost(self)


class Smsc:
    def __init__(
        self,
        settings: SmscSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings or SmscSettings()
        # Validity periods and receipt dates are judged on this clock: the ESME's, when a test
        # or the demo runs the ESME on an injected one.
        self.clock = clock
        self.stats = SmscStats()
        self.parts: list[ReceivedPart] = []
        self.messages: list[ReceivedMessage] = []
        self._partial: dict[tuple[str, str, str, int, int], dict[int, ReceivedPart]] = {}
        self._sessions: set[_Session] = set()  # bound
        self._connections: set[_Session] = set()  # bound or not
        self._server: asyncio.Server | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        # Deliveries waiting, heaps by due time: replies apart from receipts and ahead of them,
        # as carriers' SMSCs queue MO traffic apart from delivery reports: a STOP does not
        # wait behind a backlog of thousands of receipts.
        self._due: list[tuple[float, int, _Delivery]] = []
        self._due_replies: list[tuple[float, int, _Delivery]] = []
        self._order = itertools.count()
        self._waiter: asyncio.Future[None] | None = None
        self._random = random.Random(self.settings.seed)
        prefix = self.settings.id_prefix
        self._id_prefix = secrets.token_hex(2) if prefix is None else prefix
        self._ids = itertools.count(1)
        self._references = itertools.count(self._random.randrange(256))
        self._refusals: dict[str, int] = {}
        self._muted = False
        # What was answered while muted: session, sequence, message id, status
        self._held_answers: list[tuple[_Session, int, str, int]] = []
        self.port = self.settings.port

    # life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen. Raises OSError, or TlsSetupError for a TLS file that cannot be used (its
        `key`: cert, key or client_ca)."""
        settings = self.settings
        tls = self._tls_context()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Session(self), settings.host, settings.port, ssl=tls
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._pump_task = asyncio.create_task(self._pump())
        self._sweep_task = asyncio.create_task(self._sweep())
        log.info("SMSC listening on %s:%d%s", settings.host, self.port, " (TLS)" if tls else "")

    def _tls_context(self) -> ssl.SSLContext | None:
        cert, key = self.settings.tls_cert, self.settings.tls_key
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            raise TlsSetupError("key" if key is None else "cert", "required with the other")
        return server_context(cert, key, self.settings.tls_client_ca)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_connections()
        for task in (self._pump_task, self._sweep_task):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._pump_task, self._sweep_task) if t is not None),
            return_exceptions=True,
        )
        if self._server is not None:
            await self._server.wait_closed()

    # for tests -------------------------------------------------------------------------

    def refuse(self, destination: str, status: int) -> None:
        """Refuse every submit to `destination` (E.164 or the address digits) with `status`."""
        self._refusals[destination.lstrip("+")] = status

    def mute(self, muted: bool = True) -> None:
        """While muted, submits are taken (kept, receipted) but not answered."""
        self._muted = muted
        if not muted:
            self._held_answers.clear()

    def answer_late(self) -> int:
        """Unmute, and send now the answers held back while muted, on the sessions still
        open: late, as a slow carrier's. Returns how many."""
        self._muted = False
        held, self._held_answers = self._held_answers, []
        sent = 0
        for session, sequence, message_id, status in held:
            if session in self._connections:
                session.send(SubmitSmResp(message_id), sequence, status)
                sent += 1
        return sent

    def drop_connections(self) -> None:
        """Kill the server side of every connection, as a network failure would."""
        for session in list(self._connections):
            session.abort()

    @property
    def bound_sessions(self) -> int:
        return sum(1 for s in self._sessions if s.is_open)

    @property
    def pending_deliveries(self) -> int:
        """Receipts and replies not acknowledged yet (due, or sent and unanswered)."""
        waiting = len(self._due) + len(self._due_replies)
        return waiting + sum(len(s.in_flight) for s in self._sessions)

    def inject_mo(
        self, source: str, short_number: str, text: str, system_id: str | None = None
    ) -> "asyncio.Future[list[None]]":
        """Deliver a reply from `source` (a phone number) to `short_number` into a bound
        session of `system_id` (default: the configured one), as soon as one is bound. The
        future completes when every part is acknowledged."""
        e164 = parse_phone(source).e164
        origin = (
            Address(TON_INTERNATIONAL, NPI_E164, e164[1:])
            if e164
            else Address(TON_UNKNOWN, NPI_UNKNOWN, source)
        )
        destination = sender_address(short_number)
        encoded = encode_text(text, next(self._references) % 256)
        pdus = [
            DeliverSm(origin, destination, payload, encoded.data_coding, encoded.esm_class)
            for payload in encoded.parts
        ]
        for pdu in pdus:
            encode(pdu, 1)  # raises PduError (a ValueError) now, not in the delivery loop
        self.stats.mo_queued += 1
        return asyncio.gather(*(self.deliver(pdu, system_id) for pdu in pdus))

    def deliver(self, pdu: DeliverSm, system_id: str | None = None) -> "asyncio.Future[None]":
        """Deliver any deliver_sm into a bound session of `system_id`; the future completes
        when the ESME acknowledges it (a temporary refusal makes it go again)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        reply = not is_receipt(pdu)
        self._queue(_Delivery(system_id or self.settings.system_id, pdu, done, reply), 0.0)
        return done

    # binds and submits -----------------------------------------------------------------

    def _bind(self, session: _Session, sequence: int, bind: Bind) -> None:
        status = 0
        if session.mode is not None:
            status = Status.ESME_RALYBND
        elif bind.system_id != self.settings.system_id:
            status = Status.ESME_RINVSYSID
        elif bind.password != self.settings.password:
            status = Status.ESME_RINVPASWD
        if status:
            self.stats.bind_refusals += 1
            session.send(BindResp(bind.mode), sequence, status)
            return
        session.mode, session.system_id = bind.mode, bind.system_id
        self._sessions.add(session)
        self.stats.binds += 1
        session.send(BindResp(bind.mode, SMSC_SYSTEM_ID), sequence)
        self._wake()

    def _submit(self, session: _Session, sequence: int, submit: SubmitSm) -> None:
        self.stats.submits += 1
        status = self._refusal(session, submit)
        if status:
            if self._muted:
                self._held_answers.append((session, sequence, "", status))
            else:
                session.send(SubmitSmResp(), sequence, status)
            return
        try:
            concatenation, payload = message_parts(submit)
        except UserDataError:
            self.stats.refused += 1
            session.send(SubmitSmResp(), sequence, Status.ESME_RINVESMCLASS)
            return
        message_id = f"{self._id_prefix}{next(self._ids):08x}"
        self.stats.accepted += 1
        if not self._muted:
            session.send(SubmitSmResp(message_id), sequence)
        else:
            self._held_answers.append((session, sequence, message_id, 0))
        now = self.clock()
        part = ReceivedPart(
            message_id,
            session.system_id,
            submit.source,
            submit.destination,
            submit.data_coding,
            concatenation,
            payload,
            submit.registered_delivery,
            parse_time(submit.validity_period, now) if submit.validity_period else None,
        )
        if self.settings.record:
            self.parts.append(part)
            self._reassemble(part)
        self._receipt(part, now)

    def _refusal(self, session: _Session, submit: SubmitSm) -> int:
        if session.mode not in (BindMode.TRANSCEIVER, BindMode.TRANSMITTER):
            self.stats.refused += 1
            return Status.ESME_RINVBNDSTS
        if session.bucket is not None and not session.bucket.try_take(session._loop.time()):
            self.stats.throttled += 1
            return Status.ESME_RTHROTTLED
        status = self._refusals.get(submit.destination.address, 0)
        if not status and not submit.destination.address:
            status = Status.ESME_RINVDSTADR
        if status:
            self.stats.refused += 1
        return status

    def _reassemble(self, part: ReceivedPart) -> None:
        concatenation = part.concatenation
        pieces: tuple[ReceivedPart, ...]
        if concatenation is None:
            pieces = (part,)
        else:
            key = (
                part.system_id,
                part.source.address,
                part.destination.address,
                concatenation.reference,
                concatenation.total,
            )
            received = self._partial.setdefault(key, {})
            received[concatenation.number] = part
            if len(received) < concatenation.total:
                return
            del self._partial[key]
            pieces = tuple(received[n] for n in range(1, concatenation.total + 1))
        payload = b"".join(p.payload for p in pieces)
        self.messages.append(
            ReceivedMessage(
                part.source,
                part.destination,
                part.data_coding,
                decode_payload(part.data_coding, payload),
                tuple(p.message_id for p in pieces),
            )
        )

    # receipts --------------------------------------------------------------------------

    def _receipt(self, part: ReceivedPart, now: datetime) -> None:
        """Queue the part's receipt: EXPIRED when its validity ends before the receipt delay,
        UNDELIV for `failure_rate` of the others, else DELIVRD. Dates in UTC."""
        settings = self.settings
        done_at = now + timedelta(seconds=settings.receipt_delay)
        state = MessageState.DELIVERED
        if part.valid_until is not None and part.valid_until < done_at:
            state = MessageState.EXPIRED
        elif settings.failure_rate > 0 and self._random.random() < settings.failure_rate:
            state = MessageState.UNDELIVERABLE
        failed = state != MessageState.DELIVERED
        wanted = part.registered_delivery & 0x03
        if wanted != 1 and not (wanted == 2 and failed):
            return
        submitted_at = now.replace(tzinfo=None, microsecond=0)
        snippet = _NOT_RECEIPT_TEXT.sub(
            "?", decode_payload(part.data_coding, part.payload[:40])[:20]
        )
        text_id = str(int(part.message_id, 16)) if settings.receipt_decimal_ids else part.message_id
        text = format_receipt_text(
            text_id,
            state,
            submitted_at,
            done_at.replace(tzinfo=None, microsecond=0),
            error=1 if state == MessageState.UNDELIVERABLE else 0,
            text=snippet,
            seconds=settings.receipt_seconds,
        )
        tlvs: tuple[Tlv, ...] = ()
        if settings.receipt_tlvs:
            tlvs = (
                Tlv(Tag.RECEIPTED_MESSAGE_ID, part.message_id.encode("ascii") + b"\0"),
                Tlv(Tag.MESSAGE_STATE, bytes((state,))),
            )
            if state == MessageState.UNDELIVERABLE:
                tlvs += (Tlv(Tag.NETWORK_ERROR_CODE, bytes((3, 0, 1))),)
        pdu = DeliverSm(
            part.destination, part.source, text.encode("ascii"), esm_class=RECEIPT, tlvs=tlvs
        )
        self.stats.receipts_queued += 1
        self._queue(_Delivery(part.system_id, pdu), settings.receipt_delay)

    # deliveries: receipts and replies, sent to a bound session until acknowledged ------

    def _queue(self, delivery: _Delivery, delay: float) -> None:
        due = asyncio.get_running_loop().time() + delay
        heap = self._due_replies if delivery.reply else self._due
        heapq.heappush(heap, (due, next(self._order), delivery))
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _receiver(self, system_id: str) -> _Session | None:
        best: _Session | None = None
        for session in self._sessions:
            load = len(session.in_flight)
            if (
                session.receives
                and session.system_id == system_id
                and load < DELIVERY_WINDOW
                and (best is None or load < len(best.in_flight))
            ):
                best = session
        return best

    def _ready(self, now: float) -> list[tuple[float, int, _Delivery]] | None:
        """The heap whose first delivery is due, replies first."""
        for heap in (self._due_replies, self._due):
            if heap and heap[0][0] <= now:
                return heap
        return None

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while (heap := self._ready(now)) is not None:
                delivery = heap[0][2]
                session = self._receiver(delivery.system_id)
                if session is None:
                    break  # nobody to take it yet: a bind or an answer wakes the pump
                heapq.heappop(heap)
                sequence = session.next_sequence()
                try:
                    session.send(delivery.pdu, sequence)
                except PduError as error:  # cannot be sent, ever: drop it, keep delivering
                    log.error("deliver_sm dropped: %s", error)
                    if delivery.done is not None and not delivery.done.done():
                        delivery.done.set_exception(error)
                    continue
                session.in_flight[sequence] = (delivery, now + self.settings.response_timeout)
                self.stats.deliveries_sent += 1
            self._waiter = loop.create_future()
            timer = None
            later = [heap[0][0] for heap in (self._due_replies, self._due) if heap]
            if later and min(later) > now:
                timer = loop.call_later(min(later) - now, self._wake)
            await self._waiter
            if timer is not None:
                timer.cancel()

    def _answered(self, session: _Session, sequence: int, status: int) -> None:
        entry = session.in_flight.pop(sequence, None)
        if entry is None:
            return
        delivery = entry[0]
        if is_transient(status) or status == Status.ESME_RINVCMDID:
            self._redeliver(delivery)
        elif status:
            self.stats.deliveries_refused += 1
            if delivery.done is not None and not delivery.done.done():
                delivery.done.set_exception(DeliveryRefusedError(status))
        else:
            self.stats.deliveries_acked += 1
            if delivery.done is not None and not delivery.done.done():
                delivery.done.set_result(None)
        self._wake()

    def _redeliver(self, delivery: _Delivery) -> None:
        self.stats.redeliveries += 1
        self._queue(delivery, self.settings.redeliver_after)

    def _session_lost(self, session: _Session) -> None:
        self._connections.discard(session)
        self._sessions.discard(session)
        for delivery, _ in session.in_flight.values():
            self._redeliver(delivery)
        session.in_flight.clear()

    async def _sweep(self) -> None:
        """Deliver again what a session left unanswered too long."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.settings.response_timeout / 2))
            now = loop.time()
            for session in list(self._sessions):
                late = [s for s, (_, deadline) in session.in_flight.items() if deadline <= now]
                for sequence in late:
                    self._redeliver(session.in_flight.pop(sequence)[0])
