"""GSM 03.38 (3GPP TS 23.038) default alphabet, its extension table, and UCS-2.

Terms: a *septet* is one 7-bit GSM code; *unpacked* septets are one septet per byte (what most
SMPP carriers take for data_coding 0); *packed* septets are the 7-bit stream of the air interface
(8 septets in 7 octets, least significant bit first). A character of the extension table costs
two septets: the escape 0x1B then its code.
"""

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

ESCAPE: Final = 0x1B

# The basic table, indexed by septet. Position 0x1B is the escape to the extension table, not a
# character: it holds "\x1b" only to keep the indices right and is excluded from BASIC_CHARS.
# Traps: 0x09 is the capital Ç (there is no lower-case ç); 0x60 is ¿ (no backtick); 0x24 is ¤.
BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"  # 0x10
    " !\"#¤%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "¡ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50
    "¿abcdefghijklmno"  # 0x60
    "pqrstuvwxyzäöñüà"  # 0x70
)

# The extension table: septet after the escape -> character. Every other code is unassigned
# (0x1B is reserved for a further extension table, 0x0D for a page break in some revisions).
EXTENSION_TABLE: Final[Mapping[int, str]] = MappingProxyType(
    {
        0x0A: "\f",
        0x14: "^",
        0x28: "{",
        0x29: "}",
        0x2F: "\\",
        0x3C: "[",
        0x3D: "~",
        0x3E: "]",
        0x40: "|",
        0x65: "€",
    }
)

BASIC_CHARS: Final = frozenset(c for i, c in enumerate(BASIC_TABLE) if i != ESCAPE)
EXTENSION_CHARS: Final = frozenset(EXTENSION_TABLE.values())
GSM_CHARS: Final = BASIC_CHARS | EXTENSION_CHARS

# Sorted strings of the sets, for building character classes elsewhere (e.g. text.py's regexes).
BASIC_CHARS_STR: Final = "".join(sorted(BASIC_CHARS))
EXTENSION_CHARS_STR: Final = "".join(sorted(EXTENSION_CHARS))

_NON_GSM_RE: Final = re.compile("[^" + re.escape(BASIC_CHARS_STR + EXTENSION_CHARS_STR) + "]")
_ESCAPED_RE: Final = re.compile("\x1b(.)", re.DOTALL)

# str.translate tables. Encoding maps each GSM character to the code points equal to its
# septet(s), so that `.encode("latin-1")` of the result is the unpacked septets.
_ENCODE: Final[dict[int, str]] = {ord(c): chr(i) for i, c in enumerate(BASIC_TABLE) if i != ESCAPE}
_ENCODE.update({ord(c): chr(ESCAPE) + chr(code) for code, c in EXTENSION_TABLE.items()})
_DECODE_BASIC: Final[dict[int, str]] = {i: c for i, c in enumerate(BASIC_TABLE) if i != ESCAPE}
# After an escape: the extension character; per TS 23.038 an unassigned code shows as the basic
# table's character, and the reserved escape-escape shows as a space.
_DECODE_EXTENDED: Final[dict[int, str]] = {**_DECODE_BASIC, ESCAPE: " ", **EXTENSION_TABLE}


class NotGsm7Error(ValueError):
    """The text has a character outside the GSM 03.38 default alphabet and its extension."""

    def __init__(self, char: str, index: int) -> None:
        super().__init__(f"{char!r} at index {index} is not in the GSM 03.38 alphabet")
        self.char = char
        self.index = index


def is_gsm7(text: str) -> bool:
    """True when every character of `text` is in the basic or the extension table."""
    return _NON_GSM_RE.search(text) is None


def encode_gsm7(text: str) -> bytes:
    """The unpacked septets of `text`, one per byte, extension characters as 0x1B + code."""
    bad = _NON_GSM_RE.search(text)
    if bad is not None:
        raise NotGsm7Error(bad.group(), bad.start())
    return text.translate(_ENCODE).encode("latin-1")


def septet_count(text: str) -> int:
    """The number of septets `text` takes in GSM-7 (extension characters count 2)."""
    bad = _NON_GSM_RE.search(text)
    if bad is not None:
        raise NotGsm7Error(bad.group(), bad.start())
    return len(text) + sum(text.count(c) for c in EXTENSION_CHARS_STR)


def decode_gsm7(septets: bytes) -> str:
    """The text of unpacked septets (inverse of encode_gsm7). Raises ValueError on a byte over
    0x7F or an escape with nothing after it."""
    if septets and max(septets) > 0x7F:
        raise ValueError("not septets: a byte is over 0x7F")
    raw = septets.decode("latin-1")
    if "\x1b" not in raw:
        return raw.translate(_DECODE_BASIC)
    parts: list[str] = []
    pos = 0
    for match in _ESCAPED_RE.finditer(raw):
        parts.append(raw[pos : match.start()].translate(_DECODE_BASIC))
        parts.append(_DECODE_EXTENDED[ord(match.group(1))])
        pos = match.end()
    tail = raw[pos:]
    if "\x1b" in tail:
        raise ValueError("dangling escape 0x1B at the end of the septets")
    parts.append(tail.translate(_DECODE_BASIC))
    return "".join(parts)


def udh_fill_bits(udh_octets: int) -> int:
    """Fill bits after a User Data Header of `udh_octets` octets (UDHL included) so that the
    first septet starts on a septet boundary: 1 for the usual 6-octet concatenation header."""
    if udh_octets < 0:
        raise ValueError("a header cannot have a negative length")
    return (7 - (udh_octets * 8) % 7) % 7


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack unpacked septets into octets, least significant bit first, after `fill_bits` zero
    bits (0 to 6: see udh_fill_bits). The spare bits of the last octet are zero."""
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    if septets and max(septets) > 0x7F:
        raise ValueError("not septets: a byte is over 0x7F")
    value = 0
    shift = fill_bits
    for septet in septets:
        value |= septet << shift
        shift += 7
    return value.to_bytes((shift + 7) // 8, "little")


def unpack_septets(octets: bytes, count: int | None = None, fill_bits: int = 0) -> bytes:
    """Unpack `count` septets from packed `octets`, skipping `fill_bits` leading bits.

    Without `count`, every whole septet in the octets is returned; pass the septet count of the
    message (SMS TP-UDL) when you have it: 7 zero spare bits are otherwise read as an "@"."""
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    available = (len(octets) * 8 - fill_bits) // 7 if octets else 0
    if count is None:
        count = available
    elif not 0 <= count <= available:
        raise ValueError(f"{count} septets asked, {available} in the octets")
    value = int.from_bytes(octets, "little") >> fill_bits
    return bytes((value >> (7 * i)) & 0x7F for i in range(count))


def encode_ucs2(text: str) -> bytes:
    """UCS-2 as sent in SMS: UTF-16 big-endian, no byte order mark; characters beyond U+FFFF
    become a surrogate pair. A lone surrogate in `text` raises UnicodeEncodeError."""
    return text.encode("utf-16-be")


def decode_ucs2(data: bytes) -> str:
    """The text of UTF-16 big-endian bytes (inverse of encode_ucs2)."""
    return data.decode("utf-16-be")
