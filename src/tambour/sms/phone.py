"""Phone numbers: any usual notation to E.164, validity, mobility and region.

Pure: no I/O. ``parse_phone`` has fast paths, regular expressions built from the
``phonenumbers`` metadata, for the plain notations of a contact file: French mobiles
(``06 12 34 56 78``, ``+33 6…``, ``0033 6…``, ``33 6…`` as spreadsheets strip the ``+``), the
other valid French numbers (fixed lines, VoIP, 08…) in the same notations, and the overseas
numbers of the French plan in national notation (``0690 …``, ``0639 …``, ``0262 …``). They give
exactly the answer of the ``phonenumbers`` slow path (tests compare them on every range of the
plan and on generated notations) and fall back to it for anything else, invalid numbers included.

The French overseas departments share the French ten-digit numbering plan: ``0639 …`` is a
Mayotte mobile (+262 639 …), ``0690 …`` a Guadeloupe one (+590 690 …), and so on. With a default
region of that plan, a number written in national format is resolved through the plan's
prefixes, which ``phonenumbers`` alone does not do (it reads ``0639…`` as an invalid +33 number).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final, NamedTuple

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
)
from phonenumbers.phonenumber import CountryCodeSource

__all__ = ["PhoneInfo", "parse_phone"]


class PhoneInfo(NamedTuple):
    """What Tambour needs to know about one phone number.

    A named tuple: immutable, compared and hashed by value, and built several times faster than
    a frozen dataclass (it is made for every row of a contact import).
    """

    e164: str | None  # None when unparseable
    valid: bool
    mobile: bool  # MOBILE or FIXED_LINE_OR_MOBILE
    region: str | None  # phonenumbers region code: FR, GP, BL, MF, GF, MQ, RE, YT, PM, ...


_UNPARSEABLE: Final = PhoneInfo(e164=None, valid=False, mobile=False, region=None)
_MOBILE_TYPES: Final = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

# Regions sharing the French ten-digit plan (0 + 9 digits), and the national prefixes
# (first digits of the 9-digit national significant number) of its overseas regions.
# A +262 number parsed for RE may turn out to be Mayotte (YT): region_code_for_number decides.
_FRENCH_PLAN_REGIONS: Final = frozenset({"FR", "GP", "BL", "MF", "GF", "MQ", "RE", "YT"})
_PLAN_PREFIXES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("590", ("GP",)),
    ("690", ("GP",)),
    ("691", ("GP",)),
    ("594", ("GF",)),
    ("694", ("GF",)),
    ("596", ("MQ",)),
    ("696", ("MQ",)),
    ("697", ("MQ",)),
    ("262", ("RE",)),
    ("263", ("RE",)),
    ("692", ("RE",)),
    ("693", ("RE",)),
    ("269", ("RE",)),  # Mayotte fixed lines (+262 269)
    ("639", ("RE",)),  # Mayotte mobiles (+262 639)
    ("709", ("GP", "MQ", "RE", "GF")),  # 07 09 x: overseas mobiles, x tells the department
)
# Country codes of French overseas territories that a spreadsheet may have stripped the + from.
_OVERSEAS_CODES: Final = ("262", "508", "590", "594", "596", "681", "687", "689")


def _plan_regions(nsn: str) -> tuple[str, ...]:
    for prefix, regions in _PLAN_PREFIXES:
        if nsn.startswith(prefix):
            return regions
    return ("FR",)


def _info(number: PhoneNumber) -> PhoneInfo:
    valid = phonenumbers.is_valid_number(number)
    mobile = valid and phonenumbers.number_type(number) in _MOBILE_TYPES
    return PhoneInfo(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        valid=valid,
        mobile=mobile,
        region=phonenumbers.region_code_for_number(number),
    )


def _parse_slow(raw: str, default_region: str = "FR") -> PhoneInfo:
    """The reference path: ``phonenumbers`` plus the French plan's overseas prefixes."""
    try:
        number = phonenumbers.parse(raw, default_region, keep_raw_input=True)
    except NumberParseException:
        return _UNPARSEABLE
    if (
        default_region in _FRENCH_PLAN_REGIONS
        and number.country_code_source == CountryCodeSource.FROM_DEFAULT_COUNTRY
    ):
        nsn = str(number.national_number)
        for region in _plan_regions(nsn):
            if phonenumbers.country_code_for_region(region) == number.country_code:
                break  # the number already carries the plan's country code
            try:
                alternative = phonenumbers.parse(raw, region)
            except NumberParseException:  # pragma: no cover - parsed once already
                continue
            if phonenumbers.is_valid_number(alternative):
                return _info(alternative)
    info = _info(number)
    if not info.valid:
        digits = raw.strip()
        if digits.isdigit() and digits.startswith(_OVERSEAS_CODES):
            try:
                alternative = phonenumbers.parse("+" + digits, None)
            except NumberParseException:
                return info
            if phonenumbers.is_valid_number(alternative):
                return _info(alternative)
    return info


