"""How a text travels as SMS: its encoding, its segments, and what forces it out of GSM-7.

GSM-7 carries 160 septets in a single message and 153 per part of a concatenated one (the User
Data Header takes the rest); an extension character (€, [, ], {, }, \\, ^, ~, |, form feed) costs
two septets. One character outside GSM 03.38 turns the whole text into UCS-2: 70 UTF-16 code
units single, 67 per part; a character beyond U+FFFF (most emoji) costs two units. Parts are cut
greedily and never inside an escape pair or a surrogate pair. (A Python str can also hold lone
surrogate code points, e.g. from JSON "\\ud83d": each counts as one non-GSM UCS-2 unit.)

count_text only reports: it never changes the text. Its `suggestion` is a text the marketer may
accept instead (typographic quotes, dashes, non-breaking spaces, ç, ê... replaced) when that
makes the whole text GSM-7.

Speed matters (a campaign counts every personalized text): the common cases are decided with
precompiled regexes and str methods; only a multi-part text with two-unit characters walks
those characters, never the whole text.
"""

import re
from dataclasses import dataclass
from typing import Final, Literal

from tambour.sms.gsm import BASIC_CHARS_STR, EXTENSION_CHARS_STR

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE_UNITS: Final = 160
GSM7_PART_UNITS: Final = 153
UCS2_SINGLE_UNITS: Final = 70
UCS2_PART_UNITS: Final = 67


@dataclass(frozen=True, slots=True)
class NonGsmChar:
    """A character that forces UCS-2, and its index (code point) in the text."""

    char: str
    index: int


@dataclass(frozen=True, slots=True)
class TextCount:
    """What a text costs: `units` are septets (GSM-7) or UTF-16 code units (UCS-2)."""

    encoding: Encoding
    units: int
    segments: int
    units_per_segment: tuple[int, ...]
    non_gsm: tuple[NonGsmChar, ...]
    suggestion: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "segments": self.segments,
            "units": self.units,
            "units_per_segment": list(self.units_per_segment),
            "non_gsm": [{"char": c.char, "index": c.index} for c in self.non_gsm],
            "suggestion": self.suggestion,
        }


# Any character outside the basic table: an extension character or a non-GSM one.
_NOT_BASIC_RE: Final = re.compile("[^" + re.escape(BASIC_CHARS_STR) + "]")
_NON_GSM_RE: Final = re.compile("[^" + re.escape(BASIC_CHARS_STR + EXTENSION_CHARS_STR) + "]")
_EXTENSION_RE: Final = re.compile("[" + re.escape(EXTENSION_CHARS_STR) + "]")
_ASTRAL_RE: Final = re.compile("[\U00010000-\U0010ffff]")

# Replacements a marketer may accept to stay in GSM-7. Only characters outside GSM 03.38 are
# listed (é, è, à, ù, É, Ç... are in the alphabet and stay as they are).
_SUGGESTIONS: Final[dict[str, str]] = {
    # quotes and apostrophes
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u2032": "'",  # ′
    "\u00b4": "'",  # ´
    "`": "'",
    "\u2039": "'",  # ‹
    "\u203a": "'",  # ›
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',  # ‟
    "\u2033": '"',  # ″
    "\u00ab": '"',  # «
    "\u00bb": '"',  # »
    # dashes, hyphens, bullets, ellipsis
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2022": "-",  # bullet
    "\u2026": "...",  # …
    # spaces and invisible characters
    "\t": " ",
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space (French typography before ; : ! ?)
    "\u2000": " ",
    "\u2001": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2004": " ",
    "\u2005": " ",
    "\u2006": " ",
    "\u2007": " ",
    "\u2008": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u200b": "",  # zero-width space
    "\u2060": "",  # word joiner
    "\ufeff": "",  # byte order mark / zero-width no-break space
    "\u00ad": "",  # soft hyphen
    # letters: French first, then the usual neighbours
    "ç": "c",
    "â": "a",
    "ê": "e",
    "î": "i",
    "ô": "o",
    "û": "u",
    "ë": "e",
    "ï": "i",
    "ÿ": "y",
    "œ": "oe",
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "ã": "a",
    "õ": "o",
    "À": "A",
    "Â": "A",
    "È": "E",
    "Ê": "E",
    "Ë": "E",
    "Î": "I",
    "Ï": "I",
    "Ô": "O",
    "Ù": "U",
    "Û": "U",
    "Ÿ": "Y",
    "Œ": "OE",
    "Á": "A",
    "Í": "I",
    "Ó": "O",
    "Ú": "U",
    "Ã": "A",
    "Õ": "O",
}

_NO_NON_GSM: Final[tuple[NonGsmChar, ...]] = ()
_EMPTY: Final = TextCount("GSM-7", 0, 0, (), _NO_NON_GSM, None)


