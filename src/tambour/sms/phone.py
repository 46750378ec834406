"""Phone numbers: any usual notation to E.164, validity, mobility and region.

Pure: no I/O. ``parse_phone`` has a hand-written fast path for the plain French mobile
notations of a contact file (``06 12 34 56 78``, ``+33 6…``, ``0033 6…``, ``33 6…`` as
spreadsheets strip the ``+``); it gives exactly the answer of the ``phonenumbers`` slow path
(a test compares both on many generated numbers) and falls back to it for anything else.

The French overseas departments share the French ten-digit numbering plan: ``0639 …`` is a
Mayotte mobile (+262 639 …), ``0690 …`` a Guadeloupe one (+590 690 …), and so on. With a default
region of that plan, a number written in national format is resolved through the plan's
prefixes, which ``phonenumbers`` alone does not do (it reads ``0639…`` as an invalid +33 number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

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


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """What Tambour needs to know about one phone number."""

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


def _desc_pattern(metadata: PhoneMetadata, kind: str) -> re.Pattern[str] | None:
    desc = getattr(metadata, kind)
    pattern = None if desc is None else desc.national_number_pattern
    return None if pattern is None else re.compile(pattern)


def _fast_path_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]] | None:
    """FR general, mobile and "any other type" patterns, from the library's own metadata.

    Built from the metadata (not copied) so that a ``phonenumbers`` update cannot make the fast
    path disagree; ``None`` (no fast path) when the metadata is not of the expected shape.
    """
    metadata = PhoneMetadata.metadata_for_region("FR")
    if metadata is None or metadata.country_code != 33 or metadata.mobile is None:
        return None
    for desc in (metadata.general_desc, metadata.mobile):
        if desc is None or 9 not in (desc.possible_length or ()):
            return None
    general = _desc_pattern(metadata, "general_desc")
    mobile = _desc_pattern(metadata, "mobile")
    # Types phonenumbers checks before FIXED_LINE / MOBILE: a match there changes the type.
    others = [
        pattern
        for kind in (
            "premium_rate",
            "toll_free",
            "shared_cost",
            "voip",
            "personal_number",
            "pager",
            "uan",
            "voicemail",
        )
        if (pattern := _desc_pattern(metadata, kind)) is not None
    ]
    if general is None or mobile is None:
        return None
    other = re.compile("|".join(f"(?:{p.pattern})" for p in others) or r"(?!)")
    return general, mobile, other


_FAST_PATTERNS: Final = _fast_path_patterns()
# After removing spaces, dots and dashes: optional +33 / 0033 / 33, optional (0) or 0, 6/7 + 8.
_FAST_NOTATION: Final = re.compile(r"(?:\+33|0033|33)?(?:\(0\)|0)?([67][0-9]{8})")
_SEPARATORS: Final = str.maketrans("", "", " .-")


def _parse_fast(raw: str) -> PhoneInfo | None:
    """French mobile in a plain notation, default region FR; None when not sure."""
    if _FAST_PATTERNS is None or len(raw) > 32:
        return None
    match = _FAST_NOTATION.fullmatch(raw.translate(_SEPARATORS))
    if match is None:
        return None
    nsn = match.group(1)
    general, mobile, other = _FAST_PATTERNS
    if (
        mobile.fullmatch(nsn) is None
        or general.fullmatch(nsn) is None
        or other.fullmatch(nsn) is not None
        or _plan_regions(nsn) != ("FR",)
    ):
        return None
    return PhoneInfo(e164="+33" + nsn, valid=True, mobile=True, region="FR")


def parse_phone(raw: str, default_region: str = "FR") -> PhoneInfo:
    """Parse a phone number written in any usual notation.

    ``e164`` is None only when nothing number-like could be read; an invalid number that could
    be read keeps its E.164 form with ``valid=False`` (and ``mobile=False``).
    """
    if default_region == "FR":
        fast = _parse_fast(raw)
        if fast is not None:
            return fast
    return _parse_slow(raw, default_region)
