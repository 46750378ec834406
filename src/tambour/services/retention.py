"""The retention run (issue 18; rules.md section 3 step 5): what may no longer be kept goes,
every day (the job runners' daily upkeep) or on demand (`tambour retention run [--dry-run]`).

- Contacts whose data lapsed as a whole (rules/retention.py `data_lapses_at`: 3 years after
  the latest of collection, last action, last purchase, membership and valid consent) are
  erased as a data request's erasure does (services/erasure.py): number, fields and texts go,
  the proof stays pseudonymised and the audit chain still verifies. Unlike an erasure the
  person asked for, the number is not put on the suppression list: a lapsed contact objected
  to nothing, and keeping a hash of every lapsed number for good would keep what the limit
  says to drop (a re-import of the old file lapses again by its own dates; an objection the
  person made stays on the list). A contact named by a data request still open waits for its
  answer (`waiting`).
- The texts of a campaign's messages and plan rows (personalised: they may name the person)
  once the campaign ended `texts_days` ago; the plan rows sealed again (the audit entry gives
  the change to each plan's sum of seals). The campaign's own text, a template, stays.
- The texts of replies older than `replies_days` (what a reply meant, a STOP, is kept).
- Short-link clicks older than `clicks_days` (services/clicks.py).
- Webhook events older than the texts' period, once none of their deliveries is pending.
- Consent form submissions never confirmed, after a day (they prove nothing).

The contacts are read a chunk at a time, each chunk decided and erased in one transaction that
holds the advertiser's import lock (PostgreSQL; SQLite's writers are serialised anyway): a fact
an import adds is either seen by the decision or recorded after the erasure, and two runners
never erase a contact twice. Every chunk that erased is audited with its rows; the run with its
counts. `--dry-run` reads only and says what would go.
"""

import re
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, update

from tambour.contacts.ledger import facts_of
from tambour.rules.codes import ContactKind, Reason
from tambour.rules.retention import data_lapses_at
from tambour.services import audit, clicks
from tambour.services.advertisers import Advertiser, by_ids
from tambour.services.context import Context
from tambour.services.erasure import (
    ERASED,
    TEXT_AT,
    erase_contacts,
    erase_numbers,
    generations,
    plan_generations,
    scrubbed_event,
)
from tambour.services.planner import chunk_bounds, read_events, read_time
from tambour.services.seals import PLAN_SEALED, Written, current_sealer, with_rows
from tambour.services.suppression import phone_hash
from tambour.services.views import View
from tambour.sms.phone import PhoneInfo
from tambour.store.bulk import driver_cursor, mark
from tambour.store.engine import reader
from tambour.store.tables import (
    advertisers,
    api_keys,
    campaigns,
    data_requests,
    form_submissions,
    idempotency_keys,
    link_clicks,
    outbox,
    plan_rows,
    replies,
    webhook_deliveries,
    webhook_events,
)

CHUNK: Final = 2000  # contacts decided and erased in one transaction
UNCONFIRMED_DAYS: Final = 1  # a form submission never confirmed is kept this long
_PENDING_DELIVERIES: Final = ("pending", "sending")
_REWRITE_BATCH: Final = 2000
_CONTACTS: Final = {
    "sqlite": "SELECT id, e164, kind, created_at FROM contacts NOT INDEXED WHERE"
    " advertiser_id = ? AND id >= ? AND id < ? AND e164 IS NOT NULL ORDER BY id",
    "postgresql": "SELECT id, e164, kind, created_at FROM contacts WHERE"
    " advertiser_id + 0 = %s AND id >= %s AND id < %s AND e164 IS NOT NULL ORDER BY id",
}
_NUMBER_IN_TEXT: Final = re.compile(r"\+[1-9][0-9]{6,14}")
_KINDS: Final = {kind.value: kind for kind in ContactKind}


@dataclass(frozen=True, slots=True)
class AdvertiserRetention(View):
    """What went (or, a dry run, would go) at one advertiser."""

    advertiser: str  # its slug
    contacts_read: int
    contacts_erased: int  # their data lapsed
    contacts_waiting: int  # lapsed, but named by a data request still open
    campaigns: int  # campaigns whose messages' texts went
    message_texts: int  # messages whose text went
    plan_texts: int  # plan rows whose text went
    replies: int  # replies whose text went
    webhook_events: int  # events deleted, or whose quote of an erased number went
    form_submissions: int  # submissions never confirmed, deleted


