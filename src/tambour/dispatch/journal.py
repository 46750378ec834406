"""What a worker writes down, in one transaction a flush (worker.py decides when): the submit
results, receipts and replies that came meanwhile, and the audit entries naming what it sent.
In the same transaction, the campaigns whose messages it settled are looked at once each: one
with nothing left queued, in flight or unknown is over (services/outbox.end_campaigns).

It also keeps what makes those writes cheap: when receipts that came before their part may be
waiting, and when PostgreSQL's statistics of the tables it fills need refreshing. (It does not
remember parts to spare their receipts a look-up: carriers reuse ids, and only the database
knows the most recent part with an id, whichever worker recorded it.) Runs on the worker's
flush thread; what the worker's loop must learn comes back as a `Written`, applied there once
committed.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from tambour.dispatch.inbound import Inbound
from tambour.rules.replies import ReplyKind
from tambour.services import audit, outbox
from tambour.services.message_events import emit_message_events
from tambour.services.outbox import Claimed, Finished, Held, Late, Submitted
from tambour.services.replies import record_replies
from tambour.services.webhooks import Subscriptions
from tambour.store.bulk import refresh_statistics
from tambour.store.tables import FINAL_STATES
from tambour.traffic import OutboundMessage, Receipt, Reply

SWEEP_EVERY = 0.25  # seconds between looks for receipts another worker stored early
EARLY_WATCH = 10.0  # seconds recorded parts look for early receipts after one was stored
FIRST_ANALYZE = 5_000  # parts written before the first refresh of statistics; then doubling

Notes = dict[tuple[int, int], dict[str, list[int]]]  # (advertiser, campaign): what: ids
_FINAL = frozenset(FINAL_STATES)


@dataclass
class Pending:
    """What the flusher writes next."""

    submitted: list[Submitted] = field(default_factory=list)
    finished: list[Finished] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    # receipts and replies, each with the future that acknowledges it to the carrier
    inbound: list[tuple[Inbound, "asyncio.Future[None]"]] = field(default_factory=list)
    audit: Notes = field(default_factory=dict)
    # Campaigns a message of which reached a final state (recorded, failed, cancelled...):
    # each may be over once this is written.
    settling: set[int] = field(default_factory=set)
    # Messages in doubt the carrier answered late (after their `unknown` is written)
    late: list[Late] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.submitted) + len(self.finished) + len(self.held) + len(self.inbound)
            + len(self.late)
        )  # fmt: skip

    @property
    def results(self) -> int:
        return len(self.submitted) + len(self.finished) + len(self.held)

    @property
    def receipts(self) -> list[Receipt]:
        return [item for item, _ in self.inbound if isinstance(item, Receipt)]

    @property
    def replies(self) -> list[Reply]:
        return [item for item, _ in self.inbound if not isinstance(item, Receipt)]

    def note(self, message: Claimed, what: str) -> None:
        key = (message.advertiser_id, message.campaign_id)
        self.audit.setdefault(key, {}).setdefault(what, []).append(message.id)
        if what in _FINAL:
            self.settling.add(message.campaign_id)


def merge_notes(into: Notes, notes: Notes) -> None:
    for key, by_what in notes.items():
        for what, ids in by_what.items():
            into.setdefault(key, {}).setdefault(what, []).extend(ids)


@dataclass(frozen=True, slots=True)
class Written:
    """What a committed flush tells the worker's loop."""

    receipts: int
    replies: int
    confirmations: list[OutboundMessage]  # STOP confirmations to send
    stopped: list[tuple[int, str]]  # (advertiser, number) that replied STOP


