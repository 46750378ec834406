"""The sending window (rules.md §4) as a pure calendar: time is always a parameter.

Allowed: the policy's days (never Sunday), ``[start, end)`` local time, never on a public holiday
of the recipient's territory, and, for a locality with several time zones, in each of them.

Two independent implementations agree (the tests check it):

- ``check`` reads the wall clock of each zone (``zoneinfo``) and gives the reason code;
- ``next_allowed`` / ``window_end`` answer from a schedule: for each (locality, policy), blocks of
  about a year of allowed UTC intervals (POSIX seconds), built lazily from the zones' actual UTC
  offset changes (so daylight saving gaps and repeated hours are exact), intersected across
  zones, with a per-day index into the intervals. A look-up is a dict hit and a step or two.
  Offset changes are searched every 6 hours then bisected to the second: two changes less than
  6 hours apart would be missed (tzdata has none).

A locality whose zones never share an open moment under a policy (a 30-minute window in zones an
hour apart; a metropolitan number with a Polynesian postal code in the European summer) has no
next allowed instant for a while: ``next_allowed`` looks about four years ahead, then raises
ValueError.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache, lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import holidays

from tambour.rules.territory import HolidayRegion, Locality

__all__ = [
    "LEGAL_WINDOW",
    "WindowCheck",
    "WindowPolicy",
    "check",
    "holiday_name",
    "next_allowed",
    "window_end",
]

_SUNDAY: Final = 6
_DAY: Final = 86_400


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    """The sending window as data; advertisers may only narrow ``LEGAL_WINDOW``."""

    days: frozenset[int] = frozenset(range(6))  # Monday=0 … Saturday=5; Sunday (6) never
    start: time = time(8, 0)
    end: time = time(20, 0)  # allowed is [start, end) local time

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", frozenset(self.days))  # a list or set from storage
        if not self.days <= frozenset(range(6)):
            raise ValueError("policy days are 0 (Monday) to 5 (Saturday); Sunday is never allowed")
        for moment in (self.start, self.end):
            if moment.tzinfo is not None or moment.microsecond:
                raise ValueError("policy times are whole seconds of local time, without zone")
        if not self.start < self.end:
            raise ValueError("policy start must be before its end")

    def narrows(self, other: WindowPolicy) -> bool:
        """True when ``self`` allows nothing that ``other`` does not allow."""
        if not self.days:
            return True
        return self.days <= other.days and other.start <= self.start and self.end <= other.end


LEGAL_WINDOW: Final = WindowPolicy()


@dataclass(frozen=True, slots=True)
class WindowCheck:
    allowed: bool
    reason: str | None  # None | "public_holiday" | "sunday" | "quiet_hours"


_ALLOWED: Final = WindowCheck(allowed=True, reason=None)
_HOLIDAY: Final = WindowCheck(allowed=False, reason="public_holiday")
_SUNDAY_CHECK: Final = WindowCheck(allowed=False, reason="sunday")
_QUIET: Final = WindowCheck(allowed=False, reason="quiet_hours")


# --- holidays -------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _holiday_names(country: str, subdiv: str | None, year: int) -> dict[date, str]:
    """One year of one calendar, French names when the package has them. Never mutate."""
    cls = holidays.country_holidays(country, subdiv=subdiv)
    language = "fr" if "fr" in (cls.supported_languages or ()) else None
    table = holidays.country_holidays(country, subdiv=subdiv, years=year, language=language)
    return dict(table.items())


@lru_cache(maxsize=4096)
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    return frozenset(_holiday_names(country, subdiv, year))


@lru_cache(maxsize=4096)
def _closed_days(regions: tuple[HolidayRegion, ...], year: int) -> frozenset[date]:
    """The union of the calendars' holidays in ``year``."""
    return frozenset().union(
        *(_holiday_dates(country, subdiv, year) for country, subdiv in regions)
    )


def holiday_name(day: date, locality: Locality) -> str | None:
    """The (French when available) name of the holiday closing ``day``, else None."""
    for country, subdiv in locality.holiday_regions:
        name = _holiday_names(country, subdiv, day.year).get(day)
        if name is not None:
            return name
    return None


