"""SMPP time strings: absolute times in UTC for validity_period, and reading them back."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tambour.dispatch.smpp.times import absolute_time, parse_time

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def test_absolute_times_are_written_in_utc() -> None:
    paris = datetime(2026, 11, 28, 20, 0, 0, 700_000, tzinfo=ZoneInfo("Europe/Paris"))
    assert absolute_time(paris) == "261128190000700+"
    assert parse_time("261128190000700+", NOW) == paris
    with pytest.raises(ValueError, match="offset"):
        absolute_time(datetime(2026, 11, 28, 20, 0))


def test_offsets_in_quarter_hours() -> None:
    assert parse_time("261128200000004+", NOW) == datetime(
        2026, 11, 28, 20, 0, tzinfo=timezone(timedelta(hours=1))
    )
    martinique = parse_time("261128150000016-", NOW)
    assert martinique == datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def test_relative_times_count_from_now() -> None:
    assert parse_time("000001023000000R", NOW) == NOW + timedelta(days=1, hours=2, minutes=30)


@pytest.mark.parametrize("value", ["", "2611281900", "261328190000000+", "26112819000000X+"])
def test_unreadable_times(value: str) -> None:
    assert parse_time(value, NOW) is None