class Journal:
    def __init__(
        self, *, worker: str, actor: str, confirm_stop: bool, clock: Callable[[], datetime]
    ) -> None:
        self.worker = worker
        self.actor = actor
        self.confirm_stop = confirm_stop
        self.clock = clock
        self._parts_written = 0
        self._analyze_at = FIRST_ANALYZE
        self._next_sweep = 0.0  # monotonic time of the next sweep of early receipts
        self._early_until = 0.0  # monotonic: until then, recorded parts look for early receipts
        self.subscriptions = Subscriptions()  # who wants message.* webhooks (few look-ups)

    def write(self, conn: Connection, pending: Pending) -> Written:
        """Write `pending` within the caller's transaction."""
        now = self.clock()
        early = time.monotonic() < self._early_until
        touched: dict[int, int] = {}  # messages receipts settled: outbox id -> campaign id
        settled: list[int] = []  # messages receipts brought to their final state
        outbox.record_submitted(
            conn, self.worker, now, pending.submitted, early=early, touched=touched
        )
        self._parts_written += sum(len(s.carrier_keys) for s in pending.submitted)
        if self._parts_written >= self._analyze_at:
            # outbox_parts grows by a campaign's size within minutes, and outbox's states move,
            # faster than autovacuum looks: without fresh statistics PostgreSQL read receipts'
            # parts by scanning the table, and settled receipts through every `submitted` row
            # of a partial index it believed nearly empty (bench_dispatch.py). Each time this
            # worker has doubled what it wrote.
            refresh_statistics(conn, "outbox_parts", "outbox")
            self._analyze_at *= 2
        if time.monotonic() >= self._next_sweep:
            outbox.sweep_early_receipts(conn, now, touched)
            self._next_sweep = time.monotonic() + SWEEP_EVERY
        outbox.finish(conn, self.worker, now, pending.finished)
        outbox.hold(conn, self.worker, now, pending.held)
        outbox.settle_late(conn, now, pending.late)
        receipts = pending.receipts
        if receipts and outbox.record_receipts(conn, now, receipts, touched, settled):
            # Some came before their part: look for them when parts are recorded, a while.
            self._early_until = time.monotonic() + EARLY_WATCH
        # Before any audit entry: a campaign's row, then the audit log's lock, in the order
        # `campaign cancel` takes them (the other order could deadlock on PostgreSQL).
        self._end_campaigns(conn, now, pending, touched)
        replies = self.write_replies(conn, pending.replies, now)
        emit_message_events(
            conn,
            now,
            [*(s.id for s in pending.submitted), *(m.id for m in pending.late if m.carrier_keys)],
            [*(f.id for f in pending.finished), *settled],
            self.subscriptions,
        )
        for campaign, notes in pending.audit.items():
            outbox.audit_dispatch(
                conn, now, self.actor, "dispatch.batch", campaign, worker=self.worker,
                **{what: audit.id_ranges(ids) for what, ids in sorted(notes.items())},
            )  # fmt: skip
        return Written(len(receipts), replies.replies, replies.confirmations, replies.stopped)

    def write_replies(
        self, conn: Connection, replies: Sequence[Reply], now: datetime | None = None
    ) -> Written:
        """Record `replies` within the caller's transaction: the worker does it in one of
        their own, ahead of the receipts, so that a STOP is in force within a fraction of a
        second whatever the load (touches no outbox row: see worker.py)."""
        confirmations: list[OutboundMessage] = []
        stopped: list[tuple[int, str]] = []
        if replies:
            effects = record_replies(
                conn, replies, now=now or self.clock(), actor=self.actor, confirm=self.confirm_stop
            )
            confirmations = [e.confirmation for e in effects if e.confirmation is not None]
            for effect in effects:
                if effect.reply.kind is ReplyKind.STOP and effect.reply.sender:
                    stopped += [(a, effect.reply.sender) for a in effect.advertiser_ids]
        return Written(0, len(replies), confirmations, stopped)

    def _end_campaigns(
        self, conn: Connection, now: datetime, pending: Pending, touched: dict[int, int]
    ) -> None:
        """Look once at each campaign a message of which this flush settled: over when none
        is left queued, in flight or unknown. A campaign this flush has a message `submitted`
        in (its receipt still to come) is not, and costs no look: under load, most flushes.
        (When two workers on PostgreSQL settle a campaign's last two messages at once, neither
        sees the other's: an idle worker's look at every campaign catches it, worker.py.)"""
        candidates = set(pending.settling)
        candidates.update(touched.values())
        candidates.discard(0)
        for message in pending.submitted:  # usually the first says enough
            if not candidates:
                return
            if message.id not in touched:
                candidates.discard(message.campaign_id)
        if candidates:
            outbox.end_campaigns(conn, now, self.actor, candidates)
