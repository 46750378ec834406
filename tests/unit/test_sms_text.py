"""count_text and split_text: encodings, units, segments, non-GSM characters, suggestions."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tambour.sms.gsm import encode_gsm7, encode_ucs2
from tambour.sms.text import _SUGGESTIONS, NonGsmChar, TextCount, count_text, split_text

# Typed here rather than imported, so the oracle below does not share the module's tables.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
GSM = set(GSM_BASIC + GSM_EXTENSION)
FRENCH_CULPRITS = "’‘“”«»…\u00a0\u202f–—çêâîôûëïœŒÇÊÂÎÔÛËÏÀÈÙŸ"
ESC = 0x1B


def oracle(text: str) -> tuple[str, list[str], list[int]]:
    """Slow, obvious reference: encoding, parts and units of each part, char by char."""
    if all(c in GSM for c in text):
        encoding, single, part = "GSM-7", 160, 153
        weights = [2 if c in GSM_EXTENSION else 1 for c in text]
    else:
        encoding, single, part = "UCS-2", 70, 67
        weights = [2 if ord(c) > 0xFFFF else 1 for c in text]
    if not text:
        return encoding, [], []
    if sum(weights) <= single:
        return encoding, [text], [sum(weights)]
    parts, units = [""], [0]
    for char, weight in zip(text, weights, strict=True):
        if units[-1] + weight > part:
            parts.append("")
            units.append(0)
        parts[-1] += char
        units[-1] += weight
    return encoding, parts, units


def runs(alphabet: str) -> st.SearchStrategy[str]:
    """A character of `alphabet` repeated: pushes the special characters around boundaries."""
    return st.builds(lambda c, n: c * n, st.sampled_from(alphabet), st.integers(1, 170))


gsm_chunks = st.one_of(
    runs(GSM_BASIC), st.sampled_from(GSM_EXTENSION), st.text(st.sampled_from(GSM_BASIC))
)
any_chunks = st.one_of(
    gsm_chunks,
    runs(FRENCH_CULPRITS),
    st.sampled_from(FRENCH_CULPRITS),
    st.characters(min_codepoint=0x10000),  # astral: emoji and the like
    st.text(max_size=20),
)
gsm_texts = st.lists(gsm_chunks, max_size=12).map("".join)
texts = st.one_of(gsm_texts, st.lists(any_chunks, max_size=12).map("".join))


# --- examples ---------------------------------------------------------------------------------


def test_empty_text() -> None:
    assert count_text("") == TextCount("GSM-7", 0, 0, (), (), None)
    assert split_text("") == ("GSM-7", ())


@pytest.mark.parametrize(
    ("length", "segments", "units_per_segment"),
    [
        (1, 1, (1,)),
        (160, 1, (160,)),
        (161, 2, (153, 8)),
        (306, 2, (153, 153)),
        (307, 3, (153, 153, 1)),
        (459, 3, (153, 153, 153)),
    ],
)
def test_gsm7_boundaries(length: int, segments: int, units_per_segment: tuple[int, ...]) -> None:
    count = count_text("a" * length)
    assert (count.encoding, count.units, count.segments) == ("GSM-7", length, segments)
    assert count.units_per_segment == units_per_segment
    assert [len(p) for p in split_text("a" * length)[1]] == list(units_per_segment)


@pytest.mark.parametrize(
    ("length", "segments", "units_per_segment"),
    [
        (70, 1, (70,)),
        (71, 2, (67, 4)),
        (134, 2, (67, 67)),
        (135, 3, (67, 67, 1)),
    ],
)
def test_ucs2_boundaries(length: int, segments: int, units_per_segment: tuple[int, ...]) -> None:
    text = "ç" + "a" * (length - 1)
    count = count_text(text)
    assert (count.encoding, count.units, count.segments) == ("UCS-2", length, segments)
    assert count.units_per_segment == units_per_segment


def test_euro_counts_two_septets() -> None:
    assert count_text("€").units == 2
    assert count_text("10 €").units == 5
    assert count_text("a" * 158 + "€").segments == 1
    assert count_text("a" * 159 + "€").units_per_segment == (153, 8)


def test_every_extension_char_counts_two() -> None:
    count = count_text("^{}\\[~]|€\f")
    assert (count.encoding, count.units) == ("GSM-7", 20)


def test_form_feed_is_an_extension_char() -> None:
    # GSM 03.38 puts form feed at escape + 0x0A; Twilio's calculator counts it 2 septets too.
    assert count_text("a\fb").as_dict()["units"] == 4
    assert count_text("a\fb").encoding == "GSM-7"


def test_extension_chars_count_one_in_ucs2() -> None:
    count = count_text("ç€[")
    assert (count.encoding, count.units) == ("UCS-2", 3)


def test_escape_at_a_part_boundary_moves_whole() -> None:
    text = "a" * 152 + "€" + "b" * 10  # 165 septets; the € would be septets 153 and 154
    encoding, parts = split_text(text)
    assert (encoding, parts) == ("GSM-7", ("a" * 152, "€" + "b" * 10))
    assert count_text(text).units_per_segment == (152, 12)


def test_escape_that_just_fits_stays() -> None:
    text = "a" * 151 + "€" + "b" * 10  # the € is septets 152 and 153
    assert split_text(text)[1] == ("a" * 151 + "€", "b" * 10)
    assert count_text(text).units_per_segment == (153, 10)


def test_emoji_at_a_part_boundary_moves_whole() -> None:
    text = "ç" + "a" * 65 + "😀" + "b" * 10  # 78 units; the emoji would be units 67 and 68
    encoding, parts = split_text(text)
    assert (encoding, parts) == ("UCS-2", ("ç" + "a" * 65, "😀" + "b" * 10))
    assert count_text(text).units_per_segment == (66, 12)


def test_emoji_count_two_units() -> None:
    assert count_text("😀" * 35).units_per_segment == (70,)
    count = count_text("😀" * 35 + "a")
    assert (count.units, count.units_per_segment) == (71, (66, 5))
    assert split_text("😀" * 35 + "a")[1] == ("😀" * 33, "😀😀a")


def test_c_cedilla_lower_forces_ucs2_upper_does_not() -> None:
    assert count_text("Ça va ?").encoding == "GSM-7"
    count = count_text("ça va ?")
    assert count.encoding == "UCS-2"
    assert count.non_gsm == (NonGsmChar("ç", 0),)
    assert count.suggestion == "ca va ?"


def test_gsm_accents_stay_gsm() -> None:
    text = "éèùìòàäöñüÄÖÑÜÉßÆæØøÅå¿¡£¥§¤ΔΦΓΛΩΠΨΣΘΞ\r\n"
    count = count_text(text)
    assert (count.encoding, count.units, count.non_gsm) == ("GSM-7", len(text), ())


@pytest.mark.parametrize("char", ["`", "\t", "\x1b", "ê", "À", "δ", "’"])
def test_lookalikes_force_ucs2(char: str) -> None:
    assert count_text("Promo " + char).encoding == "UCS-2"


def test_non_gsm_indices_are_code_point_indices() -> None:
    count = count_text("😀 ça 🎉 fête")
    assert count.non_gsm == (
        NonGsmChar("😀", 0),
        NonGsmChar("ç", 2),
        NonGsmChar("🎉", 5),
        NonGsmChar("ê", 8),
    )
    assert count.units == 13  # 11 code points, 2 of them astral


def test_suggestion_for_french_typography() -> None:
    text = "C’est « super »\u202f! L’été – ça coûte 5 €…"
    count = count_text(text)
    assert count.encoding == "UCS-2"
    assert count.suggestion == "C'est \" super \" ! L'été - ca coute 5 €..."
    assert count_text(count.suggestion).encoding == "GSM-7"


def test_suggestion_for_capitals_and_ligatures() -> None:
    assert count_text("ÊTRE À L’HEURE").suggestion == "ETRE A L'HEURE"
    assert count_text("Œuvre — cœur").suggestion == "OEuvre - coeur"


@pytest.mark.parametrize(("char", "replacement"), sorted(_SUGGESTIONS.items()))
def test_every_replacement_replaces_a_non_gsm_char_with_gsm(char: str, replacement: str) -> None:
    assert char not in GSM
    assert all(c in GSM for c in replacement)
    assert count_text("a" + char + "b").suggestion == "a" + replacement + "b"


def test_no_suggestion_when_something_cannot_be_replaced() -> None:
    assert count_text("La fête 🎉").suggestion is None
    assert count_text("Привет").suggestion is None


def test_no_suggestion_when_already_gsm() -> None:
    assert count_text("Déjà là ! 10 €").suggestion is None


def test_as_dict() -> None:
    assert count_text("Fête 😀").as_dict() == {
        "encoding": "UCS-2",
        "segments": 1,
        "units": 7,
        "units_per_segment": [7],
        "non_gsm": [{"char": "ê", "index": 1}, {"char": "😀", "index": 5}],
        "suggestion": None,
    }


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=400)
@given(texts)
@example("a" * 152 + "€" * 3)
@example("ç" * 66 + "😀" * 3)
def test_split_matches_the_oracle(text: str) -> None:
    encoding, parts, units = oracle(text)
    assert split_text(text) == (encoding, tuple(parts))
    count = count_text(text)
    assert count.encoding == encoding
    assert count.units_per_segment == tuple(units)
    assert count.units == sum(units)
    assert count.segments == len(parts)


@settings(max_examples=300)
@given(texts)
def test_parts_fit_join_back_and_never_cut_a_pair(text: str) -> None:
    encoding, parts = split_text(text)
    count = count_text(text)
    assert "".join(parts) == text
    assert all(parts)
    assert count.segments == len(parts) == len(count.units_per_segment)
    assert sum(count.units_per_segment) == count.units
    if encoding == "GSM-7":
        stream, unit_bytes, limit = encode_gsm7(text), 1, 160 if len(parts) == 1 else 153
        units_of = [len(encode_gsm7(p)) for p in parts]
    else:
        stream, unit_bytes, limit = encode_ucs2(text), 2, 70 if len(parts) == 1 else 67
        units_of = [len(encode_ucs2(p)) // 2 for p in parts]
    assert units_of == list(count.units_per_segment)
    assert max(units_of, default=0) <= limit
    assert len(stream) == count.units * unit_bytes
    # Cutting the encoded stream where the parts end never separates an escape from its code
    # nor a high surrogate from its low one.
    offset = 0
    for units in count.units_per_segment[:-1]:
        offset += units * unit_bytes
        if encoding == "GSM-7":
            assert stream[offset - 1] != ESC
        else:
            assert not 0xD8 <= stream[offset - 2] <= 0xDB
    # Greedy: the first character of the next part would not have fitted.
    for part, units, following in zip(parts, units_of, parts[1:], strict=False):
        assert count_text(part + following[0]).units > units


@given(texts)
def test_non_gsm_lists_every_culprit_in_order(text: str) -> None:
    count = count_text(text)
    expected = tuple(NonGsmChar(c, i) for i, c in enumerate(text) if c not in GSM)
    assert count.non_gsm == expected
    assert (count.encoding == "GSM-7") == (not expected)


@given(texts)
def test_suggestion_is_gsm_and_only_offered_for_ucs2(text: str) -> None:
    count = count_text(text)
    if count.encoding == "GSM-7":
        assert count.suggestion is None
    elif count.suggestion is not None:
        assert all(c in GSM for c in count.suggestion)
        # the GSM characters of the text are kept, in order
        kept = iter(count.suggestion)
        assert all(c in kept for c in text if c in GSM)


@given(st.lists(st.one_of(gsm_chunks, st.sampled_from(FRENCH_CULPRITS)), max_size=8))
def test_suggestion_offered_whenever_all_culprits_are_known(chunks: list[str]) -> None:
    text = "".join(chunks)
    count = count_text(text)
    if count.encoding == "UCS-2":
        assert count.suggestion is not None
