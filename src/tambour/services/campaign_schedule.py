"""When a campaign may reach its recipients, territory by territory (rules.md section 4): for a
chosen start, whether each French territory's window is open then (its local time), when it
opens or closes, and the public holidays that fall before the deadline; for the editor's
schedule. The answers are the calendar's of the core (rules/calendar.py: the same schedule a
plan decides with, under the advertiser's own window), never computed again here. Reads only.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

from tambour.rules import calendar
from tambour.rules.calendar import WindowPolicy
from tambour.rules.codes import Nature
from tambour.rules.territory import TERRITORIES, Locality
from tambour.services.advertisers import Advertiser
from tambour.services.campaigns import window_policy
from tambour.services.context import Context
from tambour.store.engine import reader

HORIZON: Final = timedelta(days=7)  # the range shown without a deadline
LONGEST: Final = timedelta(days=62)  # at most this many days of holidays are listed


@cache
def locality(territory: str) -> Locality:
    """The locality of a recipient known to be in `territory` (a key of TERRITORIES)."""
    zones, regions = TERRITORIES[territory]
    return Locality(territory, zones, regions)


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    name: str


@dataclass(frozen=True, slots=True)
class TerritoryWindow:
    """One territory at the start: its local time, whether the window is open, why not, when
    it opens (the start itself when open) and closes, and its holidays in the range."""

    territory: str
    zones: tuple[str, ...]  # its time zones; times are shown in the first
    local_start: datetime
    allowed: bool
    reason: str | None  # quiet_hours, sunday or public_holiday
    opens: datetime | None  # the first allowed instant from the start; None: none for years
    closes: datetime | None  # the end of that allowed interval
    holidays: tuple[Holiday, ...]
    too_late: bool  # the window opens only at or after the deadline: nothing would be sent

    @property
    def zone(self) -> str:
        return self.zones[0]


@dataclass(frozen=True, slots=True)
class Schedule:
    start: datetime  # the campaign's start, or now when it starts as soon as planned
    as_soon_as_possible: bool
    until: datetime  # the deadline, or the start and HORIZON
    send_by: datetime | None
    prospection: bool  # transactional messages know no window, only the deadline
    policy: WindowPolicy
    narrowed: bool  # the advertiser narrowed the legal window
    territories: tuple[TerritoryWindow, ...]


def _holidays(place: Locality, first: date, last: date) -> tuple[Holiday, ...]:
    found = []
    day = first
    while day <= last:
        name = calendar.holiday_name(day, place)
        if name is not None:
            found.append(Holiday(day, name))
        day += timedelta(days=1)
    return tuple(found)


def _territory(
    code: str, start: datetime, until: datetime, send_by: datetime | None, policy: WindowPolicy
) -> TerritoryWindow:
    place = locality(code)
    zone = ZoneInfo(place.timezones[0])
    verdict = calendar.check(start, place, policy)
    try:
        opens: datetime | None = calendar.next_allowed(start, place, policy)
    except ValueError:  # nothing allowed for years (a window narrowed to nothing here)
        opens = None
    closes = calendar.window_end(opens, place, policy) if opens is not None else None
    first = start.astimezone(zone).date()
    last = min(until, start + LONGEST).astimezone(zone).date()
    return TerritoryWindow(
        territory=code,
        zones=place.timezones,
        local_start=start.astimezone(zone),
        allowed=verdict.allowed,
        reason=verdict.reason,
        opens=opens,
        closes=closes,
        holidays=_holidays(place, first, last),
        too_late=opens is None or (send_by is not None and opens >= send_by),
    )


def schedule(
    ctx: Context,
    advertiser: Advertiser,
    *,
    nature: Nature,
    start: datetime | None,
    send_by: datetime | None,
) -> Schedule:
    """The sending windows of every French territory for a campaign of `nature` starting at
    `start` (None: as soon as planned, i.e. now) with the deadline `send_by`, under the
    advertiser's window (read from the database)."""
    now = ctx.now().astimezone(UTC)
    begins = max(start, now) if start is not None else now
    with reader(ctx.engine) as conn:
        policy = window_policy(conn, advertiser)
    until = send_by if send_by is not None and send_by > begins else begins + HORIZON
    return Schedule(
        start=begins,
        as_soon_as_possible=start is None or start <= now,
        until=until,
        send_by=send_by,
        prospection=nature is not Nature.TRANSACTIONAL,
        policy=policy,
        narrowed=policy != calendar.LEGAL_WINDOW,
        territories=tuple(_territory(code, begins, until, send_by, policy) for code in TERRITORIES),
    )
