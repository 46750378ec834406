"""Where a recipient is, for the sending window: time zones and public-holiday calendars.

Pure: no I/O. The territory comes from the number (rules.md §4) and is refined by the postal
code. When the two disagree, or when the number alone cannot tell (a metropolitan number without
a postal code, a +590 number), the result is the *intersection* of the candidate windows: every
candidate time zone and the union of every candidate holiday calendar. When in doubt, do not send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from phonenumbers import NumberParseException
from phonenumbers import timezone as phone_timezone

from tambour.sms.phone import PhoneInfo

__all__ = ["TERRITORIES", "Locality", "locate"]

HolidayRegion = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class Locality:
    """A recipient's territory, its time zones and its holiday calendars.

    A send is allowed only when it is allowed in EACH time zone; the UNION of the holidays of
    every ``(country, subdiv)`` of ``holiday_regions`` (``holidays`` package codes) is closed.
    """

    territory: str  # stable code, shown to users
    timezones: tuple[str, ...]  # IANA names
    holiday_regions: tuple[HolidayRegion, ...]

    def __post_init__(self) -> None:
        if not self.timezones:
            raise ValueError("a locality needs at least one time zone")
        for name in self.timezones:
            _check_zone(name)
        for country, subdiv in self.holiday_regions:
            _check_holiday_region(country, subdiv)


@cache
def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@cache
def _check_holiday_region(country: str, subdiv: str | None) -> None:
    try:
        holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError as exc:
        raise ValueError(f"unknown holiday calendar {country!r} {subdiv!r}") from exc


# Territory code -> (time zones, holiday regions), for a recipient known to be there.
_METROPOLE: Final = (("Europe/Paris",), (("FR", None),))
TERRITORIES: Final[dict[str, tuple[tuple[str, ...], tuple[HolidayRegion, ...]]]] = {
    "metropole": _METROPOLE,
    "alsace_moselle": (("Europe/Paris",), (("FR", "57"), ("FR", "6AE"))),
    "guadeloupe": (("America/Guadeloupe",), (("FR", "971"),)),
    "saint_barthelemy": (("America/St_Barthelemy",), (("FR", "BL"),)),
    "saint_martin": (("America/Marigot",), (("FR", "MF"),)),
    "guyane": (("America/Cayenne",), (("FR", "973"),)),
    "martinique": (("America/Martinique",), (("FR", "972"),)),
    "reunion": (("Indian/Reunion",), (("FR", "974"),)),
    "mayotte": (("Indian/Mayotte",), (("FR", "976"),)),
    "saint_pierre_et_miquelon": (("America/Miquelon",), (("FR", "PM"),)),
    "nouvelle_caledonie": (("Pacific/Noumea",), (("FR", "NC"),)),
    "polynesie": (
        ("Pacific/Tahiti", "Pacific/Marquesas", "Pacific/Gambier"),
        (("FR", "PF"),),
    ),
    "wallis_et_futuna": (("Pacific/Wallis",), (("FR", "WF"),)),
}

# Number region (phonenumbers) -> territory. +590 (GP, BL, MF) is handled apart: the three
# share their numbers, so phonenumbers' region among them proves nothing.
_REGION_TERRITORY: Final = {
    "GF": "guyane",
    "MQ": "martinique",
    "RE": "reunion",
    "YT": "mayotte",
    "PM": "saint_pierre_et_miquelon",
    "NC": "nouvelle_caledonie",
    "PF": "polynesie",
    "WF": "wallis_et_futuna",
}
_PLUS_590: Final = frozenset({"GP", "BL", "MF"})
# Families: a postal code inside the number's family refines it; outside, both windows apply.
_FAMILY: Final = {
    "metropole": "FR",
    "alsace_moselle": "FR",
    "guadeloupe": "590",
    "saint_barthelemy": "590",
    "saint_martin": "590",
}

_POSTAL_CODE: Final = re.compile(r"[0-9]{5}")
_OVERSEAS_POSTAL: Final = {
    "972": "martinique",
    "973": "guyane",
    "974": "reunion",
    "975": "saint_pierre_et_miquelon",
    "976": "mayotte",
    "986": "wallis_et_futuna",
    "987": "polynesie",
    "988": "nouvelle_caledonie",
}


@lru_cache(maxsize=16384)
def _postal_key(postal_code: str | None) -> str | None:
    """The postal code reduced to what locates it; None when absent, malformed or unknown.

    Keys: ``metropole``, ``57``, ``6AE``, a territory code, or ``971`` (Guadeloupe proper).
    Unknown prefixes (00, 96, 99, 977/978 which are not postal codes, 980 Monaco, 984 TAAF, ...)
    count as absent: the number alone then decides, with its cautious defaults.
    """
    if postal_code is None:
        return None
    code = postal_code.strip().replace(" ", "")
    if _POSTAL_CODE.fullmatch(code) is None:
        return None
    department = code[:2]
    if department == "57":
        return "57"
    if department in ("67", "68"):
        return "6AE"
    if "01" <= department <= "95":
        return "metropole"
    if code[:3] == "971":
        if code == "97133":
            return "saint_barthelemy"
        if code == "97150":
            return "saint_martin"
        return "971"
    return _OVERSEAS_POSTAL.get(code[:3])


def _postal_locality(key: str) -> Locality:
    if key == "57":
        return Locality("alsace_moselle", ("Europe/Paris",), (("FR", "57"),))
    if key == "6AE":
        return Locality("alsace_moselle", ("Europe/Paris",), (("FR", "6AE"),))
    if key == "971":
        return _territory("guadeloupe")
    return _territory(key)


def _territory(code: str) -> Locality:
    zones, regions = TERRITORIES[code]
    return Locality(code, zones, regions)


def _number_locality(region: str) -> Locality:
    """The locality the number alone gives (French territories only)."""
    if region == "FR":
        # Unknown department: metropolitan and Alsace-Moselle holidays together.
        return Locality("metropole", ("Europe/Paris",), (("FR", None), ("FR", "57"), ("FR", "6AE")))
    if region in _PLUS_590:
        return Locality(
            "guadeloupe", ("America/Guadeloupe",), (("FR", "971"), ("FR", "BL"), ("FR", "MF"))
        )
    return _territory(_REGION_TERRITORY[region])


def _merge(first: Locality, second: Locality) -> Locality:
    """Both windows at once, shown as ``first``'s territory."""
    zones = tuple(dict.fromkeys(first.timezones + second.timezones))
    regions = tuple(dict.fromkeys(first.holiday_regions + second.holiday_regions))
    return Locality(first.territory, zones, regions)


