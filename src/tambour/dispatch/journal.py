"""What a worker writes down, in one transaction a flush (worker.py decides when): the submit
results, receipts and replies that came meanwhile, and the audit entries naming what it sent.
In the same transaction, the campaigns whose messages it settled are looked at once each: one
with nothing left queued, in flight or unknown is over (services/outbox.end_campaigns).

It also keeps what makes those writes cheap: the parts it committed lately (their receipts need
no look-up), when receipts that came before their part may be waiting, and when PostgreSQL's
statistics of the tables it fills need refreshing. Runs on the worker's flush thread; what the
worker's loop must learn comes back as a `Written`, applied there once committed.
"""

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from tambour.dispatch.inbound import Inbound
from tambour.dispatch.receipts import Receipt
from tambour.dispatch.replies import Reply
from tambour.dispatch.transports.base import OutboundMessage
from tambour.rules.replies import ReplyKind
from tambour.services import audit, outbox
from tambour.services.outbox import Claimed, Finished, Held, Submitted
from tambour.services.replies import record_replies
from tambour.store.bulk import refresh_statistics
from tambour.store.tables import FINAL_STATES

RECENT_PARTS = 100_000  # parts remembered for their receipts (about 20 MB)
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

    def __len__(self) -> int:
        return len(self.submitted) + len(self.finished) + len(self.held) + len(self.inbound)

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
        self.recent_parts: dict[str, outbox.Part] = {}  # committed lately, by carrier key
        self._parts_written = 0
        self._analyze_at = FIRST_ANALYZE
        self._next_sweep = 0.0  # monotonic time of the next sweep of early receipts
        self._early_until = 0.0  # monotonic: until then, recorded parts look for early receipts

    def write(self, conn: Connection, pending: Pending) -> Written:
        """Write `pending` within the caller's transaction."""
        now = self.clock()
        early = time.monotonic() < self._early_until
        touched: dict[int, int] = {}  # messages receipts settled: outbox id -> campaign id
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
        receipts = pending.receipts
        if receipts and outbox.record_receipts(conn, now, receipts, self.recent_parts, touched):
            # Some came before their part: look for them when parts are recorded, a while.
            self._early_until = time.monotonic() + EARLY_WATCH
        # Before any audit entry: a campaign's row, then the audit log's lock, in the order
        # `campaign cancel` takes them (the other order could deadlock on PostgreSQL).
        self._end_campaigns(conn, now, pending, touched)
        confirmations: list[OutboundMessage] = []
        stopped: list[tuple[int, str]] = []
        replies = pending.replies
        if replies:
            effects = record_replies(
                conn, replies, now=now, actor=self.actor, confirm=self.confirm_stop
            )
            confirmations = [e.confirmation for e in effects if e.confirmation is not None]
            for effect in effects:
                if effect.reply.kind is ReplyKind.STOP and effect.reply.sender:
                    stopped += [(a, effect.reply.sender) for a in effect.advertiser_ids]
        for (advertiser_id, campaign_id), notes in pending.audit.items():
            audit.append(
                conn,
                actor=self.actor,
                action="dispatch.batch",
                advertiser_id=advertiser_id,
                details={
                    "campaign_id": campaign_id,
                    "worker": self.worker,
                    **{what: audit.id_ranges(ids) for what, ids in sorted(notes.items())},
                },
                at=now,
            )
        return Written(len(receipts), len(replies), confirmations, stopped)

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
        missing = [outbox_id for outbox_id, campaign_id in touched.items() if not campaign_id]
        if missing:  # settled by receipts for parts this worker does not remember
            campaign_of = {s.id: s.campaign_id for s in pending.submitted}
            candidates.update(campaign_of[i] for i in missing if campaign_of.get(i))
            candidates |= outbox.campaigns_of(conn, [i for i in missing if not campaign_of.get(i)])
        for message in pending.submitted:  # usually the first says enough
            if not candidates:
                return
            if message.id not in touched:
                candidates.discard(message.campaign_id)
        if candidates:
            outbox.end_campaigns(conn, now, self.actor, candidates)

    def remember_parts(self, submitted: Sequence[Submitted]) -> None:
        """The parts just committed, by key: their receipts need no look-up (the oldest are
        forgotten past RECENT_PARTS; a receipt for one is then looked up)."""
        recent = self.recent_parts
        for message in submitted:
            of_parts = len(message.carrier_keys)
            for number, key in enumerate(message.carrier_keys, 1):
                recent[key] = outbox.Part(message.id, number, of_parts, message.campaign_id)
        if len(recent) > RECENT_PARTS:
            for key in list(itertools.islice(recent, len(recent) - RECENT_PARTS // 2)):
                del recent[key]
