"""Day words in a message and the days it actually leaves: a plan-report WARNING, never a block.

A text that says "ce samedi" or "demain" is right only on the day it was written for. The sending
window (rules.md section 4) may hold messages to a later day (quiet hours, Sunday, a holiday, a
recipient's own time zone), so the day a recipient reads the text may not be the day the marketer
had in mind. `day_warnings` compares the words with the local dates of the first sends, which the
caller computes in each recipient's time zone, and says what to check, in English.

- A named weekday ("samedi", "ce dimanche") is compared with the first send day: another weekday
  gets a warning naming the day the word will be read as (the next such weekday); later send days
  that fall after that day get one too (those recipients read about a day that has passed).
  "demain samedi" expects to leave the day before Saturday.
- Not warned: a weekday with its date ("samedi 27 mars", "samedi 27/03": the date says which),
  a period ("du lundi au samedi", "lundi-vendredi"), a habit ("le dimanche", "ouvert le
  dimanche", "tous les lundis", "chaque mardi", "sauf dimanche", plurals).
- Relative words ("aujourd'hui", "ce soir", "ce matin", "ce midi", "cet après-midi", "cette nuit",
  "demain", "après-demain") are right for one send day only: sends over more than one day get a
  warning saying how many. "ce week-end" and "cette semaine" stay right within one week, so they
  are warned about only when the sends span more than one calendar week (Monday to Sunday).
"""

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Final

_WEEKDAYS_FR: Final = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_WEEKDAYS_EN: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_DAY = "(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"
_APOSTROPHE = "['’ʼ]"
_E = "[eéèêEÉÈÊ]"

_PLACEHOLDER: Final = re.compile(r"\{[^{}]*\}")
# A period of weekdays, blanked before the weekdays are read: "du lundi au samedi".
_PERIOD: Final = re.compile(
    rf"(?i)(?<!\w)(?:du\s+|de\s+)?{_DAY}s?\s*(?:au|à|a|-|–|—)\s*{_DAY}s?(?!\w)"
)
_WEEKDAY: Final = re.compile(
    rf"(?i)(?<!\w)(?:(?P<before>le|les|tous\s+les|chaque|sauf|ce|demain|aujourd{_APOSTROPHE}hui)"
    rf"\s+)?(?P<day>{_DAY})(?P<plural>s)?(?!\w)(?P<date>\s+(?:\d{{1,2}}(?:er)?|1{_E}r)(?![\d:])(?!\s*h(?![a-z])))?"
)
# Relative words: (pattern, kind) where kind is "day" (right on one send day only) or "week".
_RELATIVE: Final = re.compile(
    rf"(?i)(?<![\w-])(?:"
    rf"(?P<day>aujourd{_APOSTROPHE}hui|apr{_E}s[- ]demain|demain|ce\s+soir|ce\s+matin|ce\s+midi|"
    rf"cet\s+apr{_E}s[- ]midi|cette\s+nuit)"
    rf"|(?P<week>ce\s+week[- ]?end|cette\s+semaine))(?![\w-])"
)
_SPACES: Final = re.compile(r"\s+")


def day_warnings(text: str, send_days: Sequence[date]) -> list[str]:
    """Warnings, in the order of the text, for the day words that the send days contradict.

    `send_days`: the distinct local dates on which the campaign's messages first leave (each
    recipient's own time zone). No send day, no warning."""
    if not send_days:
        return []
    days = sorted(set(send_days))
    literal = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)
    literal = _PERIOD.sub(lambda m: " " * len(m.group(0)), literal)
    found: list[tuple[int, str]] = []
    seen: set[str] = set()
    for match in _WEEKDAY.finditer(literal):
        quoted = _SPACES.sub(" ", match.group(0).strip())
        if quoted.casefold() in seen:
            continue
        seen.add(quoted.casefold())
        warning = _weekday_warning(match, quoted, days)
        if warning:
            found.append((match.start(), warning))
    for match in _RELATIVE.finditer(literal):
        quoted = _SPACES.sub(" ", match.group(0))
        if quoted.casefold() in seen:
            continue
        seen.add(quoted.casefold())
        warning = _relative_warning(quoted, match.group("week") is not None, days)
        if warning:
            found.append((match.start(), warning))
    return [warning for _, warning in sorted(found, key=lambda f: f[0])]


def _weekday_warning(match: "re.Match[str]", quoted: str, days: list[date]) -> str | None:
    before = _SPACES.sub(" ", (match.group("before") or "").casefold())
    if match.group("plural") or match.group("date"):
        return None  # every Saturday, or a day given with its date
    if before in ("le", "les", "tous les", "chaque", "sauf"):
        return None  # a habit: "ouvert le dimanche", "sauf lundi"
    named = _WEEKDAYS_FR.index(match.group("day").casefold())
    # "demain samedi" is written to leave on Friday; "samedi" to leave on Saturday.
    offset = 1 if before == "demain" else 0
    first = days[0]
    meant = first + timedelta(days=(named - offset - first.weekday()) % 7 + offset)
    if (meant - first).days != offset:
        return (
            f"the text says '{quoted}' but the first messages leave on {_day(first)}: "
            f"recipients will read it as {_day(meant)}"
        )
    if len(days) > 1:  # the first day is right: every later one is not
        later = days[1:]
        return (
            f"the text says '{quoted}' ({_day(meant)}) but some messages leave later, from "
            f"{_day(later[0])} ({len(later)} later day{'s' if len(later) > 1 else ''}): for "
            f"the recipients held until then, '{quoted}' names another day"
        )
    return None


def _relative_warning(quoted: str, week: bool, days: list[date]) -> str | None:
    if week:
        weeks = {d - timedelta(days=d.weekday()) for d in days}
        if len(weeks) < 2:
            return None
        return (
            f"the text says '{quoted}' but the messages leave over {len(weeks)} different weeks, "
            f"from {_day(days[0])} to {_day(days[-1])}: for the recipients held into a later "
            f"week, '{quoted}' names another week"
        )
    if len(days) < 2:
        return None
    return (
        f"the text says '{quoted}' but the messages leave over {len(days)} different days, "
        f"from {_day(days[0])} to {_day(days[-1])}: for the recipients held past the first "
        f"day, '{quoted}' names another day"
    )


def _day(day: date) -> str:
    return f"{_WEEKDAYS_EN[day.weekday()]} {day.isoformat()}"