# --- the wall-clock check (reasons) ---------------------------------------------------------


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check(
    instant: datetime, locality: Locality, policy: WindowPolicy = LEGAL_WINDOW
) -> WindowCheck:
    """Whether ``instant`` is inside the window; else the first failing zone's reason.

    Within a zone: ``public_holiday`` before ``sunday`` before ``quiet_hours`` (a weekday the
    policy closes is ``quiet_hours``).
    """
    _timestamp(instant)  # rejects naive instants
    # Through UTC: astimezone() to an instant's own zone would keep a nonexistent wall time.
    utc = instant.astimezone(UTC)
    for name in locality.timezones:
        local = utc.astimezone(_zone(name))
        day = local.date()
        if day in _closed_days(locality.holiday_regions, day.year):
            return _HOLIDAY
        weekday = day.weekday()
        if weekday == _SUNDAY:
            return _SUNDAY_CHECK
        if weekday not in policy.days or not policy.start <= local.time() < policy.end:
            return _QUIET
    return _ALLOWED


# --- the schedule (fast look-ups) -----------------------------------------------------------

_BLOCK_DAYS: Final = 366  # a block covers UTC days [k * 366, (k + 1) * 366)
_MAX_BLOCKS: Final = 32  # per schedule, oldest dropped first
_MAX_SCHEDULES: Final = 256
_SEARCH_BLOCKS: Final = 4  # next_allowed gives up after this many blocks without a window
_SENTINEL: Final = 1 << 62
_ORDINAL_1970: Final = date(1970, 1, 1).toordinal()
_STEP: Final = 6 * 3600  # offset changes are looked for at this step, then bisected
# Schedules are shared by threads: building and eviction hold the lock, look-ups only read.
_lock: Final = threading.Lock()


def _offset(zone: ZoneInfo, ts: int) -> int:
    offset = datetime.fromtimestamp(ts, zone).utcoffset()
    assert offset is not None  # zoneinfo always answers
    return int(offset.total_seconds())


