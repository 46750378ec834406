"""SMPP v3.4 time strings (section 7.1.1), for schedule_delivery_time and validity_period.

Absolute: `YYMMDDhhmmsstnnp`: tenths of a second `t`, then the offset from UTC in quarter hours
`nn` and its direction `p` (`+` ahead of UTC, `-` behind). Relative: the same fields as an
amount of time, ending `000R`. Tambour writes absolute times in UTC (`...000+`): a carrier
does not deliver a part after its validity period, so a message that could not reach a handset
before the sending window closes is dropped by the carrier, not delivered at night.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Final

_TIME: Final = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([+\-R])")


@lru_cache(maxsize=1024)  # the messages of one window share their validity: once a message
def absolute_time(instant: datetime) -> str:
    """`instant` (aware) as an absolute SMPP time in UTC."""
    if instant.tzinfo is None:
        raise ValueError("an SMPP time needs an instant with its offset")
    utc = instant.astimezone(UTC)
    return f"{utc:%y%m%d%H%M%S}{utc.microsecond // 100_000}00+"


def parse_time(value: str, now: datetime) -> datetime | None:
    """The instant an SMPP time string stands for (a relative one counts from `now`, months of
    30 days and years of 365); None for an empty or unreadable one."""
    match = _TIME.fullmatch(value)
    if match is None:
        return None
    yy, mo, dd, hh, mi, ss, tenths, quarters, direction = match.groups()
    if direction == "R":
        return now + timedelta(
            days=365 * int(yy) + 30 * int(mo) + int(dd),
            hours=int(hh),
            minutes=int(mi),
            seconds=int(ss),
        )
    offset = timedelta(minutes=15 * int(quarters)) * (1 if direction == "+" else -1)
    try:
        return datetime(
            2000 + int(yy),
            int(mo),
            int(dd),
            int(hh),
            int(mi),
            int(ss),
            int(tenths) * 100_000,
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None
