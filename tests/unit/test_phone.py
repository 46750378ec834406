"""Phone numbers: notations, validity, mobility, regions, and the fast path == the slow path."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from tambour.sms.phone import (
    PhoneInfo,
    _parse_fast,
    _parse_fast_other,
    _parse_slow,
    parse_phone,
)

MOBILE = PhoneInfo(e164="+33612345678", valid=True, mobile=True, region="FR")


@pytest.mark.parametrize(
    "raw",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        " 06 12 34 56 78 ",
        "+33 6 12 34 56 78",
        "+33612345678",
        "+33 (0)6 12 34 56 78",
        "+33(0)612345678",
        "0033612345678",
        "0033 6 12 34 56 78",
        "33612345678",  # a spreadsheet stripped the +
        "33 6 12 34 56 78",
        "(0)6 12 34 56 78",
        "06/12/34/56/78",  # slow path
        "tel:+33612345678",  # slow path
    ],
)
def test_usual_notations_give_e164(raw: str) -> None:
    assert parse_phone(raw) == MOBILE


def test_plain_notations_take_the_fast_path() -> None:
    for raw in ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "33612345678"):
        assert _parse_fast(raw) == MOBILE
    assert _parse_fast("07 12 34 56 78") is None  # 071 is not a mobile range: slow path decides
    assert _parse_fast("01 23 45 67 89") is None


def test_phone_info_is_an_immutable_value() -> None:
    info = parse_phone("06 12 34 56 78")
    assert (info.e164, info.valid, info.mobile, info.region) == ("+33612345678", True, True, "FR")
    assert info == MOBILE
    assert hash(info) == hash(MOBILE)
    assert info != PhoneInfo(e164="+33612345678", valid=True, mobile=False, region="FR")
    assert repr(info) == "PhoneInfo(e164='+33612345678', valid=True, mobile=True, region='FR')"
    assert type(info) is PhoneInfo
    assert type(parse_phone("01 23 45 67 89")) is PhoneInfo
    assert type(parse_phone("0639 01 23 45")) is PhoneInfo
    with pytest.raises(AttributeError):
        info.e164 = "+33700000000"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01 23 45 67 89", ("+33123456789", False, "FR")),
        ("+33 1 23 45 67 89", ("+33123456789", False, "FR")),
        ("0033 4 72 00 00 00", ("+33472000000", False, "FR")),
        ("33 5 56 00 00 00", ("+33556000000", False, "FR")),
        ("+33 (0)2 40 00 00 00", ("+33240000000", False, "FR")),
        ("09 12 34 56 78", ("+33912345678", False, "FR")),  # VoIP
        ("08 00 12 34 56", ("+33800123456", False, "FR")),  # toll free
        ("0639 01 23 45", ("+262639012345", True, "YT")),
        ("0692 12 34 56", ("+262692123456", True, "RE")),
        ("0693 00 12 34", ("+262693001234", True, "RE")),
        ("0690 00 12 34", ("+590690001234", True, "GP")),
        ("0691 22 12 34", ("+590691221234", True, "GP")),
        ("0694 20 12 34", ("+594694201234", True, "GF")),
        ("0696 20 12 34", ("+596696201234", True, "MQ")),
        ("0697 20 12 34", ("+596697201234", True, "MQ")),
        ("(0)696 20 12 34", ("+596696201234", True, "MQ")),
        ("696201234", ("+596696201234", True, "MQ")),  # a spreadsheet dropped the 0
        ("0269 60 12 34", ("+262269601234", False, "YT")),
        ("0262 16 12 34", ("+262262161234", False, "RE")),
        ("0590 27 12 34", ("+590590271234", False, "BL")),  # 0590 27: Saint-Barthélemy
    ],
)
def test_other_numbers_of_the_french_plan_take_a_fast_path(
    raw: str, expected: tuple[str, bool, str]
) -> None:
    e164, mobile, region = expected
    info = PhoneInfo(e164=e164, valid=True, mobile=mobile, region=region)
    assert _parse_fast_other(raw) == info
    assert _parse_slow(raw) == info
    assert parse_phone(raw) == info


@pytest.mark.parametrize(
    "raw",
    [
        "06 12 34 56 78",  # a metropolitan mobile: _parse_fast's
        "07 00 00 00 00",  # invalid: the slow path decides
        "0612",
        "+33 6 39 01 23 45",  # an overseas prefix behind +33: no plan resolution
        "+33 2 62 16 12 34",
        "+262 639 01 23 45",  # another country code
        "262639012345",
        "0639 80 12 34",  # not allocated in Mayotte: the slow path decides
        "0709 00 12 34",  # 07 09 x: several departments
        "06/12/34/56/78",
        "",
    ],
)
def test_the_other_fast_path_leaves_the_rest_to_the_slow_path(raw: str) -> None:
    assert _parse_fast_other(raw) is None


@pytest.mark.parametrize("raw", ["", "   ", "abc", "+", "not a number"])
def test_unparseable(raw: str) -> None:
    assert parse_phone(raw) == PhoneInfo(e164=None, valid=False, mobile=False, region=None)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0612", "+330612"),  # phonenumbers keeps the leading 0 of a too short number
        ("06 12 34 56 789", "+336123456789"),
        ("07 00 00 00 00", "+33700000000"),  # 070 is not allocated
        ("+33 6 39 01 23 45", "+33639012345"),  # Mayotte's prefix behind +33: no such number
        ("+262 612 34 56 78", "+262612345678"),
    ],
)
def test_invalid_numbers_keep_their_form_but_are_not_valid(raw: str, e164: str) -> None:
    info = parse_phone(raw)
    assert info.e164 == e164
    assert not info.valid
    assert not info.mobile


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("01 23 45 67 89", "+33123456789"),  # fixed line
        ("04 72 00 00 00", "+33472000000"),
        ("09 12 34 56 78", "+33912345678"),  # 09: VoIP, not a mobile
        ("08 00 12 34 56", "+33800123456"),  # toll free
    ],
)
def test_valid_but_not_mobile(raw: str, e164: str) -> None:
    info = parse_phone(raw)
    assert (info.e164, info.valid, info.mobile, info.region) == (e164, True, False, "FR")


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        # French overseas numbers, international and national (shared ten-digit plan) notations
        ("+262 639 01 23 45", "+262639012345", "YT"),
        ("0639 01 23 45", "+262639012345", "YT"),
        ("262639012345", "+262639012345", "YT"),  # spreadsheet stripped the +
        ("+262 692 12 34 56", "+262692123456", "RE"),
        ("0692 12 34 56", "+262692123456", "RE"),
        ("0693 00 12 34", "+262693001234", "RE"),
        ("+590 690 00 12 34", "+590690001234", "GP"),
        ("0690 00 12 34", "+590690001234", "GP"),
        ("590690001234", "+590690001234", "GP"),
        ("+594 694 20 12 34", "+594694201234", "GF"),
        ("0694 20 12 34", "+594694201234", "GF"),
        ("+596 696 20 12 34", "+596696201234", "MQ"),
        ("0696 20 12 34", "+596696201234", "MQ"),
        ("+508 55 12 34", "+508551234", "PM"),
        ("+687 75 12 34", "+687751234", "NC"),
        ("+689 87 12 34 56", "+68987123456", "PF"),
        ("68987123456", "+68987123456", "PF"),
        ("+681 82 12 34", "+681821234", "WF"),
        # foreign
        ("+32 470 12 34 56", "+32470123456", "BE"),
        ("+49 151 23456789", "+4915123456789", "DE"),
        ("0044 7400 123456", "+447400123456", "GB"),
        ("+1 201 555 0123", "+12015550123", "US"),
    ],
)
def test_mobiles_of_every_territory(raw: str, e164: str, region: str) -> None:
    assert parse_phone(raw) == PhoneInfo(e164=e164, valid=True, mobile=True, region=region)


def test_mayotte_and_reunion_fixed_lines_from_the_national_plan() -> None:
    # phonenumbers alone reads 0269 as a metropolitan fixed line; it is Mayotte's.
    assert parse_phone("0269 60 12 34").region == "YT"
    assert parse_phone("0269 60 12 34").e164 == "+262269601234"
    assert parse_phone("0262 16 12 34").region == "RE"
    assert not parse_phone("0262 16 12 34").mobile


def test_saint_barthelemy_fixed_line_region_comes_from_phonenumbers() -> None:
    info = parse_phone("+590 590 27 12 34")
    assert (info.valid, info.mobile, info.region) == (True, False, "BL")


def test_other_default_regions() -> None:
    assert parse_phone("0470 12 34 56", "BE").e164 == "+32470123456"
    # A Réunion file: metropolitan and Mayotte numbers in national notation keep their owners.
    assert parse_phone("06 12 34 56 78", "RE") == MOBILE
    assert parse_phone("0639 01 23 45", "RE").region == "YT"
    assert parse_phone("0692 12 34 56", "YT").region == "RE"


# --- fast path == slow path -----------------------------------------------------------------

_PREFIXES = (
    "0",
    "+33",
    "+33 ",
    "0033",
    "0033 ",
    "33",
    "33 ",
    "+33 (0)",
    "+33(0)",
    "0033 (0)",
    "(0)",
    "+330",
    "",
    "+ 33 ",
    "00 33 ",
)
_SEPARATORS = ("", " ", ".", "-", "  ", " - ", "/")


def _notation(rng: random.Random, nsn: str) -> str:
    prefix = rng.choice(_PREFIXES)
    sep = rng.choice(_SEPARATORS)
    if rng.random() < 0.5:
        body = nsn[0] + sep + sep.join(nsn[i : i + 2] for i in range(1, 9, 2))
    else:
        body = "".join(c + (rng.choice(_SEPARATORS) if rng.random() < 0.3 else "") for c in nsn)
    if prefix.endswith("0") or prefix.endswith(")") or rng.random() < 0.5:
        text = prefix + body
    else:
        text = prefix + sep + body
    return " " * rng.randrange(2) + text + " " * rng.randrange(2)


def _reference(raw: str) -> PhoneInfo:
    """phonenumbers alone, for a number the fast path claims as a French mobile."""
    number = phonenumbers.parse(raw, "FR")
    kind = phonenumbers.number_type(number)
    valid = phonenumbers.is_valid_number(number)
    return PhoneInfo(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        valid=valid,
        mobile=valid and kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
        region=phonenumbers.region_code_for_number(number),
    )


def test_fast_path_equals_slow_path_on_generated_numbers() -> None:
    rng = random.Random(20240601)
    fast_hits = 0
    total = 12_000
    for _ in range(total):
        # any 6/7 national number, also unallocated (070…) and overseas (0639…, 0690…) ranges
        nsn = rng.choice("67") + "".join(rng.choice("0123456789") for _ in range(8))
        raw = _notation(rng, nsn)
        fast = _parse_fast(raw)
        slow = _parse_slow(raw)
        assert parse_phone(raw) == slow, raw
        if fast is not None:
            fast_hits += 1
            assert fast == slow, raw
            assert fast == _reference(raw), raw
    # The fast path must really serve the plain French mobile notations.
    assert fast_hits > total // 3


def test_fast_path_covers_every_metropolitan_mobile_range() -> None:
    for head in range(600, 800):
        nsn = f"{head}123456"
        slow = _parse_slow("0" + nsn)
        fast = _parse_fast("0" + nsn)
        if slow.region == "FR" and slow.mobile:
            assert fast == slow, nsn
        else:
            assert fast is None, nsn


@given(st.text(alphabet="0123456789+-. ()/", max_size=24))
def test_fast_path_equals_slow_path_on_arbitrary_text(raw: str) -> None:
    assert parse_phone(raw) == _parse_slow(raw)


@given(st.from_regex(r"\A\s?(\+33|0033|33|0)?\s?[67]([ .-]?[0-9]){8}\s?\Z"))
def test_fast_path_equals_slow_path_on_near_french_mobiles(raw: str) -> None:
    fast = _parse_fast(raw)
    if fast is not None:
        assert fast == _parse_slow(raw)
    assert parse_phone(raw) == _parse_slow(raw)


# --- the other fast path (fixed lines, VoIP, 08, overseas numbers) == the slow path ----------

_NATIONAL_PREFIXES = ("0", "0 ", "(0)", "(0) ", "")
_OVERSEAS_PREFIXES: tuple[str, ...] = ("590", "690", "691", "594", "694", "596", "696", "697")
_OVERSEAS_PREFIXES += ("262", "263", "692", "693", "269", "639")  # 709: several departments


def _fast(raw: str) -> PhoneInfo | None:
    fast, other = _parse_fast(raw), _parse_fast_other(raw)
    assert fast is None or other is None, raw  # the two fast paths never overlap
    return fast if fast is not None else other


def _spaced(nsn: str) -> str:
    return nsn[0] + " " + " ".join(nsn[i : i + 2] for i in range(1, 9, 2))


def test_fast_paths_cover_every_range_of_the_french_plan() -> None:
    """Every four-digit head of a national significant number, national and international."""
    rng = random.Random(20240602)
    for head in range(1000, 10_000):
        nsn = f"{head}{rng.randrange(100_000):05d}"
        national = "0" + _spaced(nsn) if head % 2 else "0" + nsn
        international = rng.choice(("+33 ", "+33", "0033", "33", "+33 (0)")) + _spaced(nsn)
        for raw in (national, international):
            slow = _parse_slow(raw)
            fast = _fast(raw)
            assert parse_phone(raw) == slow, raw
            if fast is not None:
                assert fast == slow, raw
            elif slow.valid:
                # Left to the slow path: 07 09 x (several departments), and the metropolitan
                # reading of an overseas prefix (+33 269 …, or 0263 … when not valid for RE).
                overseas = nsn.startswith(_OVERSEAS_PREFIXES)
                assert nsn.startswith("709") or (slow.region == "FR" and overseas), raw


@pytest.mark.parametrize("prefix", _OVERSEAS_PREFIXES)
def test_fast_paths_cover_every_overseas_range_in_national_notation(prefix: str) -> None:
    """Every six-digit head of the overseas prefixes: their ranges go that deep."""
    rng = random.Random(f"20240603{prefix}")
    for rest in range(1000):
        nsn = f"{prefix}{rest:03d}{rng.randrange(1000):03d}"
        raw = rng.choice(_NATIONAL_PREFIXES) + rng.choice((nsn, _spaced(nsn)))
        slow = _parse_slow(raw)
        fast = _fast(raw)
        assert parse_phone(raw) == slow, raw
        if fast is not None:
            assert fast == slow, raw
        else:  # left to the slow path: invalid, or read as a metropolitan number
            assert not slow.valid or slow.region == "FR", raw


def test_fast_paths_equal_slow_path_on_generated_numbers_of_every_range() -> None:
    rng = random.Random(20240605)
    hits = 0
    total = 8_000
    for _ in range(total):
        nsn = rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(8))
        raw = _notation(rng, nsn)
        slow = _parse_slow(raw)
        fast = _fast(raw)
        assert parse_phone(raw) == slow, raw
        if fast is not None:
            hits += 1
            assert fast == slow, raw
    assert hits > total // 3


@given(st.from_regex(r"\A\s?(\+33|0033|33|0|\(0\)|\+33\s?\(0\))?\s?[1-9]([ .-]?[0-9]){8}\s?\Z"))
def test_fast_paths_equal_slow_path_on_near_french_numbers(raw: str) -> None:
    fast = _fast(raw)
    if fast is not None:
        assert fast == _parse_slow(raw)
    assert parse_phone(raw) == _parse_slow(raw)
