"""An advertiser's dashboard (issue 16 point 4): its campaigns by state, its messages sent,
delivered and failed, its opt-outs and 33700 complaints, day by day over the last weeks, and
what needs attention (plans with blocks, messages in doubt, a rising complaint rate, failed
jobs). One use case, `figures`, read in one snapshot with a few aggregate queries, each on an
index that keeps it to this advertiser's rows:

- campaigns by state: ix_campaigns_advertiser_id_kind_id (a few rows an advertiser);
- messages over time: `message_minutes` (services/message_minutes.py), the counts per campaign and
  hour that the outbox's triggers keep, through its key (advertiser, hour): a few rows a
  campaign and hour, whatever its size; by local day here (an hour is in one local day
  whatever the offset: French zones are whole hours);
- opt-outs and complaints: the advertiser's suppression list entries dated in the period
  (ix_suppressions_advertiser_id_suppressed_at), counted by hour in the database, a complaint
  by its source;
- unknown messages: ix_outbox_unknown (few rows, those in doubt);
- failed jobs: ix_jobs_advertiser_id_id.

A campaign of a million messages costs no more than one of ten (benches/bench_web.py measures
one launched with nothing sent and one sent over 20 days).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    literal_column,
    select,
)

from tambour.rules.codes import OptOutSource
from tambour.services import advertisers, complaints, data_requests, message_minutes
from tambour.services.complaints import PausedCampaign, Standing
from tambour.services.context import Context, InvalidInputError
from tambour.services.views import View
from tambour.store.engine import snapshot
from tambour.store.tables import campaigns, jobs, outbox, suppressions

ZONE: Final = "Europe/Paris"  # the advertiser's days: the dashboard's reader is in France
DEFAULT_DAYS: Final = 30
MOST_DAYS: Final = 92
WEEK: Final = 7  # the complaint rate compares the last WEEK days with the days before
SHOWN_STATES: Final = ("draft", "planned", "launched", "paused", "finished", "cancelled")
# A complaint rate is "rising" when this week's (per 1,000 messages) is at least RISE times
# the rate of the weeks before, with at least MIN_COMPLAINTS complaints this week (one or two
# complaints are no trend).
RISE: Final = 1.5
MIN_COMPLAINTS: Final = 3
FAILED_JOBS_SHOWN: Final = 5
_COMPLAINT: Final = OptOutSource.COMPLAINT_33700.value


@dataclass(frozen=True, slots=True)
class Day(View):
    """One local day's figures."""

    day: date
    sent: int
    delivered: int
    failed: int
    opt_outs: int
    complaints: int


@dataclass(frozen=True, slots=True)
class BlockedCampaign(View):
    """A planned campaign that cannot be launched: the codes of its blocks."""

    id: int
    name: str
    blocks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InDoubt(View):
    """A campaign with messages whose dispatch outcome is unknown (an operator checks them
    with the carrier: `tambour campaign unknown`)."""

    id: int
    name: str
    messages: int


@dataclass(frozen=True, slots=True)
class ComplaintTrend(View):
    """33700 complaints per 1,000 messages sent: the last week's and the weeks' before."""

    week_complaints: int
    week_sent: int
    before_complaints: int
    before_sent: int

    @property
    def week_rate(self) -> float | None:
        return _per_thousand(self.week_complaints, self.week_sent)

    @property
    def before_rate(self) -> float | None:
        return _per_thousand(self.before_complaints, self.before_sent)

    @property
    def rising(self) -> bool:
        if self.week_complaints < MIN_COMPLAINTS:
            return False
        week = self.week_rate
        before = self.before_rate
        if week is None:  # complaints with nothing sent this week: rising, whatever before
            return True
        return before is None or before == 0 or week >= RISE * before

    def as_dict(self) -> dict[str, Any]:
        return {
            "week_complaints": self.week_complaints,
            "week_sent": self.week_sent,
            "before_complaints": self.before_complaints,
            "before_sent": self.before_sent,
            "week_rate": self.week_rate,
            "before_rate": self.before_rate,
            "rising": self.rising,
        }


@dataclass(frozen=True, slots=True)
class FailedJob(View):
    id: int
    kind: str
    error_code: str | None
    error_message: str | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class DueRequest(View):
    id: int
    kind: str
    due_by: date
    days_left: int  # negative: overdue