@dataclass(frozen=True, slots=True)
class RetentionReport(View):
    at: datetime
    dry_run: bool
    advertisers: tuple[AdvertiserRetention, ...]
    clicks: int  # short-link clicks erased (every advertiser's)
    seconds: float

    @property
    def contacts_erased(self) -> int:
        return sum(a.contacts_erased for a in self.advertisers)

    @property
    def contacts_read(self) -> int:
        return sum(a.contacts_read for a in self.advertisers)

    def counts(self) -> dict[str, int]:
        """Every count, added over the advertisers (what the audit entry says)."""
        totals: dict[str, int] = {}
        for each in self.advertisers:
            for name, value in each.as_dict().items():
                if isinstance(value, int):
                    totals[name] = totals.get(name, 0) + value
        return {**totals, "clicks": self.clicks}


def run(
    ctx: Context,
    *,
    dry_run: bool = False,
    slug: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RetentionReport:
    """Apply the retention limits to every advertiser (or the one of `slug`); `progress(n)`
    is told of each chunk of contacts read."""
    started = time.perf_counter()
    now, periods = ctx.now(), ctx.retention
    with reader(ctx.engine) as conn:
        query = select(advertisers.c.id).order_by(advertisers.c.id)
        if slug is not None:
            query = query.where(advertisers.c.slug == slug)
        ids = list(conn.execute(query).scalars())
        found = by_ids(conn, ids)
    done = []
    for advertiser_id in ids:
        advertiser = found[advertiser_id]
        lapsed = _Numbers()
        erased, waiting, read = _contacts(ctx, advertiser, now, dry_run, lapsed, progress)
        texts = _texts(ctx, advertiser, now - timedelta(days=periods.texts_days), dry_run)
        replied = _replies(ctx, advertiser, now - timedelta(days=periods.replies_days), dry_run)
        events = _events(ctx, advertiser, now - timedelta(days=periods.texts_days), dry_run, lapsed)
        forms = _unconfirmed(ctx, advertiser, now - timedelta(days=UNCONFIRMED_DAYS), dry_run)
        done.append(
            AdvertiserRetention(
                advertiser.slug, read, erased, waiting, *texts, replied, events, forms
            )
        )
    before = now - timedelta(days=periods.clicks_days)
    if dry_run:
        with reader(ctx.engine) as conn:
            gone = conn.execute(
                select(func.count()).where(link_clicks.c.clicked_at < before)
            ).scalar_one()
    else:
        gone = clicks.erase_expired(ctx, kept_days=periods.clicks_days).clicks
    report = RetentionReport(now, dry_run, tuple(done), gone, time.perf_counter() - started)
    if not dry_run:
        with ctx.engine.begin() as conn:
            audit.append(
                conn, actor=ctx.actor, action="retention.run", at=now,
                details={
                    "counts": report.counts(), "texts_days": periods.texts_days,
                    "replies_days": periods.replies_days, "clicks_days": periods.clicks_days,
                    "advertisers": [a.advertiser for a in done],
                },
            )  # fmt: skip
    return report


# --- contacts whose data lapsed ------------------------------------------------------------


class _Numbers:
    """The numbers a run erased, as sorted 64-bit hashes (8 bytes each, whatever the count),
    to find the webhook events that quote one. A collision only scrubs an event for nothing."""

    def __init__(self) -> None:
        self._hashes = array("q")
        self._sorted = True

    def add(self, number: str) -> None:
        self._hashes.append(hash(number))
        self._sorted = False

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def __contains__(self, number: str) -> bool:
        if not self._sorted:
            self._hashes = array("q", sorted(self._hashes))
            self._sorted = True
        key = hash(number)
        at = bisect_left(self._hashes, key)
        return at < len(self._hashes) and self._hashes[at] == key


def _contacts(
    ctx: Context, advertiser: Advertiser, now: datetime, dry_run: bool, lapsed: _Numbers,
    progress: Callable[[int], None] | None,
) -> tuple[int, int, int]:  # fmt: skip
    """Erase the advertiser's contacts whose data lapsed: (erased, waiting, read)."""
    with reader(ctx.engine) as conn:
        bounds = chunk_bounds(conn, advertiser.id, CHUNK)
        plans = plan_generations(conn, advertiser)
        waiting_hashes = set(
            conn.execute(
                select(data_requests.c.phone_hash).where(
                    data_requests.c.advertiser_id == advertiser.id,
                    data_requests.c.status == "open",
                    data_requests.c.phone_hash.is_not(None),
                )
            ).scalars()
        )
    erased = waiting = read = 0
    facts = advertiser.facts
    for lo, hi in bounds:
        with reader(ctx.engine) if dry_run else ctx.engine.begin() as conn:
            dialect = conn.dialect.name
            if not dry_run and dialect == "postgresql":  # the importer's lock (importer.py)
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock(1, {int(advertiser.id)})")
            cursor = driver_cursor(conn)
            cursor.execute(_CONTACTS[dialect], (advertiser.id, lo, hi))
            rows = cursor.fetchall()
            events, _ = read_events(cursor, dialect, advertiser.id, lo, hi)
            read += len(rows)
            chosen: list[tuple[int, str]] = []
            numbers: list[str] = []
            for contact_id, e164, kind, created_at in rows:
                contact = facts_of(
                    PhoneInfo(e164, True, True, None), _KINDS[kind], {},
                    events.get(contact_id, ()), first_seen_at=read_time(dialect, created_at),
                )  # fmt: skip
                if data_lapses_at(contact, facts, now) > now:
                    continue
                if waiting_hashes and phone_hash(advertiser, e164) in waiting_hashes:
                    waiting += 1
                    continue
                chosen.append((contact_id, kind))
                numbers.append(e164)
            erased += len(chosen)
            if chosen and not dry_run:
                _erase(conn, ctx, advertiser, chosen, numbers, plans, now)
                for number in numbers:
                    lapsed.add(number)
        if progress is not None:
            progress(len(rows))
    return erased, waiting, read


def _erase(
    conn: Connection, ctx: Context, advertiser: Advertiser, chosen: list[tuple[int, str]],
    numbers: list[str], plans: list[tuple[int, int]], now: datetime,
) -> None:  # fmt: skip
    written = Written()
    done = erase_contacts(
        conn, advertiser, chosen, now=now, actor=ctx.actor, origin="retention",
        written=written, cancelled_for=Reason.RETENTION_EXPIRED, plans=plans,
    )  # fmt: skip
    answered = erase_numbers(conn, advertiser, numbers)
    audit.append(
        conn, actor=ctx.actor, action="retention.contacts_erased", at=now,
        advertiser_id=advertiser.id,
        details=with_rows({
            "contacts": len(chosen), "evidence": done.evidence, "plan_rows": done.plan_rows,
            "messages": done.messages, "cancelled": done.cancelled, "replies": answered,
            "clicks": done.clicks,
        }, written),
    )  # fmt: skip


# --- texts past their period ---------------------------------------------------------------


def _texts(
    ctx: Context, advertiser: Advertiser, before: datetime, dry_run: bool
) -> tuple[int, int, int]:
    """Remove the messages' and plan rows' texts of the campaigns that ended before `before`:
    (campaigns, messages, plan rows). One transaction a campaign."""
    ended = func.coalesce(campaigns.c.finished_at, campaigns.c.cancelled_at)
    with reader(ctx.engine) as conn:
        found = conn.execute(
            select(campaigns.c.id, campaigns.c.kind).where(
                campaigns.c.advertiser_id == advertiser.id,
                campaigns.c.texts_erased_at.is_(None),
                ended < before,
                or_(campaigns.c.status == "cancelled", campaigns.c.finished_at.is_not(None)),
            )
        ).all()
    messages = rows = 0
    for campaign_id, kind in found:
        with reader(ctx.engine) if dry_run else ctx.engine.begin() as conn:
            if dry_run:
                messages += _count(conn, outbox, outbox.c.campaign_id == campaign_id)
                rows += _count(
                    conn, plan_rows, (plan_rows.c.campaign_id == campaign_id)
                    & plan_rows.c.text.is_not(None),
                )  # fmt: skip
                continue
            sent = conn.execute(
                update(outbox)
                .where(outbox.c.campaign_id == campaign_id, outbox.c.text != ERASED)
                .values(text=ERASED)
            ).rowcount
            written = Written()
            rewritten = _plan_texts(conn, campaign_id, written)
            values: dict[str, Any] = {"texts_erased_at": ctx.now()}
            if kind == "message":  # sent by itself: its text is the person's message
                values["text"] = ERASED
            conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(**values))
            audit.append(
                conn, actor=ctx.actor, action="retention.texts_erased", at=ctx.now(),
                advertiser_id=advertiser.id,
                details=with_rows(
                    {"campaign_id": campaign_id, "messages": sent, "plan_rows": rewritten},
                    written,
                ),
            )  # fmt: skip
            messages += sent
            rows += rewritten
    return len(found), messages, rows


