"""A launched campaign while it sends, as its live page shows it: its messages by state and why
those that did not reach the phone did not (the figures `tambour campaign status` prints), the
replies its recipients sent since the launch, and its messages delivered and failed over time.

`live` is what the page polls every 2 s, so it reads indexes only, whatever the campaign's
size: its messages counted by state through the (campaign, state) index alone (the campaign is
found under its advertiser first; its id alone then names its messages: a filter on their
advertiser too would read every row), the reasons of the few that failed, expired, were
withdrawn or are in doubt through the same index, and the replies through the replies'
(advertiser, received_at) index, kept when the number is a contact (its (advertiser, e164) key)
the campaign messaged (the outbox's (campaign, contact) key). Why queued messages are held, and
which carrier took what, are `tambour campaign status`'s: they read every message.

`timeline` reads the campaign's messages delivered and failed by minute of `done_at` (when
their fate was known) from `message_minutes`, which the outbox's triggers keep (services/
message_minutes.py): a row per minute that saw messages settle, whatever the campaign's size;
gathered here by hour or by day when the campaign lasts longer (a chart keeps a readable
number of bars). The page asks for it apart, every 30 s while the campaign sends.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, exists, func, literal, select

from tambour.services import message_minutes
from tambour.services.campaigns import Campaign, PlanFigures, locate, shown_status
from tambour.services.context import Context
from tambour.store.engine import reader
from tambour.store.tables import OUTBOX_STATES, contacts, outbox, replies

PARIS: Final = ZoneInfo("Europe/Paris")
FATES: Final = ("delivered", "failed")
UNDER_WAY: Final = ("queued", "submitting", "submitted")
# The states whose messages did not reach the phone, each with why (few, read row by row).
EXPLAINED: Final = ("failed", "expired", "cancelled", "unknown")
# The longest span shown by minute, then by hour; longer: by day (Paris days).
BY_MINUTE_UP_TO: Final = timedelta(hours=2)
BY_HOUR_UP_TO: Final = timedelta(hours=48)
LATEST_REPLIES: Final = 5


@dataclass(frozen=True, slots=True)
class Bucket:
    """The messages whose fate was known within [start, start + the timeline's unit)."""

    start: datetime  # UTC
    delivered: int
    failed: int


@dataclass(frozen=True, slots=True)
class Timeline:
    unit: str  # minute, hour, day
    buckets: tuple[Bucket, ...]  # in order, every unit between the first and the last

    @property
    def most(self) -> int:
        return max((max(b.delivered, b.failed) for b in self.buckets), default=0)

    @property
    def delivered(self) -> int:
        return sum(b.delivered for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)


@dataclass(frozen=True, slots=True)
class Reply:
    id: int
    number: str
    text: str
    meaning: str  # stop, start, other
    status: str  # new, read, opted_out
    received_at: datetime


@dataclass(frozen=True, slots=True)
class RepliesSince:
    """The replies of the campaign's recipients since its launch."""

    since: datetime
    by_meaning: Mapping[str, int]  # stop, start, other
    latest: tuple[Reply, ...]  # the newest first

    @property
    def total(self) -> int:
        return sum(self.by_meaning.values())


@dataclass(frozen=True, slots=True)
class LiveCampaign:
    campaign: Campaign
    status: str  # as shown: draft, planned, launched, finished, cancelled
    plan: PlanFigures | None  # None: not planned
    messages: Mapping[str, int]  # by state, every state of OUTBOX_STATES
    reasons: Mapping[str, Mapping[str, int]]  # failed, expired, cancelled, unknown: why
    replies: RepliesSince | None  # None: not launched

    @property
    def sending(self) -> bool:
        """Messages are still queued, on their way or awaiting a receipt: the page polls."""
        return self.status == "launched" and any(self.messages.get(s, 0) for s in UNDER_WAY)

    @property
    def total(self) -> int:
        return sum(self.messages.values())


@dataclass(frozen=True, slots=True)
class LiveTimeline:
    timeline: Timeline
    sending: bool  # the chart changes still: the page asks for it again


def _settled(conn: Connection, campaign: Campaign) -> tuple[str, dict[datetime, dict[str, int]]]:
    """The campaign's chart unit, and its messages delivered and failed by minute (a span of
    BY_MINUTE_UP_TO at most) or else by hour, added up in the database (a campaign of twenty
    days is 480 hours, not 28,800 minutes)."""
    span = message_minutes.settled_span(conn, campaign.id)
    if span is None:
        return "minute", {}
    unit = _unit(timedelta(minutes=span[1] - span[0]))
    found: dict[datetime, dict[str, int]] = {}
    by = 1 if unit == "minute" else 60
    for minute, (delivered, failed) in message_minutes.settled_by(conn, campaign.id, by).items():
        found[message_minutes.minute_start(minute)] = {"delivered": delivered, "failed": failed}
    return unit, found


def _unit(span: timedelta) -> str:
    return "minute" if span <= BY_MINUTE_UP_TO else "hour" if span <= BY_HOUR_UP_TO else "day"


def _floor(instant: datetime, unit: str) -> datetime:
    if unit == "minute":
        return instant
    if unit == "hour":
        return instant.replace(minute=0)
    day = instant.astimezone(PARIS).replace(hour=0, minute=0)
    return day.astimezone(UTC)


def _next(start: datetime, unit: str) -> datetime:
    if unit == "minute":
        return start + timedelta(minutes=1)
    if unit == "hour":
        return start + timedelta(hours=1)
    day = (start.astimezone(PARIS) + timedelta(days=1, hours=2)).replace(hour=0, minute=0)
    return day.astimezone(UTC)  # the next Paris midnight, 23 or 25 hours later at a change


def timeline_of(minutes: Mapping[datetime, Mapping[str, int]], unit: str | None = None) -> Timeline:
    """The counts by minute (or by hour, for a unit of an hour or a day) gathered by `unit`
    (None: the one their span asks for), every unit between the first and the last present
    (with zeros): a chart's bars stand for equal times."""
    if not minutes:
        return Timeline("minute", ())
    first, last = min(minutes), max(minutes)
    unit = unit or _unit(last - first)
    gathered: dict[datetime, list[int]] = {}
    for start, counts in minutes.items():
        slot = gathered.setdefault(_floor(start, unit), [0, 0])
        slot[0] += counts.get("delivered", 0)
        slot[1] += counts.get("failed", 0)
    buckets = []
    at, end = _floor(first, unit), _floor(last, unit)
    while at <= end:
        delivered, failed = gathered.get(at, (0, 0))
        buckets.append(Bucket(at, delivered, failed))
        at = _next(at, unit)
    return Timeline(unit, tuple(buckets))


def _replies(conn: Connection, campaign: Campaign, since: datetime) -> RepliesSince:
    owner = campaign.advertiser.id
    messaged = exists(
        select(literal(1))
        .select_from(contacts)
        .join(
            outbox,
            (outbox.c.campaign_id == campaign.id)
            & (outbox.c.contact_id == contacts.c.id)
            & (outbox.c.advertiser_id == owner),
        )
        .where(contacts.c.advertiser_id == owner, contacts.c.e164 == replies.c.e164)
    )
    mine = (replies.c.advertiser_id == owner) & (replies.c.received_at >= since) & messaged
    counts: dict[str, int] = dict(
        conn.execute(
            select(replies.c.meaning, func.count()).where(mine).group_by(replies.c.meaning)
        )
        .tuples()
        .all()
    )
    latest = tuple(
        Reply(r.id, r.e164, r.text, r.meaning, r.status, r.received_at)
        for r in conn.execute(
            select(replies)
            .where(mine)
            .order_by(replies.c.received_at.desc(), replies.c.id.desc())
            .limit(LATEST_REPLIES)
        )
    )
    return RepliesSince(since, counts, latest)


def _states(conn: Connection, campaign: Campaign) -> dict[str, int]:
    counts = dict.fromkeys(OUTBOX_STATES, 0)
    for state, n in conn.execute(
        select(outbox.c.state, func.count())
        .where(outbox.c.campaign_id == campaign.id)
        .group_by(outbox.c.state)
    ):
        counts[state] = n
    return counts


def _reasons(conn: Connection, campaign: Campaign) -> dict[str, dict[str, int]]:
    """Why messages failed, expired, were withdrawn or are in doubt: a rules.md code, or the
    carrier's error code."""
    found: dict[str, dict[str, int]] = {}
    for state, reason, error_code, n in conn.execute(
        select(outbox.c.state, outbox.c.reason, outbox.c.error_code, func.count())
        .where(outbox.c.campaign_id == campaign.id, outbox.c.state.in_(EXPLAINED))
        .group_by(outbox.c.state, outbox.c.reason, outbox.c.error_code)
    ):
        why = reason or (f"carrier error {error_code}" if error_code is not None else None)
        if why is not None:
            by_state = found.setdefault(state, {})
            by_state[why] = by_state.get(why, 0) + n
    return found


def live(ctx: Context, *, slug: str, campaign_id: int) -> LiveCampaign:
    """Campaign `campaign_id` of advertiser `slug` as it sends (NotFoundError for another's):
    its messages by state, why some did not arrive, and its recipients' replies."""
    with reader(ctx.engine) as conn:
        campaign = locate(conn, slug=slug, campaign_id=campaign_id)
        launched = campaign.launched_at is not None
        messages = _states(conn, campaign) if launched else dict.fromkeys(OUTBOX_STATES, 0)
        reasons = _reasons(conn, campaign) if launched else {}
        said = _replies(conn, campaign, campaign.launched_at) if campaign.launched_at else None
    plan = PlanFigures.of(campaign.plan_summary or {}) if campaign.plan_generation else None
    return LiveCampaign(campaign, shown_status(campaign), plan, messages, reasons, said)


def timeline(ctx: Context, *, slug: str, campaign_id: int) -> LiveTimeline:
    """Campaign `campaign_id`'s messages delivered and failed over time (NotFoundError for
    another advertiser's), and whether it sends still."""
    with reader(ctx.engine) as conn:
        campaign = locate(conn, slug=slug, campaign_id=campaign_id)
        if campaign.launched_at is None:
            return LiveTimeline(Timeline("minute", ()), sending=False)
        sending = (
            shown_status(campaign) == "launched"
            and conn.execute(
                select(outbox.c.id)
                .where(outbox.c.campaign_id == campaign.id, outbox.c.state.in_(UNDER_WAY))
                .limit(1)
            ).first()
            is not None
        )
        unit, counts = _settled(conn, campaign)
    return LiveTimeline(timeline_of(counts, unit), sending)
