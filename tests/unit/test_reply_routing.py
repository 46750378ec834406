"""The pure parts of services.replies: which advertisers a STOP or a START concerns, and the
STOP confirmation's text."""

import pytest

from tambour.rules.replies import Routing, confirmation_text, short_digits
from tambour.sms.text import count_text

PERSON = "+33612345678"
# Advertisers 1 and 2 share 36111; 3 has 36222.
OWNERS = {"36111": (1, 2), "36222": (3,)}


def routing(*messaged: tuple[int, str]) -> Routing:
    return Routing(OWNERS, frozenset(messaged))


@pytest.mark.parametrize(
    ("messaged", "short_number", "stop", "start"),
    [
        # one owner of the number messaged the person: that one only
        (((2, PERSON),), "36111", (2,), 2),
        # both owners did: both for a STOP, neither for a START (which one is unsure)
        (((1, PERSON), (2, PERSON)), "36111", (1, 2), None),
        # none did: every owner for a STOP ("all of them when unsure"), no START
        ((), "36111", (1, 2), None),
        # another advertiser messaged them, not an owner of this number: still the owners
        (((3, PERSON),), "36111", (1, 2), None),
        # a number with one owner that did not message: its owner, for both
        ((), "36222", (3,), 3),
        # the short number is nobody's STOP number: whoever messaged the person, no START
        (((3, PERSON), (1, PERSON)), "38888", (1, 3), None),
        ((), "38888", (), None),
        # another person messaged does not count
        (((2, "+33698765432"),), "36111", (1, 2), None),
        # the short number as the SMSC may write it
        (((2, PERSON),), " 36 111", (2,), 2),
    ],
)
def test_routing(
    messaged: tuple[tuple[int, str], ...],
    short_number: str,
    stop: tuple[int, ...],
    start: int | None,
) -> None:
    routed = routing(*messaged)
    assert routed.stop_targets(short_number, PERSON) == stop
    assert routed.start_target(short_number, PERSON) == start


def test_short_digits() -> None:
    assert short_digits("36 111") == short_digits("36111") == "36111"


def test_the_confirmation_names_the_advertiser_in_one_gsm7_segment() -> None:
    text = confirmation_text(["Maison Lumière SAS"])
    assert text == "Vous ne recevrez plus de SMS de Maison Lumière SAS."
    assert (count_text(text).encoding, count_text(text).segments) == ("GSM-7", 1)


def test_several_advertisers_are_all_named() -> None:
    text = confirmation_text(["A SARL", "B", "C", "B"])
    assert text == "Vous ne recevrez plus de SMS de A SARL, B et C."


def test_legal_forms_go_when_that_keeps_one_segment() -> None:
    long_names = [f"Entreprise numero {i} de la region sud SARL" for i in range(3)]
    full = "Vous ne recevrez plus de SMS de " + ", ".join(long_names[:2]) + " et "
    assert count_text(full + long_names[2] + ".").segments == 2  # the names as they are
    text = confirmation_text(long_names)
    assert "SARL" not in text and all(f"numero {i} de la region sud" in text for i in range(3))
    assert count_text(text).segments == 1


def test_names_too_long_for_one_segment_are_still_all_named() -> None:
    names = [f"Une enseigne au nom vraiment tres long numero {i}" for i in range(4)]
    text = confirmation_text(names)
    assert all(name in text for name in names) and count_text(text).segments > 1
