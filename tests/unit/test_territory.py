"""Territories: from the number, refined by the postal code; when in doubt, both windows."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as phone_timezone

from tambour.rules.territory import TERRITORIES, Locality, locate
from tambour.sms.phone import parse_phone

PARIS = ("Europe/Paris",)
METRO_UNKNOWN = (("FR", None), ("FR", "57"), ("FR", "6AE"))
MOBILE_FR = parse_phone("06 12 34 56 78")
MOBILE_GP = parse_phone("+590 690 00 12 34")
MOBILE_RE = parse_phone("+262 692 12 34 56")
MOBILE_YT = parse_phone("+262 639 01 23 45")


@pytest.mark.parametrize(
    ("raw", "territory", "zones", "regions"),
    [
        ("06 12 34 56 78", "metropole", PARIS, METRO_UNKNOWN),
        (
            "+590 690 00 12 34",
            "guadeloupe",
            ("America/Guadeloupe",),
            (("FR", "971"), ("FR", "BL"), ("FR", "MF")),
        ),
        # a Saint-Barthélemy fixed line: phonenumbers says BL, but +590 numbers are shared
        (
            "+590 590 27 12 34",
            "guadeloupe",
            ("America/Guadeloupe",),
            (("FR", "971"), ("FR", "BL"), ("FR", "MF")),
        ),
        ("+594 694 20 12 34", "guyane", ("America/Cayenne",), (("FR", "973"),)),
        ("+596 696 20 12 34", "martinique", ("America/Martinique",), (("FR", "972"),)),
        ("+262 692 12 34 56", "reunion", ("Indian/Reunion",), (("FR", "974"),)),
        ("0692 12 34 56", "reunion", ("Indian/Reunion",), (("FR", "974"),)),
        ("+262 639 01 23 45", "mayotte", ("Indian/Mayotte",), (("FR", "976"),)),
        ("0639 01 23 45", "mayotte", ("Indian/Mayotte",), (("FR", "976"),)),
        ("+508 55 12 34", "saint_pierre_et_miquelon", ("America/Miquelon",), (("FR", "PM"),)),
        ("+687 75 12 34", "nouvelle_caledonie", ("Pacific/Noumea",), (("FR", "NC"),)),
        (
            "+689 87 12 34 56",
            "polynesie",
            ("Pacific/Tahiti", "Pacific/Marquesas", "Pacific/Gambier"),
            (("FR", "PF"),),
        ),
        ("+681 82 12 34", "wallis_et_futuna", ("Pacific/Wallis",), (("FR", "WF"),)),
        ("+32 470 12 34 56", "foreign", ("Europe/Brussels",), (("BE", None),)),
    ],
)
def test_territory_from_the_number(
    raw: str,
    territory: str,
    zones: tuple[str, ...],
    regions: tuple[tuple[str, str | None], ...],
) -> None:
    locality = locate(parse_phone(raw))
    assert locality.territory == territory
    assert locality.timezones == zones
    assert locality.holiday_regions == regions


def test_reunion_and_mayotte_are_never_both() -> None:
    # The trap: phonenumbers' time zones for +262 mobiles name both islands.
    number = phonenumbers.parse("+262692123456")
    assert set(phone_timezone.time_zones_for_number(number)) == {"Indian/Mayotte", "Indian/Reunion"}
    assert locate(MOBILE_RE).timezones == ("Indian/Reunion",)
    assert locate(MOBILE_YT).timezones == ("Indian/Mayotte",)
    assert locate(MOBILE_RE).holiday_regions == (("FR", "974"),)
    assert locate(MOBILE_YT).holiday_regions == (("FR", "976"),)


def test_polynesia_has_three_zones() -> None:
    number = phonenumbers.parse("+68987123456")
    assert set(phone_timezone.time_zones_for_number(number)) == {
        "Pacific/Tahiti",
        "Pacific/Marquesas",
        "Pacific/Gambier",
    }
    assert set(locate(parse_phone("+68987123456")).timezones) == {
        "Pacific/Tahiti",
        "Pacific/Marquesas",
        "Pacific/Gambier",
    }


@pytest.mark.parametrize(
    ("postal_code", "territory", "regions"),
    [
        ("75011", "metropole", (("FR", None),)),
        ("01000", "metropole", (("FR", None),)),
        ("20000", "metropole", (("FR", None),)),  # Corsica (2A)
        ("20200", "metropole", (("FR", None),)),  # Corsica (2B)
        ("95000", "metropole", (("FR", None),)),
        (" 13 001 ", "metropole", (("FR", None),)),
        ("57000", "alsace_moselle", (("FR", "57"),)),
        ("67000", "alsace_moselle", (("FR", "6AE"),)),
        ("68100", "alsace_moselle", (("FR", "6AE"),)),
    ],
)
def test_metropolitan_postal_codes(
    postal_code: str, territory: str, regions: tuple[tuple[str, str | None], ...]
) -> None:
    locality = locate(MOBILE_FR, postal_code)
    assert (locality.territory, locality.timezones, locality.holiday_regions) == (
        territory,
        PARIS,
        regions,
    )


@pytest.mark.parametrize(
    "postal_code",
    [None, "", "   ", "ABCDE", "7501", "750011", "00123", "96000", "99999", "97700", "2A004"],
)
def test_malformed_or_unknown_postal_codes_are_ignored(postal_code: str | None) -> None:
    locality = locate(MOBILE_FR, postal_code)
    assert locality == Locality("metropole", PARIS, METRO_UNKNOWN)
    assert locate(MOBILE_GP, postal_code).territory == "guadeloupe"
    assert len(locate(MOBILE_GP, postal_code).holiday_regions) == 3


@pytest.mark.parametrize(
    ("postal_code", "territory", "zones", "regions"),
    [
        ("97133", "saint_barthelemy", ("America/St_Barthelemy",), (("FR", "BL"),)),
        ("97150", "saint_martin", ("America/Marigot",), (("FR", "MF"),)),
        ("97110", "guadeloupe", ("America/Guadeloupe",), (("FR", "971"),)),
        ("97190", "guadeloupe", ("America/Guadeloupe",), (("FR", "971"),)),
    ],
)
def test_plus_590_refined_by_postal_code(
    postal_code: str,
    territory: str,
    zones: tuple[str, ...],
    regions: tuple[tuple[str, str | None], ...],
) -> None:
    locality = locate(MOBILE_GP, postal_code)
    assert (locality.territory, locality.timezones, locality.holiday_regions) == (
        territory,
        zones,
        regions,
    )


def test_overseas_postal_code_on_a_metropolitan_number_intersects_both() -> None:
    locality = locate(MOBILE_FR, "97400")
    assert locality.territory == "reunion"
    assert set(locality.timezones) == {"Indian/Reunion", "Europe/Paris"}
    assert set(locality.holiday_regions) == {*METRO_UNKNOWN, ("FR", "974")}


def test_postal_code_of_another_overseas_territory_intersects_both() -> None:
    locality = locate(MOBILE_RE, "97600")
    assert locality.territory == "mayotte"
    assert set(locality.timezones) == {"Indian/Reunion", "Indian/Mayotte"}
    assert set(locality.holiday_regions) == {("FR", "974"), ("FR", "976")}

    locality = locate(MOBILE_GP, "97200")
    assert locality.territory == "martinique"
    assert set(locality.timezones) == {"America/Guadeloupe", "America/Martinique"}
    assert set(locality.holiday_regions) == {
        ("FR", "971"),
        ("FR", "BL"),
        ("FR", "MF"),
        ("FR", "972"),
    }

    locality = locate(parse_phone("+689 87 12 34 56"), "98800")
    assert locality.territory == "nouvelle_caledonie"
    assert set(locality.timezones) == {
        "Pacific/Noumea",
        "Pacific/Tahiti",
        "Pacific/Marquesas",
        "Pacific/Gambier",
    }


def test_metropolitan_postal_code_on_an_overseas_number_intersects_both() -> None:
    locality = locate(MOBILE_RE, "67000")
    assert locality.territory == "alsace_moselle"
    assert set(locality.timezones) == {"Europe/Paris", "Indian/Reunion"}
    assert set(locality.holiday_regions) == {("FR", "6AE"), ("FR", "974")}


@pytest.mark.parametrize(
    ("postal_code", "territory"),
    [
        ("97200", "martinique"),
        ("97300", "guyane"),
        ("97400", "reunion"),
        ("97500", "saint_pierre_et_miquelon"),
        ("97600", "mayotte"),
        ("98600", "wallis_et_futuna"),
        ("98700", "polynesie"),
        ("98800", "nouvelle_caledonie"),
        ("97133", "saint_barthelemy"),
        ("97150", "saint_martin"),
        ("97100", "guadeloupe"),
    ],
)
def test_every_overseas_postal_code(postal_code: str, territory: str) -> None:
    locality = locate(MOBILE_FR, postal_code)
    assert locality.territory == territory
    zones, regions = TERRITORIES[territory]
    assert set(zones) < set(locality.timezones)
    assert set(regions) < set(locality.holiday_regions)


def test_foreign_numbers() -> None:
    us = locate(parse_phone("+1 201 555 0123"))
    assert us == Locality("foreign", ("America/New_York",), (("US", None),))
    uk = locate(parse_phone("+44 7400 123456"))
    assert uk.territory == "foreign"
    assert "Europe/London" in uk.timezones
    assert uk.holiday_regions == (("GB", None),)


def test_foreign_country_unknown_to_the_holidays_package() -> None:
    example = phonenumbers.example_number_for_type("AC", PhoneNumberType.FIXED_LINE)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    locality = locate(parse_phone(e164))
    assert locality.territory == "foreign"
    assert locality.timezones
    assert locality.holiday_regions == ()


def test_foreign_number_with_french_postal_code_intersects_both() -> None:
    locality = locate(parse_phone("+32 470 12 34 56"), "59000")
    assert locality.territory == "metropole"
    assert set(locality.timezones) == {"Europe/Paris", "Europe/Brussels"}
    assert set(locality.holiday_regions) == {("FR", None), ("BE", None)}


def test_invalid_numbers_cannot_be_located() -> None:
    with pytest.raises(ValueError, match="invalid"):
        locate(parse_phone("0612"))
    with pytest.raises(ValueError, match="invalid"):
        locate(parse_phone("abc"))


def test_locality_validation() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Locality("x", (), ())
    with pytest.raises(ValueError, match="time zone"):
        Locality("x", ("Mars/Olympus_Mons",), ())
    with pytest.raises(ValueError, match="holiday"):
        Locality("x", PARIS, (("FR", "99"),))
    with pytest.raises(ValueError, match="holiday"):
        Locality("x", PARIS, (("XX", None),))


def test_every_territory_code_is_reachable_and_stable() -> None:
    assert set(TERRITORIES) == {
        "metropole",
        "alsace_moselle",
        "guadeloupe",
        "saint_barthelemy",
        "saint_martin",
        "guyane",
        "martinique",
        "reunion",
        "mayotte",
        "saint_pierre_et_miquelon",
        "nouvelle_caledonie",
        "polynesie",
        "wallis_et_futuna",
    }


def test_locate_returns_shared_localities() -> None:
    # the calendar's identity cache relies on it
    assert locate(MOBILE_FR) is locate(parse_phone("07 81 23 45 67"))
    assert locate(MOBILE_FR, "75011") is locate(MOBILE_FR, "13001")
