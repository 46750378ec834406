"""Cell values of the canonical contact file (rules.md section 2): booleans, dates, lists.

Each parser returns the value or raises `ValueError` with a message saying what was expected.
"""

import re
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

_TRUE = frozenset({"yes", "true", "1", "oui", "y", "o", "vrai"})
_FALSE = frozenset({"no", "false", "0", "non", "n", "faux"})
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_bool(value: str) -> bool | None:
    """yes/no, true/false, 1/0, oui/non (any case); empty is None."""
    key = value.strip().casefold()
    if not key:
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(
        f"{value.strip()!r} is not a yes/no value (yes, no, oui, non, true, false, 1, 0)"
    )


@lru_cache(maxsize=65536)  # files repeat their dates; a hit costs a dictionary look-up
def parse_datetime(value: str) -> datetime | None:
    """ISO 8601 date or date-time; without a zone it is Europe/Paris. Returned in UTC.

    French spreadsheet notation dd/mm/yyyy [hh:mm[:ss]] is accepted as well (never mm/dd).
    """
    text = value.strip()
    if not text:
        return None
    match = _FRENCH_DATE.fullmatch(text) if "/" in text else None
    try:
        if match:
            d, m, y, hh, mm, ss = match.groups()
            parsed = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        elif len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), time())
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (ISO 8601 like 2024-03-15 or 2024-03-15T10:30:00+01:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PARIS)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 in Paris is before the first instant Python knows
        raise ValueError(f"{text!r} is out of the range of dates") from None


def paris_time(instant: datetime | str | None, *, seconds: bool = False) -> str:
    """An instant as a French reader writes it, in Paris time (`27/03/2027 13:00`, with
    `seconds` `27/03/2027 13:00:05`): what `parse_datetime` reads back. An ISO 8601 string is
    read first (without an offset: UTC, as the database stores it); '' for none."""
    if instant is None or instant == "":
        return ""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    local = instant.astimezone(PARIS)
    return f"{local:%d/%m/%Y %H:%M:%S}" if seconds else f"{local:%d/%m/%Y %H:%M}"