def _plan_texts(conn: Connection, campaign_id: int, written: Written) -> int:
    """The campaign's plan rows with a text, every generation, without it and sealed again,
    read and written a batch at a time (a plan may have millions of rows)."""
    q = mark(conn)
    seal = current_sealer().plan_row
    reading, writing = driver_cursor(conn), driver_cursor(conn)
    total = 0
    for generation in generations(conn, campaign_id):
        after = -1
        while True:
            reading.execute(
                f"SELECT {', '.join(PLAN_SEALED)}, seal FROM plan_rows WHERE campaign_id = {q}"
                f" AND generation = {q} AND contact_id > {q} AND text IS NOT NULL"
                f" ORDER BY contact_id LIMIT {_REWRITE_BATCH}",
                [campaign_id, generation, after],
            )
            batch = reading.fetchall()
            if not batch:
                break
            updates = []
            for found in batch:
                row = [bytes(v) if isinstance(v, memoryview) else v for v in found]
                old = row.pop()
                row[TEXT_AT] = None
                new = seal(row)
                updates.append((new, campaign_id, generation, row[2]))
                written.rewrote(campaign_id, generation, None if old is None else bytes(old), new)
            writing.executemany(
                f"UPDATE plan_rows SET text = NULL, seal = {q} "
                f"WHERE campaign_id = {q} AND generation = {q} AND contact_id = {q}",
                updates,
            )
            total += len(updates)
            after = int(batch[-1][2])
    return total


