"""The gettext catalogs, French first (issue 16, point 3): both catalogs complete and compiled as
committed, every rules code with a label and a one-sentence explanation in French and English,
the language chosen as gettext chooses it, and French conventions for numbers and dates."""

import fnmatch
import io
import re
import tomllib
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tambour import i18n
from tambour.rules import codes
from tambour.rules.labels import LABELS_FR, SOURCE, explanation, label

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "tambour" / "locale"
LANGUAGES = ("fr", "en")
ENUMS: tuple[type[StrEnum], ...] = (codes.Basis, codes.Reason, codes.Deferral, codes.Block)
# A block checked outside the core (a sender ID of another advertiser): docs/rules.md §8.
EXTRA_CODES = ("sender_not_owned",)
ALL_CODES = sorted({str(m) for e in ENUMS for m in e} | set(EXTRA_CODES))


def po(language: str) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / "tambour.po").open("rb") as handle:
        return read_po(handle, locale=language)


def pot() -> Catalog:
    with (LOCALE / "tambour.pot").open("rb") as handle:
        return read_po(handle)


def keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    """(context, id) of each message; a plural one by its singular id."""
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


# --- the catalogs -----------------------------------------------------------------------------


def test_the_template_holds_what_the_source_marks() -> None:
    """A text marked in the source and missing from tambour.pot (or the reverse) means
    `make catalogs` was not run after a change."""
    found = {
        (context, message if isinstance(message, str) else message[0])
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / "src" / "tambour",
            method_map=[("**.py", "python"), ("web/templates/**.html", "jinja2")],
            options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={**DEFAULT_KEYWORDS, "C_": ((1, "c"), 2)},
        )
    }
    assert found == keys(pot())
    codes = {key for key in found if key[0] and key[0].startswith(("label:", "explanation:"))}
    assert len(codes) == 2 * len(SOURCE)  # a label and an explanation per code


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_translates_every_text_of_the_template(language: str) -> None:
    catalog = po(language)
    assert keys(catalog) == keys(pot()), "run `make catalogs`"
    assert not catalog.obsolete
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    assert list(catalog.check()) == []  # placeholders kept, and the like


def test_french_is_written_in_french_not_copied() -> None:
    """Every French text differs from its English source: nothing left in English."""
    copied = [m.id for m in po("fr") if m.id and m.string == m.id and m.id not in SAME_IN_FRENCH]
    assert copied == []


# Words written the same in both languages (a French reader reads them as French).
SAME_IN_FRENCH = frozenset(
    {"Contacts", "Total", "Message", "Messages", "Transactions", "SMS", "Segments", "Date",
     "Code", "Export", "Type", "Description", "Options", "Actions", "Variables", "Sessions",
     "Audit", "Webhooks", "Simulation", "Plan", "Service", "Source", "Version", "Page",
     "Alsace-Moselle", "Guadeloupe", "Martinique", "Mayotte", "rectification", "Note",
     "%(hours)s h"}
)  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_the_po_compiled_now(language: str) -> None:
    """The committed .mo is what `pybabel compile` makes of the committed .po today: an edited
    .po without a compile fails here."""
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "tambour.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    fresh = io.BytesIO()
    write_mo(fresh, catalog, use_fuzzy=False)
    assert (folder / "tambour.mo").read_bytes() == fresh.getvalue(), "run `make catalogs`"


def test_the_compiled_catalogs_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["tambour"]
    for language in LANGUAGES:
        path = f"locale/{language}/LC_MESSAGES/tambour.mo"
        assert any(fnmatch.fnmatch(path, p) for p in patterns), path
    assert any(d.startswith("babel") for d in config["project"]["dependencies"])


# --- every code: a label and an explanation ---------------------------------------------------


def one_sentence(text: str) -> bool:
    """Ends with a full stop, and no sentence ends inside (a stop then a capital)."""
    return text.endswith(".") and not re.search(r"[.!?]\s+[A-ZÀ-Ý]", text[:-1])


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_code_has_a_label_and_an_explanation_in_both_languages(code: str) -> None:
    french, english = label(code, "fr"), label(code, "en")
    assert french == LABELS_FR[code] == label(code)  # French by default
    assert english == SOURCE[code][0]
    assert code not in (french, english) and french != english
    said_fr, said_en = explanation(code, "fr"), explanation(code, "en")
    assert said_fr is not None and said_en is not None
    assert said_fr == explanation(code) and said_fr != said_en
    for text in (said_fr, said_en):
        assert one_sentence(text), text
        assert len(text) >= 50  # the rule and what to do, not a label again
    assert " : " in said_fr or " ; " in said_fr  # French punctuation: a space before the colon


