"""Short links followed (issue 17): where a code leads, and the clicks recorded.

The redirect answers from a look-up (links never change once made: remembered in memory), and
hands the click to a `ClickRecorder`, which writes them in batches off the request path (a
thread, every quarter of a second or 500 clicks) and writes what is left when closed (a clean
shutdown loses none). A batch is one transaction: the clicks with their message (outbox id),
the bots, prefetches and scanners flagged (rules/clicks.py: a follow within a second of the
message leaving is a carrier's scanner), a person's click as the contact's activity of the day
(rules.md: `last_activity_at`, never consent), and the `link.clicked` webhook event of each
person's click. Clicks are erased after `clicks_kept_days` (erase_expired: the job runners
daily, `tambour links erase-clicks`), audited with the count.
"""

import contextlib
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, Engine, delete, insert, select, tuple_

from tambour.contacts.ledger import Evidence, EvidenceKind
from tambour.keys import Keys
from tambour.rules.clicks import Bot, too_soon
from tambour.services import audit
from tambour.services.context import Context
from tambour.services.ledger_writes import insert_evidence
from tambour.services.link_codes import LinkCodes
from tambour.services.seals import Written, with_rows
from tambour.services.views import View
from tambour.services.webhooks import Event, Subscriptions, emit
from tambour.store.bulk import copy_time
from tambour.store.tables import evidence, link_clicks, outbox

log = logging.getLogger("tambour.clicks")
BATCH: Final = 500
FLUSH_SECONDS: Final = 0.25
REMEMBERED: Final = 100_000  # links kept in memory by a resolver
AGENT_CHARS: Final = 300
ACTOR: Final = "public:link"  # the recipient, through a link


class LinkTarget(NamedTuple):
    link_id: int
    advertiser_id: int
    campaign_id: int
    contact_id: int
    target: str
    territory: str | None
    variant: str | None


class Resolver:
    """Codes to their links, remembered (a link never changes; a dropped plan's links were
    never sent). Thread-safe."""

    def __init__(self, engine: Engine, keys: Callable[[], Keys], size: int = REMEMBERED) -> None:
        self.engine, self.keys, self.size = engine, keys, size
        self._codes: tuple[Keys, LinkCodes] | None = None
        self._known: OrderedDict[int, LinkTarget] = OrderedDict()
        self._lock = threading.Lock()
        self._raw: Any = None  # the resolver's own connection (the event loop's only)
        self._sql = ""

    @property
    def codes(self) -> LinkCodes:
        """The codes under the installation's key as it is now (read from the database once
        the server is ready: a rotation's kept key)."""
        keys = self.keys()
        if self._codes is None or self._codes[0] is not keys:
            self._codes = (keys, LinkCodes.for_keys(keys))
        return self._codes[1]

    def remembered(self, code: str) -> LinkTarget | bool | None:
        """The link of `code` if remembered, None if `code` is no code, True to look it up."""
        link_id = self.codes.link_id(code)
        if link_id is None:
            return None
        with self._lock:
            found = self._known.get(link_id)
            if found is not None:
                self._known.move_to_end(link_id)
                return found
        return True

    def look_up(self, code: str) -> LinkTarget | None:
        """The short link of `code`, from the database (and remembered). Called on the event
        loop itself: one primary-key read on a connection of the resolver's own, kept open and
        in autocommit, costs less than the hop to a worker thread and a pool checkout it
        would otherwise take (issue 17: a campaign's clicks are first clicks, each a read)."""
        link_id = self.codes.link_id(code)
        if link_id is None:
            return None
        row = self._read(link_id)
        if row is None:
            return None
        found = LinkTarget(*row)
        with self._lock:
            self._known[link_id] = found
            if len(self._known) > self.size:
                self._known.popitem(last=False)
        return found

    def _read(self, link_id: int) -> Any:
        for attempt in (1, 2):  # a connection the server dropped is opened again, once
            try:
                cursor = self._connection().cursor()
                try:
                    cursor.execute(self._sql, (link_id,))
                    return cursor.fetchone()
                finally:
                    cursor.close()
            except self.engine.dialect.loaded_dbapi.Error:
                self._drop()
                if attempt == 2:
                    raise
        return None

    def _connection(self) -> Any:
        if self._raw is None:
            raw = self.engine.raw_connection()
            driver = raw.driver_connection
            if self.engine.dialect.name == "postgresql":
                driver.autocommit = True  # type: ignore[union-attr]
            mark = "%s" if self.engine.dialect.name == "postgresql" else "?"
            self._sql = (
                "SELECT id, advertiser_id, campaign_id, contact_id, target, territory, variant "
                f"FROM message_links WHERE id = {mark} AND kind = 'go'"
            )
            self._raw = raw
        return self._raw.driver_connection

    def _drop(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):  # already gone: nothing to give back
                raw.invalidate()

    def close(self) -> None:
        """Give back the resolver's connection (the server stops)."""
        self._drop()


class Click(NamedTuple):
    link: LinkTarget
    at: datetime
    ip: str | None  # truncated
    user_agent: str | None
    bot: Bot | None