def _count(conn: Connection, table: Any, where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


# --- replies, webhook events, form submissions ---------------------------------------------


def _replies(ctx: Context, advertiser: Advertiser, before: datetime, dry_run: bool) -> int:
    where = and_(
        replies.c.advertiser_id == advertiser.id,
        replies.c.received_at < before,
        replies.c.text != ERASED,
    )
    if dry_run:
        with reader(ctx.engine) as conn:
            return _count(conn, replies, where)
    with ctx.engine.begin() as conn:
        gone = int(conn.execute(update(replies).where(where).values(text=ERASED)).rowcount)
        if gone:
            audit.append(
                conn, actor=ctx.actor, action="retention.replies_erased", at=ctx.now(),
                advertiser_id=advertiser.id,
                details={"replies": gone, "before": before.isoformat()},
            )  # fmt: skip
    return gone


def _events(
    ctx: Context, advertiser: Advertiser, before: datetime, dry_run: bool, lapsed: _Numbers
) -> int:
    """Webhook events older than `before` whose deliveries are over: deleted with them. Then
    the advertiser's other events, and the API answers kept for retries, that quote a number
    this run erased: scrubbed (one pass, whatever the number of erased contacts)."""
    mine = webhook_events.c.advertiser_id == advertiser.id
    pending = exists().where(
        webhook_deliveries.c.event_id == webhook_events.c.id,
        webhook_deliveries.c.state.in_(_PENDING_DELIVERIES),
    )
    old = select(webhook_events.c.id).where(mine, webhook_events.c.created_at < before, ~pending)
    if dry_run:
        with reader(ctx.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(old.subquery())).scalar_one())
    with ctx.engine.begin() as conn:
        ids = list(conn.execute(old).scalars())
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.event_id.in_(chunk)))
            conn.execute(delete(webhook_events).where(webhook_events.c.id.in_(chunk)))
        scrubbed = 0
        if lapsed:
            scrubbed = _scrub(conn, advertiser, lapsed)
        if ids or scrubbed:
            audit.append(
                conn, actor=ctx.actor, action="retention.events_erased", at=ctx.now(),
                advertiser_id=advertiser.id,
                details={"deleted": len(ids), "scrubbed": scrubbed, "before": before.isoformat()},
            )  # fmt: skip
    return len(ids) + scrubbed


def _scrub(conn: Connection, advertiser: Advertiser, lapsed: _Numbers) -> int:
    scrubbed = 0
    found = conn.execute(
        select(webhook_events.c.id, webhook_events.c.body).where(
            webhook_events.c.advertiser_id == advertiser.id
        )
    )
    changes = []
    for event_id, body in found:
        content = bytes(body)
        quoted = [n for n in set(_NUMBER_IN_TEXT.findall(content.decode())) if n in lapsed]
        for number in quoted:
            content = scrubbed_event(content, number)
        if quoted:
            changes.append((event_id, content))
    for event_id, content in changes:
        conn.execute(
            update(webhook_events).where(webhook_events.c.id == event_id).values(body=content)
        )
        scrubbed += 1
    keys = select(api_keys.c.id).where(api_keys.c.advertiser_id == advertiser.id)
    stored = conn.execute(
        select(idempotency_keys.c.api_key_id, idempotency_keys.c.key, idempotency_keys.c.body)
        .where(idempotency_keys.c.api_key_id.in_(keys), idempotency_keys.c.body.is_not(None))
    ).all()  # fmt: skip
    for key_id, key, body in stored:
        if any(n in lapsed for n in _NUMBER_IN_TEXT.findall(bytes(body).decode(errors="replace"))):
            conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.api_key_id == key_id, idempotency_keys.c.key == key
                )
            )
    return scrubbed


def _unconfirmed(ctx: Context, advertiser: Advertiser, before: datetime, dry_run: bool) -> int:
    where = and_(
        form_submissions.c.advertiser_id == advertiser.id,
        form_submissions.c.confirmed_at.is_(None),
        form_submissions.c.submitted_at < before,
    )
    if dry_run:
        with reader(ctx.engine) as conn:
            return _count(conn, form_submissions, where)
    with ctx.engine.begin() as conn:
        return int(conn.execute(delete(form_submissions).where(where)).rowcount)