def count_text(text: str) -> TextCount:
    """The encoding, units and segments of `text`, what forces UCS-2, and a GSM-7 suggestion."""
    if not text:
        return _EMPTY
    first = _NOT_BASIC_RE.search(text)
    if first is None:  # basic table only: one septet per character
        n = len(text)
        if n <= GSM7_SINGLE_UNITS:
            return TextCount("GSM-7", n, 1, (n,), _NO_NON_GSM, None)
        segments, sizes = _even_parts(n, GSM7_PART_UNITS)
        return TextCount("GSM-7", n, segments, sizes, _NO_NON_GSM, None)
    start = first.start()
    if _NON_GSM_RE.search(text, start) is None:
        wide = [m.start() for m in _EXTENSION_RE.finditer(text, start)]
        units = len(text) + len(wide)
        if units <= GSM7_SINGLE_UNITS:
            return TextCount("GSM-7", units, 1, (units,), _NO_NON_GSM, None)
        cut = _cut(text, wide, GSM7_PART_UNITS)[1]
        return TextCount("GSM-7", units, len(cut), tuple(cut), _NO_NON_GSM, None)
    non_gsm = _non_gsm(text, start)
    suggestion = _suggest(text, non_gsm)
    # Characters beyond U+FFFF take two UTF-16 units; none of them is in GSM 03.38.
    wide = [c.index for c in non_gsm if c.char > "\uffff"]
    units = len(text) + len(wide)
    if units <= UCS2_SINGLE_UNITS:
        return TextCount("UCS-2", units, 1, (units,), non_gsm, suggestion)
    if not wide:
        segments, sizes = _even_parts(units, UCS2_PART_UNITS)
        return TextCount("UCS-2", units, segments, sizes, non_gsm, suggestion)
    cut = _cut(text, wide, UCS2_PART_UNITS)[1]
    return TextCount("UCS-2", units, len(cut), tuple(cut), non_gsm, suggestion)


def split_text(text: str) -> tuple[Encoding, tuple[str, ...]]:
    """The encoding of `text` and its parts, one per segment, in order; they join back to `text`."""
    if not text:
        return "GSM-7", ()
    encoding: Encoding
    if _NON_GSM_RE.search(text) is None:
        encoding, single, part = "GSM-7", GSM7_SINGLE_UNITS, GSM7_PART_UNITS
        wide = [m.start() for m in _EXTENSION_RE.finditer(text)]
    else:
        encoding, single, part = "UCS-2", UCS2_SINGLE_UNITS, UCS2_PART_UNITS
        wide = [m.start() for m in _ASTRAL_RE.finditer(text)]
    if len(text) + len(wide) <= single:
        return encoding, (text,)
    ends = _cut(text, wide, part)[0]
    starts = [0, *ends[:-1]]
    return encoding, tuple(text[s:e] for s, e in zip(starts, ends, strict=True))


def _non_gsm(text: str, start: int) -> tuple[NonGsmChar, ...]:
    """The non-GSM characters of `text` from `start` on, with their indices. findall then
    str.index costs less than finditer's match objects: between two matches every character
    is GSM, so the next occurrence of a matched character is the match itself."""
    found: list[NonGsmChar] = []
    pos = start
    for char in _NON_GSM_RE.findall(text, start):
        pos = text.index(char, pos)
        found.append(NonGsmChar(char, pos))
        pos += 1
    return tuple(found)


def _suggest(text: str, non_gsm: tuple[NonGsmChar, ...]) -> str | None:
    """`text` with its non-GSM characters replaced from _SUGGESTIONS, or None when one of them
    has no replacement. Replacements are all GSM-7."""
    pieces: list[str] = []
    pos = 0
    for found in non_gsm:
        replacement = _SUGGESTIONS.get(found.char)
        if replacement is None:
            return None
        pieces.append(text[pos : found.index])
        pieces.append(replacement)
        pos = found.index + 1
    pieces.append(text[pos:])
    return "".join(pieces)


def gsm7_alternative(char: str) -> str | None:
    """The GSM-7 text a marketer may put instead of `char`, a character outside GSM 03.38
    (’ gives ', « gives ", … gives ...); None when there is none (an emoji, a Chinese
    character) or when `char` is in the alphabet already (é, è, à, ù stay as they are)."""
    return _SUGGESTIONS.get(char)


def with_gsm7_alternatives(text: str) -> str:
    """`text` with every character that has a GSM-7 alternative replaced by it; the others
    (GSM characters, and non-GSM ones without an alternative) stay. Unlike `suggestion`, it
    replaces what it can even when a character without an alternative remains."""
    first = _NON_GSM_RE.search(text)
    if first is None:
        return text
    pieces: list[str] = []
    pos = 0
    for found in _non_gsm(text, first.start()):
        replacement = _SUGGESTIONS.get(found.char)
        if replacement is not None:
            pieces.append(text[pos : found.index])
            pieces.append(replacement)
            pos = found.index + 1
    pieces.append(text[pos:])
    return "".join(pieces)


def _even_parts(units: int, part: int) -> tuple[int, tuple[int, ...]]:
    """Segments and their units when every character is one unit."""
    full, rest = divmod(units, part)
    if rest:
        return full + 1, (part,) * full + (rest,)
    return full, (part,) * full


def _cut(text: str, wide: list[int], part: int) -> tuple[list[int], list[int]]:
    """Greedy cut of `text` into parts of at most `part` units, where the characters at the
    sorted indices `wide` take two units and go whole to the next part when one is left.

    Returns the end index of each part and its units. Works in steps of runs between wide
    characters, not character by character."""
    n = len(text)
    ends: list[int] = []
    sizes: list[int] = []
    pos = 0
    j = 0
    count = len(wide)
    while pos < n:
        room = part
        while True:
            nxt = wide[j] if j < count else n
            run = nxt - pos  # one-unit characters before the next wide one (or the end)
            if run >= room:
                pos += room
                room = 0
                break
            pos = nxt
            room -= run
            if nxt == n or room < 2:
                break
            pos += 1
            room -= 2
            j += 1
        ends.append(pos)
        sizes.append(part - room)
    return ends, sizes
