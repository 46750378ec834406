"""Day words in a message against the days its first sends leave: plan-report warnings."""

from datetime import date

import pytest

from tambour.rules.day_mentions import day_warnings

THU = date(2027, 3, 25)
FRI = date(2027, 3, 26)  # Good Friday 2027
SAT = date(2027, 3, 27)
MON = date(2027, 3, 29)  # Easter Monday
TUE = date(2027, 3, 30)
NEXT_FRI = date(2027, 4, 2)


def test_no_send_day_no_warning() -> None:
    assert day_warnings("Ce samedi, demain, aujourd'hui", []) == []


def test_text_without_day_words() -> None:
    assert day_warnings("Nouvelle collection en boutique", [FRI, SAT, MON]) == []


def test_named_weekday_on_its_day() -> None:
    assert day_warnings("Portes ouvertes ce samedi !", [SAT]) == []
    assert day_warnings("Portes ouvertes samedi !", [SAT]) == []


def test_named_weekday_on_another_day() -> None:
    warnings = day_warnings("Portes ouvertes samedi !", [FRI])
    assert warnings == [
        "the text says 'samedi' but the first messages leave on Friday 2027-03-26: "
        "recipients will read it as Saturday 2027-03-27"
    ]


def test_named_weekday_that_has_passed() -> None:
    (warning,) = day_warnings("Ce samedi : -20% en magasin", [MON])
    assert "'Ce samedi'" in warning
    assert "Monday 2027-03-29" in warning
    assert "Saturday 2027-04-03" in warning  # the next Saturday, what recipients will read


def test_only_the_first_send_day_is_compared_then_later_days_are_named() -> None:
    (warning,) = day_warnings("Ce samedi, tout à -20%", [SAT, MON, TUE])
    assert "Saturday 2027-03-27" in warning
    assert "from Monday 2027-03-29 (2 later days)" in warning


def test_case_and_placeholders() -> None:
    assert day_warnings("DIMANCHE ouverture exceptionnelle", [SAT])
    # A placeholder is a contact's value, not the marketer's words.
    assert day_warnings("Bonjour {samedi}, à bientôt", [FRI]) == []


def test_demain_with_a_weekday_expects_the_day_before() -> None:
    assert day_warnings("Demain samedi, ouverture à 9h", [FRI]) == []
    (warning,) = day_warnings("Demain samedi, ouverture à 9h", [SAT])
    assert "'Demain samedi'" in warning
    assert "Saturday 2027-04-03" in warning


@pytest.mark.parametrize(
    "text",
    [
        "Ouvert du lundi au samedi de 9h à 19h",
        "Ouvert de lundi à vendredi",
        "Horaires : lundi-vendredi 9h-18h",
        "Ouvert le dimanche matin",
        "Fermé le lundi",
        "Nous sommes fermés les dimanches",
        "Ouvert tous les samedis",
        "Marché chaque mercredi",
        "Livraison 7j/7 sauf dimanche",
        "RDV samedi 27 mars à 10h",
        "RDV samedi 27/03 à 10h",
        "Soirée dégustation vendredi 1er avril",
    ],
)
def test_periods_habits_and_dated_days_are_not_warned(text: str) -> None:
    assert day_warnings(text, [THU]) == []


def test_a_time_after_the_weekday_is_no_date() -> None:
    assert day_warnings("Ouverture samedi 10h-19h", [THU])
    assert day_warnings("Ouverture samedi 10 h", [THU])


def test_period_does_not_hide_a_specific_day_in_the_same_text() -> None:
    (warning,) = day_warnings("Ouvert du lundi au samedi, et exceptionnellement dimanche", [FRI])
    assert "'dimanche'" in warning


@pytest.mark.parametrize(
    "word", ["aujourd'hui", "aujourd’hui", "ce soir", "ce matin", "demain", "après-demain"]
)
def test_relative_word_on_one_day_is_fine(word: str) -> None:
    assert day_warnings(f"Offre valable {word} seulement", [FRI]) == []


@pytest.mark.parametrize(
    "word", ["aujourd'hui", "ce soir", "ce matin", "ce midi", "cet après-midi", "demain"]
)
def test_relative_word_over_several_days(word: str) -> None:
    (warning,) = day_warnings(f"Offre valable {word} seulement", [FRI, SAT, MON])
    assert f"'{word}'" in warning
    assert "over 3 different days" in warning
    assert "from Friday 2027-03-26 to Monday 2027-03-29" in warning


def test_apres_demain_is_not_read_as_demain() -> None:
    (warning,) = day_warnings("Livraison après-demain", [FRI, SAT])
    assert "'après-demain'" in warning


def test_week_words_within_one_week() -> None:
    assert day_warnings("Ce week-end, -20% !", [THU, FRI, SAT]) == []
    assert day_warnings("Cette semaine, -20% !", [MON, TUE, NEXT_FRI]) == []


def test_week_words_across_weeks() -> None:
    (warning,) = day_warnings("Ce week-end, -20% !", [FRI, MON])
    assert "'Ce week-end'" in warning
    assert "over 2 different weeks" in warning
    assert day_warnings("Ce weekend, -20% !", [SAT, MON])


def test_one_warning_per_word_in_text_order() -> None:
    text = "Demain, demain ! Et ce samedi aussi, ce soir"
    warnings = day_warnings(text, [THU, FRI])
    assert len(warnings) == 3
    assert "'Demain'" in warnings[0]
    assert "'ce samedi'" in warnings[1]
    assert "'ce soir'" in warnings[2]


def test_send_days_in_any_order() -> None:
    assert day_warnings("ce soir", [MON, FRI]) == day_warnings("ce soir", [FRI, MON])


def test_words_inside_other_words_are_not_day_words() -> None:
    assert day_warnings("Demaine et lundiste", [FRI, SAT]) == []