# --- fast paths ----------------------------------------------------------------------------
#
# Each fast answer is a regular expression, applied with ``fullmatch`` to the raw text once its
# spaces, dots and dashes are removed: a notation, then lookaheads that decide, at the start of
# the nine-digit national number (NSN), what ``phonenumbers`` would answer for it. French mobiles,
# the hot path of a contact import, take a single one. The lookaheads are built from the
# library's own metadata (not copied), following its algorithm: the number type
# (``_number_type_helper``: general description, then premium rate ... voicemail, then fixed
# line, then mobile) and, for a country code shared by several regions, the region
# (``region_code_for_number``: without leading digits in the metadata, the first region where
# the number is valid). A metadata not of the expected shape disables the fast path concerned;
# the tests compare the fast paths with the slow path on every range of the French plan and on
# generated notations.

_NSN: Final = "[1-9][0-9]{8}"  # ASCII digits; phonenumbers keeps the NSN as an int: no leading 0
_NEVER: Final = "(?!)"
# Types that phonenumbers checks before FIXED_LINE and MOBILE, in its order.
_TYPES_BEFORE_FIXED: Final = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
# After removing spaces, dots and dashes: optional +33 / 0033 / 33, optional (0) or 0.
_FR_NOTATION: Final = r"(?:\+33|0033|33)?(?:\(0\)|0)?"
# National notation only (no country code): the slow path then resolves the plan's prefixes.
_NATIONAL_NOTATION: Final = r"(?:\(0\)|0)?"


def _desc_source(metadata: PhoneMetadata, kind: str) -> str:
    """``(?:pattern)\\Z`` if a nine-digit NSN can be of this kind, else a never-matching regex."""
    desc = getattr(metadata, kind)
    if desc is None or not desc.national_number_pattern:
        return _NEVER
    if desc.possible_length and 9 not in desc.possible_length:
        return _NEVER
    return f"(?:{desc.national_number_pattern})\\Z"


@dataclass(frozen=True, slots=True)
class _Verdicts:
    """Lookaheads on a nine-digit NSN: its type in one region, as phonenumbers decides it."""

    mobile: str  # valid, MOBILE or FIXED_LINE_OR_MOBILE
    other: str  # valid, of another type


