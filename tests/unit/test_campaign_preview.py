"""The editor's pure helpers: the GSM-7 alternatives of sms/text.py, the counter's figures
(services/campaign_preview.counted) from the core's count, and the form's instants and length
check (services/campaign_drafts.py)."""

from datetime import UTC, datetime

import pytest

from tambour.rules.codes import Channel, Nature
from tambour.services.advertisers import Advertiser
from tambour.services.campaign_drafts import (
    Draft,
    form_instant,
    instant,
    instant_or_none,
    length_problem,
)
from tambour.services.campaign_preview import Forcing, counted, replace_gsm7
from tambour.services.context import InvalidInputError
from tambour.sms.text import count_text, gsm7_alternative, with_gsm7_alternatives

ADVERTISER = Advertiser(
    id=1, slug="maison-lumiere", name="Maison Lumière SAS", senders=("MLUMIERE",),
    stop_number="36111", categories=("luminaires",), hash_key=b"k" * 32,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)  # fmt: skip


# --- sms/text.py: the GSM-7 alternatives ------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "alternative"),
    [("’", "'"), ("«", '"'), ("»", '"'), ("–", "-"), ("—", "-"), ("…", "..."), ("\u202f", " "),
     ("ç", "c"), ("œ", "oe"), ("\u200b", "")],
)  # fmt: skip
def test_a_character_outside_gsm7_has_its_alternative(char: str, alternative: str) -> None:
    assert gsm7_alternative(char) == alternative


@pytest.mark.parametrize("char", ["é", "è", "à", "ù", "€", "a", "🎉", "中"])
def test_gsm7_characters_and_those_without_an_equivalent_have_none(char: str) -> None:
    assert gsm7_alternative(char) is None


def test_every_replaceable_character_is_replaced_the_others_stay() -> None:
    typed = "« L’été » – c’est maintenant… 🎉 à 10 h"
    replaced = with_gsm7_alternatives(typed)
    assert replaced == "\" L'été \" - c'est maintenant... 🎉 à 10 h"
    assert count_text(replaced).encoding == "UCS-2"  # the emoji has no equivalent
    assert count_text(typed).suggestion is None  # count_text suggests nothing then
    assert with_gsm7_alternatives("C’est l’été") == count_text("C’est l’été").suggestion
    assert with_gsm7_alternatives("déjà GSM-7 €") == "déjà GSM-7 €"
    assert replace_gsm7("Un 🎉 et ’") == "Un 🎉 et '"
    assert with_gsm7_alternatives("") == ""


# --- the counter's figures ------------------------------------------------------------------------


def test_the_counter_reads_the_cores_count() -> None:
    text = "a" * 150
    found = counted(count_text(text), text)
    assert (found.encoding, found.characters, found.segments) == ("GSM-7", 150, 1)
    assert (found.units_per_part, found.left, found.forcing) == (160, 10, ())
    longer = "a" * 161
    found = counted(count_text(longer), longer)
    assert (found.segments, found.units_per_part, found.left) == (2, 153, 153 - 8)
    # An extension character counts two septets: one character, two units.
    euro = "€" * 80
    found = counted(count_text(euro), euro)
    assert (found.characters, found.units, found.segments, found.left) == (80, 160, 1, 0)


def test_the_counter_lists_what_forces_ucs2_once_with_its_equivalent() -> None:
    text = "C’est l’été 🎉"
    found = counted(count_text(text), text)
    assert found.encoding == "UCS-2"
    assert found.forcing == (Forcing("’", 2, "'"), Forcing("🎉", 1, None))
    assert found.replaceable == (Forcing("’", 2, "'"),)
    assert found.units == len(text) + 1  # the emoji takes two UTF-16 units
    assert (found.units_per_part, found.left) == (70, 70 - found.units)
    assert found.forcing[0].code_point == "U+2019"
    assert not found.too_long
    assert counted(count_text("’" * 700), "’" * 700).too_long  # 11 parts of 67


def test_an_empty_text_has_a_whole_part_left() -> None:
    found = counted(count_text(""), "")
    assert (found.segments, found.left, found.units_per_part) == (0, 160, 160)


# --- the form's instants and its length check ----------------------------------------------------


def test_a_forms_instant_is_paris_time_unless_an_offset_is_given() -> None:
    assert instant("2031-01-14T09:30", "start") == datetime(2031, 1, 14, 8, 30, tzinfo=UTC)
    assert instant("14/01/2031 09:30", "start") == datetime(2031, 1, 14, 8, 30, tzinfo=UTC)
    assert instant("2031-07-14T09:30", "start") == datetime(2031, 7, 14, 7, 30, tzinfo=UTC)
    assert instant("2031-07-14T09:30+00:00", "start") == datetime(2031, 7, 14, 9, 30, tzinfo=UTC)
    assert instant("  ", "start") is None
    assert form_instant(datetime(2031, 7, 14, 7, 30, tzinfo=UTC)) == "2031-07-14T09:30"
    assert form_instant(None) == ""


@pytest.mark.parametrize("value", ["demain", "2031-13-01T10:00", "31/02/2031", "1899-01-01"])
def test_what_is_not_an_instant_is_refused_for_its_field(value: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        instant(value, "send_by")
    assert (refused.value.field, refused.value.code) == ("send_by", "invalid_instant")
    assert instant_or_none(value) is None


def test_a_text_blocked_for_every_recipient_is_too_long() -> None:
    words = "Maison Lumière : " + "luminaires -20% " * 93  # 1,505 characters
    fits = Draft(nature=Nature.COMMERCIAL, channel=Channel.SMS, sender="MLUMIERE", text=words)
    assert count_text(words + " STOP au 36111").segments == 10
    assert length_problem(ADVERTISER, fits) is None
    longer = Draft(sender="MLUMIERE", text=words + "encore un peu plus")
    problem = length_problem(ADVERTISER, longer)
    assert problem is not None and (problem.field, problem.code) == ("text", "text_too_long")
    assert "11 parts" in problem.message
    # Placeholders are left out: only the words every message carries count.
    personal = Draft(sender="MLUMIERE", text=words + "{notes}")
    assert length_problem(ADVERTISER, personal) is None
    # A transactional message carries no STOP mention.
    bare = "x" * 1530
    assert length_problem(ADVERTISER, Draft(nature=Nature.TRANSACTIONAL, text=bare)) is None
    assert length_problem(ADVERTISER, Draft(nature=Nature.COMMERCIAL, text=bare)) is not None