def write_clicks(
    conn: Connection, clicks: list[Click], now: datetime, subscriptions: Subscriptions | None
) -> int:
    """Record `clicks` in the caller's transaction; returns how many were people's."""
    if not clicks:
        return 0
    pairs = sorted({(c.link.campaign_id, c.link.contact_id) for c in clicks})
    sent: dict[tuple[int, int], tuple[int, datetime | None]] = {
        (row.campaign_id, row.contact_id): (row.id, row.submitted_at)
        for row in conn.execute(
            select(
                outbox.c.id, outbox.c.campaign_id, outbox.c.contact_id, outbox.c.submitted_at
            ).where(tuple_(outbox.c.campaign_id, outbox.c.contact_id).in_(pairs))
        )
    }
    rows, people = [], []
    for click in clicks:
        link = click.link
        message_id, submitted_at = sent.get((link.campaign_id, link.contact_id), (None, None))
        bot = click.bot or (Bot.TOO_SOON if too_soon(click.at, submitted_at) else None)
        rows.append(
            {
                "advertiser_id": link.advertiser_id, "campaign_id": link.campaign_id,
                "link_id": link.link_id, "outbox_id": message_id, "variant": link.variant,
                "territory": link.territory, "clicked_at": click.at, "ip": click.ip,
                "user_agent": (click.user_agent or "")[:AGENT_CHARS] or None,
                "bot": bot and bot.value,
            }
        )  # fmt: skip
        if bot is None:
            people.append((click, message_id))
    conn.execute(insert(link_clicks), rows)
    _activity(conn, [c for c, _ in people], now)
    emit(
        conn,
        [
            Event(
                c.link.advertiser_id,
                "link.clicked",
                {
                    "campaign_id": c.link.campaign_id,
                    "message_id": message_id,
                    "url": c.link.target,
                    "territory": c.link.territory,
                    "variant": c.link.variant,
                    "at": c.at.isoformat(),
                },
            )
            for c, message_id in people
        ],
        now,
        subscriptions,
    )
    return len(people)


def _activity(conn: Connection, people: list[Click], now: datetime) -> None:
    """A person's click is their action of the day (`last_activity_at`, the retention
    clock), recorded once a day and contact; never consent."""
    facts: dict[tuple[int, int], Evidence] = {}
    for click in people:
        day = click.at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        key = (click.link.advertiser_id, click.link.contact_id)
        facts.setdefault(key, Evidence(EvidenceKind.ACTIVITY, day, {"source": "click"}))
    if not facts:
        return
    known = {
        (row.advertiser_id, row.contact_id, bytes(row.fingerprint))
        for row in conn.execute(
            select(evidence.c.advertiser_id, evidence.c.contact_id, evidence.c.fingerprint).where(
                tuple_(evidence.c.advertiser_id, evidence.c.contact_id).in_(sorted(facts)),
                evidence.c.kind == EvidenceKind.ACTIVITY.value,
            )
        )
    }
    dialect = conn.dialect.name
    by_advertiser: dict[int, list[tuple[Any, ...]]] = {}
    for (advertiser_id, contact_id), fact in facts.items():
        if (advertiser_id, contact_id, fact.fingerprint) in known:
            continue
        by_advertiser.setdefault(advertiser_id, []).append(
            (advertiser_id, contact_id, fact.kind.value, copy_time(dialect, _day(fact)),
             fact.data_json, fact.fingerprint, "click", copy_time(dialect, now), ACTOR)
        )  # fmt: skip
    for advertiser_id, rows in by_advertiser.items():
        written = Written(evidence=insert_evidence(conn, rows))
        audit.append(
            conn,
            actor=ACTOR,
            action="link.activity",
            advertiser_id=advertiser_id,
            details=with_rows({"contacts": len(rows)}, written),
            at=now,
        )


class ClickRecorder:
    """Clicks queued by the redirects, written by a thread of its own in batches."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.subscriptions = Subscriptions()
        self._queue: deque[Click] = deque()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="click-writer", daemon=True)
        self._thread.start()

    def add(self, click: Click) -> None:
        self._queue.append(click)
        if len(self._queue) >= BATCH:
            self._wake.set()

    def _batch(self) -> list[Click]:
        taken: list[Click] = []
        while self._queue and len(taken) < 5 * BATCH:
            taken.append(self._queue.popleft())
        return taken

    def flush(self) -> int:
        """Write what is queued now; returns how many clicks were written."""
        done = 0
        while batch := self._batch():
            try:
                with self.ctx.engine.begin() as conn:
                    write_clicks(conn, batch, self.ctx.now(), self.subscriptions)
            except Exception:
                log.exception("clicks not written; kept for the next try")
                self._queue.extendleft(reversed(batch))
                raise
            done += len(batch)
        return done

    def _run(self) -> None:
        while not self._closing.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # logged by flush; tried again at the next turn
                self._closing.wait(1.0)

    def close(self) -> None:
        """Stop the thread and write every click still queued."""
        self._closing.set()
        self._wake.set()
        self._thread.join()
        self.flush()


@dataclass(frozen=True, slots=True)
class Erased(View):
    clicks: int
    before: datetime


def erase_expired(ctx: Context, *, kept_days: int | None = None) -> Erased:
    """Erase the clicks older than `kept_days` (default: the installation's setting); audited
    with the count when any went."""
    now = ctx.now()
    before = now - timedelta(days=kept_days or ctx.links.clicks_kept_days)
    with ctx.engine.begin() as conn:
        gone = conn.execute(delete(link_clicks).where(link_clicks.c.clicked_at < before)).rowcount
        if gone:
            audit.append(
                conn,
                actor=ctx.actor,
                action="link.clicks_erased",
                details={"clicks": gone, "before": before.isoformat()},
                at=now,
            )
    return Erased(gone, before)


def _day(fact: Evidence) -> datetime:
    assert fact.at is not None
    return fact.at