@dataclass(frozen=True, slots=True)
class Dashboard(View):
    """What the dashboard shows, at `at`: `days` oldest first, the last one today (so far)."""

    slug: str
    at: datetime
    zone: str
    campaigns: Mapping[str, int]  # by shown status (SHOWN_STATES), zeros included
    days: tuple[Day, ...]
    blocked: tuple[BlockedCampaign, ...]
    in_doubt: tuple[InDoubt, ...]
    complaints: ComplaintTrend
    failed_jobs: tuple[FailedJob, ...]  # the latest few of the period
    failed_job_count: int  # all of the period
    # Open data requests due within a week, or overdue (services/data_requests.py).
    requests_due: tuple[DueRequest, ...] = ()
    # The 33700 complaint rate against the threshold, and the campaigns it paused
    # (services/complaints.py).
    standing: Standing | None = None

    @property
    def paused(self) -> tuple[PausedCampaign, ...]:
        return self.standing.paused if self.standing is not None else ()

    @property
    def totals(self) -> Day:
        """The period's figures added up (`day`: its first)."""
        return Day(
            day=self.days[0].day,
            sent=sum(d.sent for d in self.days),
            delivered=sum(d.delivered for d in self.days),
            failed=sum(d.failed for d in self.days),
            opt_outs=sum(d.opt_outs for d in self.days),
            complaints=sum(d.complaints for d in self.days),
        )

    @property
    def unknown_messages(self) -> int:
        return sum(c.messages for c in self.in_doubt)

    @property
    def needs_attention(self) -> bool:
        return bool(
            self.blocked or self.in_doubt or self.complaints.rising or self.failed_job_count
            or self.requests_due or self.paused
        )  # fmt: skip


def figures(ctx: Context, *, slug: str, days: int = DEFAULT_DAYS, zone: str = ZONE) -> Dashboard:
    """The dashboard of advertiser `slug` for the last `days` local days (today included), in
    one snapshot of the database. NotFoundError for an unknown advertiser."""
    if not WEEK < days <= MOST_DAYS:
        raise InvalidInputError(
            "days", "out_of_range", f"the dashboard covers {WEEK + 1} to {MOST_DAYS} days"
        )
    tz = ZoneInfo(zone)
    now = ctx.now()
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = _midnight(first, tz)
    with snapshot(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        owner = advertiser.id
        by_state = _campaigns_by_state(conn, owner)
        messages = message_minutes.by_hour(conn, owner, since=since)
        oppositions = _oppositions_by_hour(conn, owner, since)
        blocked = _blocked(conn, owner)
        in_doubt = _in_doubt(conn, owner)
        failed, failed_count = _failed_jobs(conn, owner, since)
        requests_due = _requests_due(conn, owner, today)
        standing = complaints.standing(conn, ctx, advertiser, now)
    series = {day: dict.fromkeys(_COUNTED, 0) for day in _dates(first, today)}
    for what, hours in (*messages.items(), *oppositions.items()):
        for hour, count in hours.items():
            local = message_minutes.hour_start(hour).astimezone(tz).date()
            if local in series:
                series[local][what] += count
    shown = tuple(Day(day, **counts) for day, counts in series.items())
    week_start = today - timedelta(days=WEEK - 1)
    week = [d for d in shown if d.day >= week_start]
    before = [d for d in shown if d.day < week_start]
    trend = ComplaintTrend(
        week_complaints=sum(d.complaints for d in week),
        week_sent=sum(d.sent for d in week),
        before_complaints=sum(d.complaints for d in before),
        before_sent=sum(d.sent for d in before),
    )
    return Dashboard(
        slug=advertiser.slug,
        at=now,
        zone=zone,
        campaigns=by_state,
        days=shown,
        blocked=blocked,
        in_doubt=in_doubt,
        complaints=trend,
        failed_jobs=failed,
        failed_job_count=failed_count,
        requests_due=requests_due,
        standing=standing,
    )


def _requests_due(conn: Connection, owner: int, today: date) -> tuple[DueRequest, ...]:
    rows = data_requests.due(conn, today, owner)
    return tuple(DueRequest(r.id, r.kind, r.due_by, (r.due_by - today).days) for r in rows)


_COUNTED: Final = ("sent", "delivered", "failed", "opt_outs", "complaints")


def _per_thousand(count: int, of: int) -> float | None:
    return None if of == 0 else round(count * 1000 / of, 2)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _hour(conn: Connection, column: Any) -> ColumnElement[Any]:
    """The hour of an instant, computed by the database for its GROUP BY, as cheaply as it
    can: on PostgreSQL the instant truncated to its hour (an hour of the session's zone is an
    hour of UTC: no zone in use is offset by a fraction of an hour); on SQLite, which stores an
    instant as its UTC text (`2026-03-30 22:30:00.000000`), its first 13 characters
    (`_hour_number` reads both)."""
    # Constants written in the statement, not bound: GROUP BY repeats the expression, and
    # PostgreSQL must see the same one there.
    if conn.dialect.name == "postgresql":
        return func.date_trunc(literal_column("'hour'"), column)
    return func.substr(column, literal_column("1"), literal_column("13"))


def _hour_number(value: Any) -> int:
    """Whole hours since 1970 (UTC) from what `_hour` computed."""
    if isinstance(value, str):
        value = datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=UTC)
    return int(value.timestamp()) // 3600


