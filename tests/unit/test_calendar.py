"""The sending window: boundaries, daylight saving, holidays, several zones, and properties.

The expectations are computed here independently of ``tambour.rules.calendar``: wall clock of
each zone and holiday sets straight from the ``holidays`` package, plus a few dates written by
hand (and Easter from the Anonymous Gregorian algorithm).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tambour.rules import calendar as calendar_module
from tambour.rules.calendar import (
    LEGAL_WINDOW,
    WindowCheck,
    WindowPolicy,
    check,
    holiday_name,
    next_allowed,
    window_end,
)
from tambour.rules.territory import Locality, locate
from tambour.sms.phone import parse_phone

PARIS = ZoneInfo("Europe/Paris")
MICRO = timedelta(microseconds=1)

FR = parse_phone("06 12 34 56 78")
METRO_UNKNOWN = locate(FR)
METRO = locate(FR, "75011")
MOSELLE = locate(FR, "57000")
ALSACE = locate(FR, "67000")
GUADELOUPE_ANY = locate(parse_phone("+590 690 00 12 34"))
GUADELOUPE = locate(parse_phone("+590 690 00 12 34"), "97110")
SAINT_BARTH = locate(parse_phone("+590 690 00 12 34"), "97133")
SAINT_MARTIN = locate(parse_phone("+590 690 00 12 34"), "97150")
GUYANE = locate(parse_phone("+594 694 20 12 34"))
MARTINIQUE = locate(parse_phone("+596 696 20 12 34"))
REUNION = locate(parse_phone("+262 692 12 34 56"))
MAYOTTE = locate(parse_phone("+262 639 01 23 45"))
SPM = locate(parse_phone("+508 55 12 34"))
NOUMEA = locate(parse_phone("+687 75 12 34"))
POLYNESIE = locate(parse_phone("+689 87 12 34 56"))
WALLIS = locate(parse_phone("+681 82 12 34"))
FR_IN_REUNION = locate(FR, "97400")

ALL = [
    METRO_UNKNOWN,
    METRO,
    MOSELLE,
    ALSACE,
    GUADELOUPE_ANY,
    GUADELOUPE,
    SAINT_BARTH,
    SAINT_MARTIN,
    GUYANE,
    MARTINIQUE,
    REUNION,
    MAYOTTE,
    SPM,
    NOUMEA,
    POLYNESIE,
    WALLIS,
    FR_IN_REUNION,
]

# --- the independent model ------------------------------------------------------------------

_closed_cache: dict[tuple[tuple[tuple[str, str | None], ...], int], set[date]] = {}


def closed(locality: Locality, year: int) -> set[date]:
    key = (locality.holiday_regions, year)
    if key not in _closed_cache:
        days: set[date] = set()
        for country, subdiv in locality.holiday_regions:
            days |= set(holidays.country_holidays(country, subdiv=subdiv, years=year))
        _closed_cache[key] = days
    return _closed_cache[key]


def expected_allowed(
    instant: datetime, locality: Locality, policy: WindowPolicy = LEGAL_WINDOW
) -> bool:
    for name in locality.timezones:
        # through UTC: a nonexistent wall time in the instant's own zone is not a local time
        local = instant.astimezone(UTC).astimezone(ZoneInfo(name))
        day = local.date()
        if day in closed(locality, day.year) or day.weekday() == 6:
            return False
        if day.weekday() not in policy.days:
            return False
        if not policy.start <= local.time() < policy.end:
            return False
    return True


def easter(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def at(day: date, moment: time, zone: str | ZoneInfo = PARIS) -> datetime:
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return datetime.combine(day, moment, tzinfo=tz)


def noon(day: date, locality: Locality) -> datetime:
    return at(day, time(12), locality.timezones[0])


# --- boundaries -----------------------------------------------------------------------------

MONDAY = date(2025, 3, 3)
SATURDAY = date(2025, 3, 8)
SUNDAY = date(2025, 3, 9)


@pytest.mark.parametrize(
    ("day", "moment", "result"),
    [
        (MONDAY, time(0, 0), WindowCheck(False, "quiet_hours")),
        (MONDAY, time(7, 59, 59), WindowCheck(False, "quiet_hours")),
        (MONDAY, time(7, 59, 59, 999_999), WindowCheck(False, "quiet_hours")),
        (MONDAY, time(8, 0), WindowCheck(True, None)),
        (MONDAY, time(13, 0), WindowCheck(True, None)),
        (MONDAY, time(19, 59, 59), WindowCheck(True, None)),
        (MONDAY, time(19, 59, 59, 999_999), WindowCheck(True, None)),
        (MONDAY, time(20, 0), WindowCheck(False, "quiet_hours")),
        (MONDAY, time(23, 59, 59), WindowCheck(False, "quiet_hours")),
        (SATURDAY, time(8, 0), WindowCheck(True, None)),
        (SATURDAY, time(19, 59, 59), WindowCheck(True, None)),
        (SATURDAY, time(20, 0), WindowCheck(False, "quiet_hours")),
        (SUNDAY, time(12, 0), WindowCheck(False, "sunday")),
        (SUNDAY, time(7, 0), WindowCheck(False, "sunday")),
        (date(2025, 5, 8), time(12, 0), WindowCheck(False, "public_holiday")),  # Thursday
        (date(2022, 5, 1), time(12, 0), WindowCheck(False, "public_holiday")),  # a Sunday
        (date(2025, 5, 1), time(7, 0), WindowCheck(False, "public_holiday")),
    ],
)
def test_check_boundaries_in_paris(day: date, moment: time, result: WindowCheck) -> None:
    instant = at(day, moment)
    assert check(instant, METRO) == result
    assert check(instant.astimezone(UTC), METRO) == result
    assert (next_allowed(instant, METRO) == instant) is result.allowed
    assert (window_end(instant, METRO) is not None) is result.allowed


def test_next_allowed_and_window_end_in_paris() -> None:
    monday_0759 = at(MONDAY, time(7, 59, 59))
    monday_0800 = at(MONDAY, time(8))
    assert next_allowed(monday_0759, METRO) == monday_0800
    assert next_allowed(monday_0759, METRO).tzinfo is UTC
    assert next_allowed(monday_0800, METRO) is monday_0800  # allowed: the instant itself
    assert window_end(monday_0800, METRO) == at(MONDAY, time(20))
    assert window_end(at(MONDAY, time(19, 59, 59)), METRO) == at(MONDAY, time(20))
    assert window_end(at(MONDAY, time(20)), METRO) is None
    assert next_allowed(at(MONDAY, time(20)), METRO) == at(MONDAY + timedelta(1), time(8))
    # Saturday evening to Monday morning
    assert next_allowed(at(SATURDAY, time(20)), METRO) == at(SATURDAY + timedelta(2), time(8))
    # Christmas Eve (Wednesday) evening: 25 closed, 26 closed when the department is unknown
    eve = at(date(2025, 12, 24), time(20))
    assert next_allowed(eve, METRO) == at(date(2025, 12, 26), time(8))
    assert next_allowed(eve, METRO_UNKNOWN) == at(date(2025, 12, 27), time(8))
    assert next_allowed(eve, ALSACE) == at(date(2025, 12, 27), time(8))


def test_naive_instants_are_refused() -> None:
    naive = datetime(2025, 3, 3, 12, 0)
    for function in (check, next_allowed, window_end):
        with pytest.raises(ValueError, match="aware"):
            function(naive, METRO)


# --- daylight saving ------------------------------------------------------------------------


def test_march_dst_in_paris() -> None:
    # 2025-03-30 is the last Sunday of March: 02:00 CET -> 03:00 CEST.
    assert at(date(2025, 3, 29), time(8)) == datetime(2025, 3, 29, 7, 0, tzinfo=UTC)
    saturday_evening = datetime(2025, 3, 29, 19, 0, tzinfo=UTC)  # 20:00 CET
    assert not check(saturday_evening, METRO).allowed
    assert check(saturday_evening - MICRO, METRO).allowed
    monday = next_allowed(saturday_evening, METRO)
    assert monday == datetime(2025, 3, 31, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert not check(monday - MICRO, METRO).allowed
    assert window_end(monday, METRO) == datetime(2025, 3, 31, 18, 0, tzinfo=UTC)
    sunday_0830_cest = datetime(2025, 3, 30, 6, 30, tzinfo=UTC)
    assert check(sunday_0830_cest, METRO) == WindowCheck(False, "sunday")


def test_october_dst_in_paris() -> None:
    # 2025-10-26 is the last Sunday of October: 03:00 CEST -> 02:00 CET.
    assert next_allowed(datetime(2025, 10, 25, 5, 59, 59, tzinfo=UTC), METRO) == datetime(
        2025, 10, 25, 6, 0, tzinfo=UTC
    )
    assert window_end(datetime(2025, 10, 25, 12, tzinfo=UTC), METRO) == datetime(
        2025, 10, 25, 18, 0, tzinfo=UTC
    )
    monday = next_allowed(datetime(2025, 10, 25, 18, 0, tzinfo=UTC), METRO)
    assert monday == datetime(2025, 10, 27, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert not check(datetime(2025, 10, 27, 6, 59, 59, tzinfo=UTC), METRO).allowed
    assert window_end(monday, METRO) == datetime(2025, 10, 27, 19, 0, tzinfo=UTC)


def test_saint_pierre_et_miquelon_has_its_own_dst() -> None:
    # Miquelon: UTC-3 in winter, UTC-2 from the 2nd Sunday of March (2025-03-09).
    assert next_allowed(datetime(2025, 3, 8, 23, 0, tzinfo=UTC), SPM) == datetime(
        2025, 3, 10, 10, 0, tzinfo=UTC
    )
    assert window_end(datetime(2025, 3, 7, 12, 0, tzinfo=UTC), SPM) == datetime(
        2025, 3, 7, 23, 0, tzinfo=UTC
    )


ANYTIME = WindowPolicy(start=time(0, 0), end=time(23, 59, 59))
NOWHERE = (("FR", None),)


def test_a_skipped_local_midnight_opens_the_window_at_the_transition() -> None:
    # Cairo, Friday 2024-04-26: 00:00 -> 01:00. Window [00:00, 23:59:59) local.
    cairo = Locality("foreign", ("Africa/Cairo",), ())
    transition = datetime(2024, 4, 25, 22, 0, tzinfo=UTC)
    assert check(transition, cairo, ANYTIME).allowed
    assert check(transition - MICRO, cairo, ANYTIME) == WindowCheck(False, "quiet_hours")
    assert next_allowed(transition - timedelta(seconds=1), cairo, ANYTIME) == transition
    assert window_end(transition - timedelta(seconds=2), cairo, ANYTIME) == transition - timedelta(
        seconds=1
    )


def test_a_nonexistent_wall_time_is_read_as_the_instant_it_denotes() -> None:
    # 2024-04-26 00:00 never happened in Cairo; with fold=0 it denotes 22:00 UTC, 01:00 local.
    cairo = Locality("foreign", ("Africa/Cairo",), ())
    policy = WindowPolicy(start=time(0, 30), end=time(1, 30))
    ghost = datetime(2024, 4, 26, 0, 0, tzinfo=ZoneInfo("Africa/Cairo"))
    assert ghost.astimezone(UTC) == datetime(2024, 4, 25, 22, 0, tzinfo=UTC)
    assert check(ghost, cairo, policy) == WindowCheck(True, None)
    assert next_allowed(ghost, cairo, policy) is ghost


def test_a_repeated_local_hour_gives_two_windows() -> None:
    # Cairo, Thursday 2024-10-31: 24:00 -> 23:00, so 23:00-24:00 happens twice.
    cairo = Locality("foreign", ("Africa/Cairo",), ())
    policy = WindowPolicy(start=time(0, 0), end=time(23, 30))
    first_end = datetime(2024, 10, 31, 20, 30, tzinfo=UTC)  # 23:30 EEST
    second_start = datetime(2024, 10, 31, 21, 0, tzinfo=UTC)  # 23:00 EET, again
    assert window_end(first_end - MICRO, cairo, policy) == first_end
    assert not check(first_end, cairo, policy).allowed
    assert next_allowed(first_end, cairo, policy) == second_start
    assert window_end(second_start, cairo, policy) == datetime(2024, 10, 31, 21, 30, tzinfo=UTC)
    assert next_allowed(datetime(2024, 10, 31, 21, 30, tzinfo=UTC), cairo, policy) == datetime(
        2024, 10, 31, 22, 0, tzinfo=UTC
    )  # Friday 00:00 EET


def test_a_day_that_never_happened() -> None:
    # Samoa skipped Friday 2011-12-30 entirely.
    apia = Locality("foreign", ("Pacific/Apia",), ())
    thursday_evening = at(date(2011, 12, 29), time(20), "Pacific/Apia")
    saturday_morning = at(date(2011, 12, 31), time(8), "Pacific/Apia")
    # same-zone subtraction is wall-clock: compare in UTC
    assert saturday_morning.astimezone(UTC) - thursday_evening.astimezone(UTC) == timedelta(
        hours=12
    )
    assert next_allowed(thursday_evening, apia) == saturday_morning


# --- holidays -------------------------------------------------------------------------------


def test_good_friday_and_saint_stephen_only_in_alsace_moselle_and_unknown_department() -> None:
    for year in range(2020, 2041):
        good_friday = easter(year) - timedelta(days=2)
        saint_stephen = date(year, 12, 26)
        for day in (good_friday, saint_stephen):
            for locality in (MOSELLE, ALSACE, METRO_UNKNOWN):
                assert check(noon(day, locality), locality) == WindowCheck(
                    False, "public_holiday"
                ), (day, locality)
            metro = check(noon(day, METRO), METRO)
            if day.weekday() == 6:
                assert metro == WindowCheck(False, "sunday")
            else:
                assert metro == WindowCheck(True, None), day
        # Easter Monday is closed everywhere
        assert check(noon(easter(year) + timedelta(1), METRO), METRO).reason == "public_holiday"
    assert holiday_name(date(2025, 4, 18), MOSELLE) == "Vendredi saint"
    assert holiday_name(date(2025, 12, 26), METRO_UNKNOWN) == "Saint-Étienne"
    assert holiday_name(date(2025, 12, 26), METRO) is None


# (locality, month, day, first year, open elsewhere that year (a weekday, not a holiday in METRO))
OVERSEAS_DAYS = [
    (MAYOTTE, 4, 27, 2020, 2026),
    (MARTINIQUE, 5, 22, 2020, 2025),
    (GUADELOUPE, 5, 27, 2020, 2025),
    (GUYANE, 6, 10, 2020, 2025),
    (REUNION, 12, 20, 2020, 2025),
    (SAINT_BARTH, 10, 9, 2020, 2025),
    (SAINT_MARTIN, 5, 28, 2020, 2025),
    (POLYNESIE, 3, 5, 2020, 2025),
    (NOUMEA, 9, 24, 2020, 2025),
    (WALLIS, 7, 29, 2020, 2025),
    (WALLIS, 4, 28, 2020, 2025),
    (WALLIS, 6, 29, 2020, 2026),
    (GUADELOUPE, 7, 21, 2020, 2025),  # Victor Schoelcher
    (MARTINIQUE, 7, 21, 2020, 2025),
    (SAINT_MARTIN, 7, 21, 2020, 2025),
]


@pytest.mark.parametrize(("locality", "month", "day", "since", "open_year"), OVERSEAS_DAYS)
def test_overseas_holidays(
    locality: Locality, month: int, day: int, since: int, open_year: int
) -> None:
    for year in range(since, 2041):
        when = date(year, month, day)
        assert check(noon(when, locality), locality) == WindowCheck(False, "public_holiday"), when
        assert when in closed(locality, year)  # the package agrees with the written date
        assert holiday_name(when, locality) is not None
    when = date(open_year, month, day)
    assert check(noon(when, METRO), METRO) == WindowCheck(True, None)
    assert check(noon(when, SPM), SPM) == WindowCheck(True, None)


def test_plus_590_without_postal_code_closes_the_three_islands_days() -> None:
    for when in (date(2025, 5, 27), date(2025, 10, 9), date(2025, 5, 28)):
        assert check(noon(when, GUADELOUPE_ANY), GUADELOUPE_ANY).reason == "public_holiday"
    assert check(noon(date(2025, 10, 9), GUADELOUPE), GUADELOUPE).allowed
    assert check(noon(date(2025, 5, 27), SAINT_BARTH), SAINT_BARTH).allowed


def test_polynesia_autonomy_day_replaced_by_matarii() -> None:
    # What the holidays package gives: 29 June until 2024, Matāri'i (20 November) from 2025.
    assert holiday_name(date(2024, 6, 29), POLYNESIE) == "Fête de l'autonomie"
    assert check(noon(date(2024, 6, 29), POLYNESIE), POLYNESIE).reason == "public_holiday"
    assert holiday_name(date(2025, 11, 20), POLYNESIE) == "Matāri'i"
    assert check(noon(date(2025, 11, 20), POLYNESIE), POLYNESIE).reason == "public_holiday"
    assert check(noon(date(2026, 6, 29), POLYNESIE), POLYNESIE).allowed  # a Monday


def test_metropolitan_number_in_reunion_closes_both_calendars() -> None:
    assert check(noon(date(2025, 12, 20), FR_IN_REUNION), FR_IN_REUNION).reason == (
        "public_holiday"
    )
    assert check(noon(date(2025, 12, 26), FR_IN_REUNION), FR_IN_REUNION).reason == (
        "public_holiday"
    )
    # 08:00 in Réunion is 05:00 in Paris (winter): closed until 08:00 Paris = 11:00 Réunion
    tuesday = date(2025, 12, 2)
    start = next_allowed(at(tuesday, time(8), "Indian/Reunion"), FR_IN_REUNION)
    assert start == at(tuesday, time(8))
    assert window_end(start, FR_IN_REUNION) == at(tuesday, time(20), "Indian/Reunion")


def test_metropolitan_number_with_polynesian_postal_code_waits_for_winter() -> None:
    # Paris 08-20 and Tahiti 08-20 share one hour a day in winter (18:00-19:00 UTC, Paris in
    # CET) and none in summer: when in doubt, do not send.
    locality = locate(FR, "98700")
    start = next_allowed(datetime(2025, 6, 2, tzinfo=UTC), locality)
    assert start == datetime(2025, 10, 27, 18, 0, tzinfo=UTC)  # first Monday after DST ends
    assert window_end(start, locality) == datetime(2025, 10, 27, 19, 0, tzinfo=UTC)


def test_holiday_names() -> None:
    assert holiday_name(date(2025, 12, 20), REUNION) == "Abolition de l'esclavage"
    assert holiday_name(date(2025, 7, 14), POLYNESIE) == "Fête nationale"
    assert holiday_name(date(2025, 3, 4), METRO) is None
    belgium = locate(parse_phone("+32 470 12 34 56"))
    assert holiday_name(date(2025, 7, 21), belgium) == "Fête nationale"


# --- several zones --------------------------------------------------------------------------


def test_polynesia_is_allowed_only_when_allowed_in_each_zone() -> None:
    # Tahiti UTC-10, Marquesas UTC-9:30, Gambier UTC-9. Tuesday 2025-03-04.
    tahiti_0759 = datetime(2025, 3, 4, 17, 59, 59, tzinfo=UTC)
    assert check(tahiti_0759, POLYNESIE) == WindowCheck(False, "quiet_hours")
    assert next_allowed(tahiti_0759, POLYNESIE) == datetime(2025, 3, 4, 18, 0, tzinfo=UTC)
    # Gambier closes first: 20:00 there is 19:00 in Tahiti
    assert window_end(datetime(2025, 3, 4, 18, 0, tzinfo=UTC), POLYNESIE) == datetime(
        2025, 3, 5, 5, 0, tzinfo=UTC
    )
    assert check(datetime(2025, 3, 5, 4, 59, 59, tzinfo=UTC), POLYNESIE).allowed
    assert check(datetime(2025, 3, 5, 5, 0, tzinfo=UTC), POLYNESIE) == WindowCheck(
        False, "quiet_hours"
    )
    # Wednesday 5 March is a holiday (Arrivée de l'Évangile), Thursday opens at 08:00 Tahiti
    assert next_allowed(datetime(2025, 3, 5, 5, 0, tzinfo=UTC), POLYNESIE) == datetime(
        2025, 3, 6, 18, 0, tzinfo=UTC
    )
    # Saturday evening in Gambier is already Sunday in no zone, but Monday 08:00 Tahiti rules
    assert next_allowed(datetime(2025, 3, 8, 12, 0, tzinfo=UTC), POLYNESIE) == datetime(
        2025, 3, 8, 18, 0, tzinfo=UTC
    )
    assert next_allowed(datetime(2025, 3, 9, 5, 0, tzinfo=UTC), POLYNESIE) == datetime(
        2025, 3, 10, 18, 0, tzinfo=UTC
    )


def test_reason_is_the_first_failing_zone() -> None:
    # Gambier is on Sunday 00:30 while Tahiti is on Saturday 23:30... both fail; Tahiti first.
    both = datetime(2025, 3, 9, 9, 30, tzinfo=UTC)
    assert check(both, POLYNESIE) == WindowCheck(False, "quiet_hours")
    reordered = Locality("polynesie", ("Pacific/Gambier", "Pacific/Tahiti"), (("FR", "PF"),))
    assert check(both, reordered) == WindowCheck(False, "sunday")
    # a holiday in one zone only
    holiday_in_gambier = datetime(2025, 3, 5, 9, 30, tzinfo=UTC)  # Tahiti: 4 March 23:30
    assert check(holiday_in_gambier, reordered) == WindowCheck(False, "public_holiday")
    assert check(holiday_in_gambier, POLYNESIE) == WindowCheck(False, "quiet_hours")


def test_window_crossing_an_internal_block_boundary() -> None:
    # Tahiti's window (18:00-06:00 UTC) spans UTC midnight: find a schedule block boundary
    # falling inside one, and check window_end reaches the window's real end.
    tahiti = Locality("foreign", ("Pacific/Tahiti",), ())
    block_seconds = calendar_module._BLOCK_DAYS * 86_400
    found = 0
    for number in range(50, 60):  # 2020 .. 2030
        boundary = datetime.fromtimestamp(number * block_seconds, UTC)
        before = boundary - timedelta(hours=1)
        if not check(before, tahiti).allowed:
            continue
        found += 1
        local_end = datetime.combine(
            before.astimezone(ZoneInfo("Pacific/Tahiti")).date(),
            time(20),
            ZoneInfo("Pacific/Tahiti"),
        )
        assert window_end(before, tahiti) == local_end
        assert next_allowed(boundary, tahiti) is boundary
    assert found


# --- policies -------------------------------------------------------------------------------


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="Sunday"):
        WindowPolicy(days=frozenset(range(7)))
    with pytest.raises(ValueError, match="before"):
        WindowPolicy(start=time(20), end=time(8))
    with pytest.raises(ValueError, match="before"):
        WindowPolicy(start=time(8), end=time(8))
    with pytest.raises(ValueError, match="whole seconds"):
        WindowPolicy(start=time(8, 0, 0, 5))


def test_narrows() -> None:
    weekdays = WindowPolicy(days=frozenset(range(5)))
    late = WindowPolicy(start=time(10), end=time(18))
    wider = WindowPolicy(start=time(7), end=time(21))
    assert LEGAL_WINDOW.narrows(LEGAL_WINDOW)
    assert weekdays.narrows(LEGAL_WINDOW)
    assert late.narrows(LEGAL_WINDOW)
    assert not LEGAL_WINDOW.narrows(weekdays)
    assert not LEGAL_WINDOW.narrows(late)
    assert not wider.narrows(LEGAL_WINDOW)
    assert not WindowPolicy(start=time(7, 59, 59)).narrows(LEGAL_WINDOW)
    assert not WindowPolicy(end=time(20, 0, 1)).narrows(LEGAL_WINDOW)
    assert WindowPolicy(days=frozenset()).narrows(late)
    assert not weekdays.narrows(WindowPolicy(days=frozenset({5})))


def _clock(seconds: int) -> time:
    hours, rest = divmod(seconds, 3600)
    return time(hours, *divmod(rest, 60))


policies = st.builds(
    lambda days, bounds: WindowPolicy(
        days=frozenset(days), start=_clock(min(bounds)), end=_clock(max(bounds))
    ),
    st.sets(st.integers(0, 5), min_size=1),
    st.sets(st.integers(0, 86_399), min_size=2, max_size=2),
)
# At least four hours long: the localities below have zones at most three hours apart, so a
# window open in all of them always exists.
wide_policies = st.builds(
    lambda days, start, length: WindowPolicy(
        days=frozenset(days), start=_clock(start), end=_clock(min(start + length, 86_399))
    ),
    st.sets(st.integers(0, 5), min_size=1),
    st.integers(0, 86_399 - 14_400),
    st.integers(14_400, 86_399),
)


@given(policies, policies, st.integers(0, 10**6))
@settings(max_examples=60, deadline=None)
def test_narrowing_policy_never_allows_more(
    narrow: WindowPolicy, broad: WindowPolicy, seed: int
) -> None:
    if not narrow.narrows(broad):
        return
    instant = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=seed)
    if check(instant, METRO, narrow).allowed:
        assert check(instant, METRO, broad).allowed


def test_custom_policy() -> None:
    office = WindowPolicy(days=frozenset(range(5)), start=time(9), end=time(18))
    assert check(at(SATURDAY, time(12)), METRO, office) == WindowCheck(False, "quiet_hours")
    assert check(at(MONDAY, time(8, 30)), METRO, office) == WindowCheck(False, "quiet_hours")
    assert next_allowed(at(SATURDAY, time(12)), METRO, office) == at(
        SATURDAY + timedelta(2), time(9)
    )
    assert window_end(at(MONDAY, time(9)), METRO, office) == at(MONDAY, time(18))
    with pytest.raises(ValueError, match="no instant"):
        next_allowed(at(MONDAY, time(9)), METRO, WindowPolicy(days=frozenset()))


def test_zones_whose_windows_never_meet() -> None:
    # Tahiti and Gambier are an hour apart: a 30-minute window is never open in both.
    short = WindowPolicy(start=time(8), end=time(8, 30))
    monday = datetime(2025, 3, 3, 18, 0, tzinfo=UTC)  # 08:00 Tahiti, 09:00 Gambier
    assert not check(monday, POLYNESIE, short).allowed
    assert window_end(monday, POLYNESIE, short) is None
    with pytest.raises(ValueError, match="no instant"):
        next_allowed(monday, POLYNESIE, short)


def test_schedule_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_module, "_MAX_SCHEDULES", 3)
    for minute in range(8):
        policy = WindowPolicy(start=time(8, minute))
        next_allowed(at(MONDAY, time(7)), METRO, policy)
        assert len(calendar_module._schedules) <= 3
        assert len(calendar_module._by_identity) <= 3


# --- exhaustive: every territory, every day 2020-2040 ---------------------------------------

SAMPLE_TIMES = (time(7, 59, 59), time(8, 0), time(12, 0), time(19, 59, 59), time(20, 0))


@pytest.mark.slow
@pytest.mark.parametrize("locality", ALL, ids=lambda loc: f"{loc.territory}-{loc.holiday_regions}")
def test_exhaustive_2020_2040(locality: Locality) -> None:
    zones = [ZoneInfo(name) for name in locality.timezones]
    day = date(2020, 1, 1)
    closed_seen = allowed_seen = 0
    while day.year <= 2040:
        for zone in zones:
            for moment in SAMPLE_TIMES:
                instant = datetime.combine(day, moment, zone)
                expected = expected_allowed(instant, locality)
                found = next_allowed(instant, locality)
                if expected:
                    allowed_seen += 1
                    assert found is instant, instant
                else:
                    closed_seen += 1
                    assert found > instant, instant
                    assert expected_allowed(found, locality), (instant, found)
        noon_check = check(datetime.combine(day, time(12), zones[0]), locality)
        assert noon_check.allowed == expected_allowed(
            datetime.combine(day, time(12), zones[0]), locality
        )
        if day in closed(locality, day.year):
            assert noon_check.reason == "public_holiday", day
        day += timedelta(days=1)
    assert closed_seen and allowed_seen


# --- properties -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


def _assert_consistent(instant: datetime, locality: Locality, policy: WindowPolicy) -> None:
    found = next_allowed(instant, locality, policy)
    allowed = check(instant, locality, policy).allowed
    assert found >= instant
    assert check(found, locality, policy).allowed
    assert expected_allowed(found, locality, policy)
    assert (found == instant) is allowed
    assert allowed == expected_allowed(instant, locality, policy)
    # arithmetic in UTC: adding to a zone-aware datetime moves its wall clock, not the instant
    start, found = instant.astimezone(UTC), found.astimezone(UTC)
    if found > start:
        gap = found - start
        for k in range(1, 8):
            assert not check(start + gap * k // 8, locality, policy).allowed
        assert not check(found - MICRO, locality, policy).allowed
        assert window_end(instant, locality, policy) is None
    end = window_end(found, locality, policy)
    assert end is not None
    assert end > found
    assert check(end - MICRO, locality, policy).allowed
    assert not check(end, locality, policy).allowed
    span = end - found
    for k in range(1, 8):
        assert check(found + span * k // 8, locality, policy).allowed


@given(instants, st.sampled_from(ALL))
@settings(max_examples=400, deadline=None)
def test_properties_legal_window(instant: datetime, locality: Locality) -> None:
    _assert_consistent(instant, locality, LEGAL_WINDOW)


@given(instants, st.sampled_from([METRO_UNKNOWN, POLYNESIE, SPM, FR_IN_REUNION]), wide_policies)
@settings(max_examples=100, deadline=None)
def test_properties_any_policy(instant: datetime, locality: Locality, policy: WindowPolicy) -> None:
    _assert_consistent(instant, locality, policy)


ZONES = sorted(available_timezones())


def _transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """UTC instants where the zone's offset changes during ``year`` (hourly scan + bisection)."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        later = moment + timedelta(hours=1)
        offset = later.astimezone(zone).utcoffset()
        if offset != previous:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle.astimezone(zone).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            found.append(high)
            previous = offset
        moment = later
    return found


@given(
    st.sampled_from(ZONES),
    st.integers(1975, 2037),
    policies,
    st.lists(st.integers(-3 * 86_400, 3 * 86_400), min_size=1, max_size=4),
)
@settings(max_examples=40, deadline=None)
def test_any_zone_around_its_offset_changes(
    zone_name: str, year: int, policy: WindowPolicy, shifts: list[int]
) -> None:
    """check (wall clock) and the schedule agree in every zone, also at offset changes."""
    locality = Locality("foreign", (zone_name,), ())
    zone = ZoneInfo(zone_name)
    anchors = _transitions(zone, year) or [datetime(year, 6, 1, tzinfo=UTC)]
    for anchor in anchors:
        for delta in (-1, 0, 1, *shifts):
            _assert_consistent(anchor + timedelta(seconds=delta), locality, policy)
        local = anchor.astimezone(zone)
        for moment in (policy.start, policy.end):
            for fold in (0, 1):
                wall = datetime.combine(local.date(), moment, zone).replace(fold=fold)
                _assert_consistent(wall, locality, policy)
                _assert_consistent(wall - MICRO, locality, policy)