def _offset_segments(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """``[a, b)`` spans of UTC seconds covering ``[lo, hi)`` on which the offset is constant."""
    segments: list[tuple[int, int, int]] = []
    start, current = lo, _offset(zone, lo)
    probe = lo
    while probe < hi:
        nxt = min(probe + _STEP, hi)
        offset = _offset(zone, nxt)
        if offset != current:
            low, high = probe, nxt  # offset(low) == current, offset(high) != current
            while high - low > 1:
                mid = (low + high) // 2
                if _offset(zone, mid) == current:
                    low = mid
                else:
                    high = mid
            segments.append((start, high, current))
            start, current = high, _offset(zone, high)
        probe = nxt
    segments.append((start, hi, current))
    return segments


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    intervals.sort()
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _intersect(
    first: list[tuple[int, int]], second: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            out.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out


class _Block:
    """Allowed UTC intervals of UTC days ``[day0, day0 + 366)``, with a per-day index."""

    __slots__ = ("day0", "end", "ends", "first", "size", "starts")

    def __init__(self, day0: int, intervals: list[tuple[int, int]]) -> None:
        self.day0 = day0
        self.end = (day0 + _BLOCK_DAYS) * _DAY
        self.starts = [start for start, _ in intervals]
        self.ends = [end for _, end in intervals]
        self.size = len(intervals)
        self.ends.append(_SENTINEL)
        first: list[int] = []
        i = 0
        for day in range(day0, day0 + _BLOCK_DAYS):
            moment = day * _DAY
            while self.ends[i] <= moment:
                i += 1
            first.append(i)
        self.first = first


class _Schedule:
    __slots__ = ("blocks", "end_s", "locality", "policy", "start_s")

    def __init__(self, locality: Locality, policy: WindowPolicy) -> None:
        self.locality = locality
        self.policy = policy
        self.start_s = _seconds(policy.start)
        self.end_s = _seconds(policy.end)
        self.blocks: dict[int, _Block] = {}

    def block(self, number: int) -> _Block:
        found = self.blocks.get(number)
        if found is None:
            with _lock:
                found = self.blocks.get(number)
                if found is None:
                    found = self._build(number)
                    while len(self.blocks) >= _MAX_BLOCKS:
                        del self.blocks[next(iter(self.blocks))]
                    self.blocks[number] = found
        return found

    def _build(self, number: int) -> _Block:
        day0 = number * _BLOCK_DAYS
        t0, t1 = day0 * _DAY, (day0 + _BLOCK_DAYS) * _DAY
        lo, hi = t0 - 2 * _DAY, t1 + 2 * _DAY
        first_year = date.fromordinal(_ORDINAL_1970 + lo // _DAY).year
        last_year = date.fromordinal(_ORDINAL_1970 + hi // _DAY).year
        closed = frozenset().union(
            *(
                _closed_days(self.locality.holiday_regions, year)
                for year in range(first_year - 1, last_year + 2)
            )
        )
        days = self.policy.days
        result: list[tuple[int, int]] | None = None
        for name in dict.fromkeys(self.locality.timezones):
            zone_intervals: list[tuple[int, int]] = []
            for a, b, offset in _offset_segments(_zone(name), lo, hi):
                for local_day in range((a + offset) // _DAY, (b - 1 + offset) // _DAY + 1):
                    if (local_day + 3) % 7 not in days:  # 1970-01-01 was a Thursday (3)
                        continue
                    if date.fromordinal(_ORDINAL_1970 + local_day) in closed:
                        continue
                    start = max(local_day * _DAY + self.start_s - offset, a)
                    end = min(local_day * _DAY + self.end_s - offset, b)
                    if start < end:
                        zone_intervals.append((start, end))
            merged = _merge(zone_intervals)
            result = merged if result is None else _intersect(result, merged)
        clipped = [
            (max(start, t0), min(end, t1)) for start, end in result or () if start < t1 and end > t0
        ]
        return _Block(day0, clipped)


_schedules: OrderedDict[tuple[Locality, WindowPolicy], _Schedule] = OrderedDict()
# Identity front cache: id(locality) -> schedule whose locality is that very object. Entries
# hold the locality, so the id cannot be reused while the entry exists.
_by_identity: dict[int, _Schedule] = {}


def _schedule(locality: Locality, policy: WindowPolicy) -> _Schedule:
    key = (locality, policy)
    with _lock:
        found = _schedules.get(key)
        if found is None:
            found = _Schedule(locality, policy)
            _schedules[key] = found
        else:
            _schedules.move_to_end(key)
        while len(_schedules) > _MAX_SCHEDULES:
            _schedules.popitem(last=False)
        if len(_by_identity) >= _MAX_SCHEDULES:
            _by_identity.clear()
        _by_identity[id(locality)] = found
    return found


def _timestamp(instant: datetime) -> float:
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    try:
        return instant.timestamp()
    except TypeError:  # a tzinfo whose utcoffset() is None: naive in fact
        raise ValueError("instant must be timezone-aware") from None


def _locate_interval(
    ts: float, locality: Locality, policy: WindowPolicy
) -> tuple[_Schedule, _Block, int]:
    """The block of ``ts`` and the index of the first interval ending after ``ts``."""
    schedule = _by_identity.get(id(locality))
    if (
        schedule is None
        or schedule.locality is not locality
        or (schedule.policy is not policy and schedule.policy != policy)
    ):
        schedule = _schedule(locality, policy)
    day = int(ts // _DAY)
    number = day // _BLOCK_DAYS
    block = schedule.blocks.get(number) or schedule.block(number)
    i = block.first[day - block.day0]
    ends = block.ends
    while ends[i] <= ts:
        i += 1
    return schedule, block, i


def next_allowed(
    instant: datetime, locality: Locality, policy: WindowPolicy = LEGAL_WINDOW
) -> datetime:
    """``instant`` itself when allowed, else the start (UTC) of the next allowed interval.

    Raises ValueError for a naive instant, or when nothing is allowed in the next four years.
    """
    ts = _timestamp(instant)
    schedule, block, i = _locate_interval(ts, locality, policy)
    if i < block.size:
        start = block.starts[i]
        if start <= ts:
            return instant
        return datetime.fromtimestamp(start, UTC)
    number = block.day0 // _BLOCK_DAYS
    for later in range(number + 1, number + 1 + _SEARCH_BLOCKS):
        following = schedule.block(later)
        if following.size:
            return datetime.fromtimestamp(following.starts[0], UTC)
    raise ValueError("the policy allows no instant in the coming years")


def window_end(
    instant: datetime, locality: Locality, policy: WindowPolicy = LEGAL_WINDOW
) -> datetime | None:
    """End (UTC) of the allowed interval containing ``instant``; None when not allowed."""
    ts = _timestamp(instant)
    schedule, block, i = _locate_interval(ts, locality, policy)
    if i >= block.size or block.starts[i] > ts:
        return None
    end = block.ends[i]
    while end == block.end:  # the interval goes on in the next block
        block = schedule.block(block.day0 // _BLOCK_DAYS + 1)
        if not block.size or block.starts[0] != end:
            break
        end = block.ends[0]
    return datetime.fromtimestamp(end, UTC)