def _campaigns_by_state(conn: Connection, owner: int) -> dict[str, int]:
    found = dict.fromkeys(SHOWN_STATES, 0)
    over = campaigns.c.finished_at.is_not(None)
    held = campaigns.c.paused_at.is_not(None)
    for status, ended, paused, count in conn.execute(
        select(campaigns.c.status, over, held, func.count())
        .where(campaigns.c.advertiser_id == owner, campaigns.c.kind == "campaign")
        .group_by(campaigns.c.status, over, held)
    ):
        shown = status
        if status == "launched":
            shown = "finished" if ended else "paused" if paused else status
        found[shown] = found.get(shown, 0) + count
    return found


def _oppositions_by_hour(
    conn: Connection, owner: int, since: datetime
) -> dict[str, dict[int, int]]:
    """The suppression list's entries dated since `since`: opt-outs, and 33700 complaints. (A
    number has one entry: a complaint about a number that had opted out replaces its entry.)"""
    found: dict[str, dict[int, int]] = {"opt_outs": {}, "complaints": {}}
    hour = _hour(conn, suppressions.c.suppressed_at).label("hour")
    is_complaint = suppressions.c.source == _COMPLAINT
    mine = suppressions.c.advertiser_id == owner
    for complaint, at, count in conn.execute(
        select(is_complaint, hour, func.count())
        .where(mine, suppressions.c.suppressed_at >= since)
        .group_by(is_complaint, hour)
    ):
        _add(found["complaints" if complaint else "opt_outs"], _hour_number(at), count)
    return found


def _add(counts: dict[int, int], key: int, count: int) -> None:
    counts[key] = counts.get(key, 0) + count


def _blocked(conn: Connection, owner: int) -> tuple[BlockedCampaign, ...]:
    found = []
    for campaign_id, name, summary in conn.execute(
        select(campaigns.c.id, campaigns.c.name, campaigns.c.plan_summary)
        .where(
            campaigns.c.advertiser_id == owner,
            campaigns.c.kind == "campaign",
            campaigns.c.status == "planned",
        )
        .order_by(campaigns.c.id.desc())
    ):
        blocks = _block_codes((summary or {}).get("blocks"))
        if blocks:
            found.append(BlockedCampaign(campaign_id, name, blocks))
    return tuple(found)


def _block_codes(blocks: Sequence[Any] | None) -> tuple[str, ...]:
    codes = []
    for block in blocks or ():
        code = block.get("code") if isinstance(block, Mapping) else block
        if isinstance(code, str) and code not in codes:
            codes.append(code)
    return tuple(codes)


def _in_doubt(conn: Connection, owner: int) -> tuple[InDoubt, ...]:
    """The advertiser's unknown messages by campaign: read through ix_outbox_unknown (the
    few messages in doubt of the whole platform), counted here (a GROUP BY would lead SQLite
    to walk ix_outbox_campaign_id_state, every message of every campaign)."""
    counted: dict[int, int] = {}
    for campaign_id in conn.execute(
        select(outbox.c.campaign_id).where(
            outbox.c.state == "unknown", outbox.c.advertiser_id == owner
        )
    ).scalars():
        _add(counted, campaign_id, 1)
    if not counted:
        return ()
    rows = conn.execute(
        select(campaigns.c.id, campaigns.c.name)
        .where(campaigns.c.advertiser_id == owner, campaigns.c.id.in_(sorted(counted)))
        .order_by(campaigns.c.id.desc())
    ).all()
    return tuple(InDoubt(row.id, row.name, counted[row.id]) for row in rows)


def _failed_jobs(
    conn: Connection, owner: int, since: datetime
) -> tuple[tuple[FailedJob, ...], int]:
    failed = and_(
        jobs.c.advertiser_id == owner, jobs.c.state == "failed", jobs.c.finished_at >= since
    )
    count = conn.execute(select(func.count()).select_from(jobs).where(failed)).scalar_one()
    rows = conn.execute(
        select(jobs.c.id, jobs.c.kind, jobs.c.error_code, jobs.c.error_message, jobs.c.finished_at)
        .where(failed)
        .order_by(jobs.c.id.desc())
        .limit(FAILED_JOBS_SHOWN)
    ).all()
    shown = tuple(
        FailedJob(r.id, r.kind, r.error_code, r.error_message, r.finished_at) for r in rows
    )
    return shown, int(count)