def _verdicts(region: str) -> _Verdicts | None:
    """None when the region's metadata is not of the French plan's shape (0 national prefix...)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if (
        metadata is None
        or metadata.same_mobile_and_fixed_line_pattern
        or metadata.national_prefix_for_parsing != "0"
        or metadata.national_prefix_transform_rule is not None
        or metadata.international_prefix != "00"
    ):
        return None
    general = _desc_source(metadata, "general_desc")
    others = "|".join(
        source for kind in _TYPES_BEFORE_FIXED if (source := _desc_source(metadata, kind)) != _NEVER
    )
    others = others or _NEVER
    fixed = _desc_source(metadata, "fixed_line")
    mobile = _desc_source(metadata, "mobile")
    return _Verdicts(
        mobile=f"(?={general})(?!{others})(?={mobile})",
        other=f"(?={general})(?:(?={others})|(?={fixed})(?!{mobile}))",
    )


_Check = Callable[[str], re.Match[str] | None]
# A fast answer: the check, the E.164 prefix (+ country code), mobile, region.
_Outcome = tuple[_Check, str, bool, str]


def _french_checks() -> tuple[_Check | None, tuple[_Outcome, ...]]:
    """The French mobile check, and the other valid French numbers (not of the plan prefixes)."""
    france = _verdicts("FR")
    if (
        france is None
        or phonenumbers.country_code_for_region("FR") != 33
        or phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(33) != ("FR",)
    ):
        return None, ()
    head = _FR_NOTATION + "(?!" + "|".join(prefix for prefix, _ in _PLAN_PREFIXES) + ")"
    mobile = re.compile(f"{head}{france.mobile}{_NSN}").fullmatch
    other = re.compile(f"{head}{france.other}{_NSN}").fullmatch
    return mobile, ((other, "+33", False, "FR"),)


_FAST_MOBILE, _FAST_FRENCH = _french_checks()
# Overseas prefixes of a single region of the plan (07 09 x, of several, takes the slow path).
_OVERSEAS_PREFIXES: Final = {
    prefix: regions[0] for prefix, regions in _PLAN_PREFIXES if len(regions) == 1
}


@cache  # compiled on first use: most contact files have no overseas number
def _overseas_outcomes(plan_region: str) -> tuple[_Outcome, ...]:
    """Fast answers for the prefixes of ``plan_region`` in national notation.

    The slow path parses such a number again for ``plan_region`` and, when valid, answers what
    phonenumbers says of it: E.164, type, and region among those of the country code (a +262
    number may be Mayotte's, a +590 one Saint-Barthélemy's).
    """
    if _FAST_MOBILE is None or _verdicts(plan_region) is None:  # read as FR, then plan_region
        return ()
    prefixes = "|".join(p for p, region in _OVERSEAS_PREFIXES.items() if region == plan_region)
    head = f"{_NATIONAL_NOTATION}(?={prefixes})"
    country_code = phonenumbers.country_code_for_region(plan_region)
    outcomes: list[_Outcome] = []
    # In region_code_for_number's order: the first region of the code where the number is valid
    # is its region; the first outcome that matches is the answer.
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = PhoneMetadata.metadata_for_region(region)
        verdicts = _verdicts(region)
        if metadata is None or metadata.leading_digits is not None or verdicts is None:
            return ()  # region_code_for_number would not simply take the first valid region
        for kind, is_mobile in ((verdicts.mobile, True), (verdicts.other, False)):
            check = re.compile(f"{head}{kind}{_NSN}").fullmatch
            outcomes.append((check, f"+{country_code}", is_mobile, region))
    return tuple(outcomes)


_new_info: Final = tuple.__new__  # PhoneInfo without the keyword-argument machinery


def _clean(raw: str) -> str:
    return raw.replace(" ", "").replace(".", "").replace("-", "")


def _parse_fast(raw: str) -> PhoneInfo | None:
    """French mobile in a plain notation, default region FR; None when not sure."""
    if _FAST_MOBILE is None or len(raw) > 32:
        return None
    text = _clean(raw)
    if _FAST_MOBILE(text) is None:
        return None
    return _new_info(PhoneInfo, ("+33" + text[-9:], True, True, "FR"))


def _parse_fast_other(raw: str) -> PhoneInfo | None:
    """Other valid numbers of the French plan in a plain notation, default region FR.

    French fixed lines, VoIP, 08 numbers, in any notation; overseas numbers (0639, 069x, 0590,
    0262 ...) in national notation. None when not sure.
    """
    if len(raw) > 32:
        return None
    return _fast_other(_clean(raw))


def _fast_other(text: str) -> PhoneInfo | None:
    # The dispatch on the NSN's first three digits only skips checks that cannot match: each
    # check tests the prefix itself.
    plan_region = _OVERSEAS_PREFIXES.get(text[-9:-6])
    outcomes = _FAST_FRENCH if plan_region is None else _overseas_outcomes(plan_region)
    for check, prefix, mobile, region in outcomes:
        if check(text) is not None:
            return _new_info(PhoneInfo, (prefix + text[-9:], True, mobile, region))
    return None


def parse_phone(raw: str, default_region: str = "FR") -> PhoneInfo:
    """Parse a phone number written in any usual notation.

    ``e164`` is None only when nothing number-like could be read; an invalid number that could
    be read keeps its E.164 form with ``valid=False`` (and ``mobile=False``).
    """
    if default_region == "FR" and len(raw) <= 32 and _FAST_MOBILE is not None:
        # _parse_fast inlined: this is the hot path of a contact import.
        text = raw.replace(" ", "").replace(".", "").replace("-", "")
        if _FAST_MOBILE(text) is not None:
            return _new_info(PhoneInfo, ("+33" + text[-9:], True, True, "FR"))
        fast = _fast_other(text)
        if fast is not None:
            return fast
    return _parse_slow(raw, default_region)