@lru_cache(maxsize=256)
def _locate_french(region: str, postal: str | None) -> Locality:
    number = _number_locality(region)
    if postal is None:
        return number
    by_postal = _postal_locality(postal)
    family = _FAMILY.get(number.territory, number.territory)
    if _FAMILY.get(by_postal.territory, by_postal.territory) == family:
        return by_postal
    return _merge(by_postal, number)


@lru_cache(maxsize=1024)
def _foreign_zones(e164: str) -> tuple[str, ...]:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException as exc:
        raise ValueError(f"cannot read {e164!r}") from exc
    zones = tuple(
        zone for zone in phone_timezone.time_zones_for_number(number) if zone != "Etc/Unknown"
    )
    if not zones:
        raise ValueError("no time zone is known for this number")
    return zones


@lru_cache(maxsize=512)
def _foreign_locality(region: str, zones: tuple[str, ...]) -> Locality:
    known = region in holidays.list_supported_countries()
    return Locality("foreign", zones, ((region, None),) if known else ())


def locate(phone: PhoneInfo, postal_code: str | None = None) -> Locality:
    """The recipient's locality, from a valid number and an optional postal code.

    Raises ValueError for an invalid number (it is never sent to) or a number with no known
    time zone (non-geographic numbering such as +800).
    """
    if not phone.valid or phone.e164 is None or phone.region is None:
        raise ValueError("cannot locate an invalid phone number")
    postal = _postal_key(postal_code)
    region = phone.region
    if region == "FR" or region in _PLUS_590 or region in _REGION_TERRITORY:
        return _locate_french(region, postal)
    foreign = _foreign_locality(region, _foreign_zones(phone.e164))
    if postal is None:
        return foreign
    return _locate_foreign_with_postal(foreign, postal)


@lru_cache(maxsize=256)
def _locate_foreign_with_postal(foreign: Locality, postal: str) -> Locality:
    return _merge(_postal_locality(postal), foreign)