def test_no_text_for_a_code_that_does_not_exist() -> None:
    assert set(SOURCE) == set(ALL_CODES)


@pytest.mark.parametrize("member", [m for e in ENUMS for m in e], ids=str)
def test_enum_members_are_looked_up_as_their_code(member: StrEnum) -> None:
    assert label(member, "en") == label(str(member), "en")
    assert explanation(member, "fr") == explanation(str(member), "fr")


def test_an_unknown_code_reads_as_itself_and_has_no_explanation() -> None:
    assert label("some_future_code", "en") == "some_future_code"
    assert explanation("some_future_code", "fr") is None


def test_a_few_texts_as_the_reader_sees_them() -> None:
    assert label("no_legal_basis", "en") == "No legal basis"
    assert label("no_legal_basis", "fr_FR.UTF-8") == "Aucune base légale"
    assert "33700" in label(codes.Reason.COMPLAINT_33700, "en")
    said = explanation("opted_out", "fr")
    assert said is not None and "START" in said and "consentement" in said
    said = explanation("quiet_hours", "en")
    assert said is not None and "08:00" in said and "20:00" in said
    said = explanation("retention_expired", "fr")
    assert said is not None and "3 ans" in said


# --- the language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "fr"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "C.UTF-8"}, "fr"),
        ({"LANG": "POSIX"}, "fr"),
        ({"LANG": "de_DE.UTF-8"}, "fr"),  # no German catalog: French
        ({"LANGUAGE": "de:en:fr", "LANG": "fr_FR.UTF-8"}, "en"),  # the first with a catalog
        ({"LANGUAGE": "", "LANG": "en_GB.UTF-8"}, "en"),  # empty is unset
        ({"LC_ALL": "fr_FR.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),
        ({"LC_MESSAGES": "en_CA", "LANG": "fr_FR.UTF-8"}, "en"),
        ({"LANGUAGE": "en", "LC_ALL": "fr_FR.UTF-8"}, "en"),  # gettext reads LANGUAGE first
        ({"LC_ALL": "de_DE.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),  # the first set decides
        ({"LANGUAGE": "C:en"}, "fr"),  # C: no translation asked
    ],
)
def test_the_language_of_the_environment(environ: dict[str, str], expected: str) -> None:
    assert i18n.environment_language(environ) == expected


def test_translator_reads_the_environment_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in i18n.ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert label("duplicate", None) == "Duplicate in the campaign"
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert label("duplicate", None) == "Doublon dans la campagne"
    assert label("duplicate", "en") == "Duplicate in the campaign"  # explicit wins


def test_an_explicit_language_without_catalog_gets_french() -> None:
    source = SOURCE["duplicate"][0]
    assert i18n.translator("de").pgettext("label:duplicate", source) == "Doublon dans la campagne"
    assert i18n.translator("en-GB") is i18n.translator("en")
    assert i18n.language_of("fr-CA") == "fr" and i18n.language_of("es_ES") is None


# --- numbers and dates ------------------------------------------------------------------------


def test_numbers_in_french_conventions() -> None:
    assert i18n.format_decimal(1234.5, "fr") == "1\u202f234,5"  # narrow no-break space
    assert i18n.format_decimal(1234567, "fr") == "1\u202f234\u202f567"
    assert i18n.format_decimal(1234.5, "en") == "1,234.5"


def test_dates_in_french_conventions_in_a_time_zone() -> None:
    instant = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert i18n.format_datetime(instant, "Europe/Paris", "fr") == "7 déc. 2026 à 10:00"
    assert i18n.format_datetime(instant, "America/Martinique", "fr") == "7 déc. 2026 à 05:00"
    summer = datetime(2026, 7, 14, 8, 30, tzinfo=UTC)  # CEST: UTC+2
    assert i18n.format_datetime(summer, "Europe/Paris", "fr") == "14 juil. 2026 à 10:30"
    assert i18n.format_datetime(instant, "Europe/Paris", "en") == "Dec 7, 2026 at 10:00\u202fAM"
    with pytest.raises(ValueError, match="time zone"):
        i18n.format_datetime(datetime(2026, 12, 7, 9, 0), "Europe/Paris", "fr")
