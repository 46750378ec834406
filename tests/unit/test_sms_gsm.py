"""GSM 03.38 tables, septet encoding, packing, and UCS-2."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tambour.sms.gsm import (
    BASIC_CHARS,
    BASIC_TABLE,
    ESCAPE,
    EXTENSION_CHARS,
    EXTENSION_TABLE,
    GSM_CHARS,
    NotGsm7Error,
    decode_gsm7,
    decode_ucs2,
    encode_gsm7,
    encode_ucs2,
    is_gsm7,
    pack_septets,
    septet_count,
    udh_fill_bits,
    unpack_septets,
)

# The 3GPP TS 23.038 default alphabet as Unicode code points, typed from the standard's table in
# a different form than the module's string, so a typo in one shows up against the other.
STANDARD_BASIC = {
    0x40: 0x00, 0xA3: 0x01, 0x24: 0x02, 0xA5: 0x03, 0xE8: 0x04, 0xE9: 0x05, 0xF9: 0x06,
    0xEC: 0x07, 0xF2: 0x08, 0xC7: 0x09, 0x0A: 0x0A, 0xD8: 0x0B, 0xF8: 0x0C, 0x0D: 0x0D,
    0xC5: 0x0E, 0xE5: 0x0F, 0x394: 0x10, 0x5F: 0x11, 0x3A6: 0x12, 0x393: 0x13, 0x39B: 0x14,
    0x3A9: 0x15, 0x3A0: 0x16, 0x3A8: 0x17, 0x3A3: 0x18, 0x398: 0x19, 0x39E: 0x1A, 0xC6: 0x1C,
    0xE6: 0x1D, 0xDF: 0x1E, 0xC9: 0x1F, 0xA4: 0x24, 0xA1: 0x40, 0xC4: 0x5B, 0xD6: 0x5C,
    0xD1: 0x5D, 0xDC: 0x5E, 0xA7: 0x5F, 0xBF: 0x60, 0xE4: 0x7B, 0xF6: 0x7C, 0xF1: 0x7D,
    0xFC: 0x7E, 0xE0: 0x7F,
}  # fmt: skip
# ASCII printable characters that sit at their own code in the table.
STANDARD_BASIC.update({c: c for c in range(0x20, 0x7B) if c not in (0x24, 0x40, 0x5F, 0x60)})
for _c in (0x5B, 0x5C, 0x5D, 0x5E):  # [ \ ] ^ are extension characters, not basic
    del STANDARD_BASIC[_c]
STANDARD_EXTENSION = {
    0x0C: 0x0A, 0x5E: 0x14, 0x7B: 0x28, 0x7D: 0x29, 0x5C: 0x2F, 0x5B: 0x3C, 0x7E: 0x3D,
    0x5D: 0x3E, 0x7C: 0x40, 0x20AC: 0x65,
}  # fmt: skip

gsm_texts = st.text(alphabet=st.sampled_from(sorted(GSM_CHARS)), max_size=400)
septets = st.binary(max_size=400).map(lambda b: bytes(x & 0x7F for x in b))


def test_basic_table_matches_the_standard() -> None:
    assert len(BASIC_TABLE) == 128
    assert len(BASIC_CHARS) == 127  # 128 codes, one of them the escape
    assert {ord(c): i for i, c in enumerate(BASIC_TABLE) if i != ESCAPE} == STANDARD_BASIC


def test_extension_table_matches_the_standard() -> None:
    assert {ord(c): code for code, c in EXTENSION_TABLE.items()} == STANDARD_EXTENSION
    assert sorted(EXTENSION_CHARS) == sorted("\f^{}\\[~]|€")
    assert not BASIC_CHARS & EXTENSION_CHARS
    assert len(GSM_CHARS) == 137


@pytest.mark.parametrize(
    "char",
    list("éèùìòàäöñüÄÖÑÜÉßÆæØøÅå¿¡£¥§¤ΔΦΓΛΩΠΨΣΘΞÇ_@$\r\n"),
)
def test_traps_in_the_basic_table(char: str) -> None:
    assert char in BASIC_CHARS
    assert septet_count(char) == 1


@pytest.mark.parametrize(
    "char",
    # lower-case ç, backtick, tab, the escape itself, a Greek lower-case letter, accented capitals
    # other than Ä Å Æ Ç É Ñ Ö Ø Ü, French typography, the degree sign
    ["ç", "`", "\t", "\x1b", "δ", "ê", "â", "œ", "À", "È", "’", "«", "\u00a0", "°"],
)
def test_characters_outside_gsm(char: str) -> None:
    assert char not in GSM_CHARS
    assert not is_gsm7("abc" + char)


def test_encode_gsm7_known_septets() -> None:
    assert encode_gsm7("@£$") == b"\x00\x01\x02"
    assert encode_gsm7("Ç") == b"\x09"
    assert encode_gsm7("€") == b"\x1b\x65"
    assert encode_gsm7("\f") == b"\x1b\x0a"
    assert encode_gsm7("a[b]") == b"a\x1b\x3cb\x1b\x3e"
    assert encode_gsm7("¿à") == b"\x60\x7f"


def test_encode_gsm7_reports_the_first_bad_character() -> None:
    with pytest.raises(NotGsm7Error) as caught:
        encode_gsm7("Ça coûte ç")
    assert (caught.value.char, caught.value.index) == ("û", 5)
    assert isinstance(caught.value, ValueError)


def test_septet_count() -> None:
    assert septet_count("") == 0
    assert septet_count("10 €") == 5
    assert septet_count("^{}\\[~]|€\f") == 20
    with pytest.raises(NotGsm7Error):
        septet_count("ç")


def test_decode_escapes() -> None:
    assert decode_gsm7(b"\x1b\x65 \x1b\x14") == "€ ^"
    # TS 23.038: an unassigned extension code shows as the basic character, escape-escape a space
    assert decode_gsm7(b"\x1b\x41") == "A"
    assert decode_gsm7(b"\x1b\x1b") == " "
    with pytest.raises(ValueError, match="dangling escape"):
        decode_gsm7(b"ab\x1b")
    with pytest.raises(ValueError, match="over 0x7F"):
        decode_gsm7(b"\x80")


@given(gsm_texts)
def test_gsm7_round_trip(text: str) -> None:
    encoded = encode_gsm7(text)
    assert max(encoded, default=0) <= 0x7F
    assert len(encoded) == septet_count(text)
    assert decode_gsm7(encoded) == text


def test_pack_known_vector() -> None:
    # The classic example of 3GPP packing: "hellohello", 10 septets in 9 octets.
    assert pack_septets(encode_gsm7("hellohello")) == bytes.fromhex("E8329BFD4697D9EC37")
    assert unpack_septets(bytes.fromhex("E8329BFD4697D9EC37"), 10) == b"hellohello"
    assert pack_septets(b"") == b""


def test_udh_fill_bits() -> None:
    assert udh_fill_bits(6) == 1  # 0x05 0x00 0x03 ref total seq: 48 bits, 1 fill bit
    assert udh_fill_bits(7) == 0  # 16-bit reference header: 56 bits, already aligned
    assert udh_fill_bits(0) == 0
    assert [(n * 8 + udh_fill_bits(n)) % 7 for n in range(1, 20)] == [0] * 19
    with pytest.raises(ValueError):
        udh_fill_bits(-1)


def _pack_by_bits(data: bytes, fill_bits: int) -> bytes:
    """Independent packing: write the bit stream LSB first as a string, cut it in octets."""
    bits = "0" * fill_bits + "".join(format(s, "07b")[::-1] for s in data)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8][::-1], 2) for i in range(0, len(bits), 8))


@given(septets, st.integers(0, 6))
def test_pack_matches_a_bit_by_bit_packing(data: bytes, fill_bits: int) -> None:
    assert pack_septets(data, fill_bits) == _pack_by_bits(data, fill_bits)


@given(septets, st.integers(0, 6))
def test_pack_unpack_round_trip(data: bytes, fill_bits: int) -> None:
    packed = pack_septets(data, fill_bits)
    assert len(packed) == (len(data) * 7 + fill_bits + 7) // 8
    assert unpack_septets(packed, len(data), fill_bits) == data


def test_unpack_without_count_reads_zero_spare_bits_as_at() -> None:
    packed = pack_septets(encode_gsm7("1234567"))  # 7 septets, 49 bits, 7 spare bits
    assert len(packed) == 7
    assert unpack_septets(packed) == encode_gsm7("1234567@")
    assert unpack_septets(packed, 7) == encode_gsm7("1234567")
    with pytest.raises(ValueError):
        unpack_septets(packed, 9)


def test_pack_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        pack_septets(b"\x80")
    with pytest.raises(ValueError):
        pack_septets(b"a", fill_bits=7)


def test_ucs2() -> None:
    assert encode_ucs2("é") == b"\x00\xe9"
    assert encode_ucs2("€") == b"\x20\xac"
    assert encode_ucs2("😀") == b"\xd8\x3d\xde\x00"  # a surrogate pair, two code units
    assert decode_ucs2(b"\xd8\x3d\xde\x00\x00\xe7") == "😀ç"
    with pytest.raises(UnicodeEncodeError):
        encode_ucs2("\ud83d")  # a lone surrogate is not text


@given(st.text(max_size=200))
def test_ucs2_round_trip(text: str) -> None:
    assert decode_ucs2(encode_ucs2(text)) == text
