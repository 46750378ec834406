"""Reading an advertiser's contact file: encodings, delimiters, headers, rejects and streaming."""

import contextlib
import csv
import os
import stat
import threading
import tracemalloc
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tambour.contacts import reader
from tambour.contacts.reader import (
    ContactFileError,
    FileFormat,
    Reject,
    RejectsWriter,
    default_rejects_path,
    load_mapping,
    read_contacts,
    sniff,
)
from tambour.contacts.row import CanonicalRow, FieldError, parse_row
from tambour.rules.codes import ContactKind

LEA = "06 12 34 56 78"
JEAN = "0611223344"
ZOE = "+33 7 81 22 33 44"


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read(
    path: Path, mapping: Mapping[str, str] | None = None
) -> list[tuple[int, CanonicalRow | None, list[Reject]]]:
    return list(read_contacts(path, mapping))


def rows(path: Path, mapping: Mapping[str, str] | None = None) -> list[CanonicalRow]:
    found = []
    for _, row, rejects in read_contacts(path, mapping):
        assert row is not None, rejects
        found.append(row)
    return found


# -- encodings ----------------------------------------------------------------------------------


def test_utf8_without_bom(tmp_path: Path) -> None:
    path = write(tmp_path, f"phone,first_name,ville\n{LEA},Léa,Besançon\n")
    assert sniff(path).encoding == "utf-8"
    [row] = rows(path)
    assert row.first_name == "Léa"
    assert row.extra == {"ville": "Besançon"}


def test_utf8_with_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = write(tmp_path, f"\ufeffphone;first_name\n{LEA};Zoé\n")
    fmt = sniff(path)
    assert fmt.encoding == "utf-8-sig"
    assert fmt.header == ("phone", "first_name")
    assert fmt.columns == ("phone", "first_name")
    [row] = rows(path)
    assert (row.phone.e164, row.first_name) == ("+33612345678", "Zoé")


def test_cp1252_french_excel_export(tmp_path: Path) -> None:
    text = f"Téléphone;Prénom;Société;Offre\n{LEA};Hélène;Cœur d'Or;-20 € sur l'œuvre\n"
    path = write(tmp_path, text, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode()  # really not UTF-8
    fmt = sniff(path)
    assert fmt.encoding == "cp1252"
    assert fmt.columns == ("phone", "first_name", "company", "Offre")
    [row] = rows(path)
    assert row.first_name == "Hélène"
    assert row.company == "Cœur d'Or"
    assert row.extra == {"Offre": "-20 € sur l'œuvre"}


def test_cp1252_detected_when_the_only_accent_is_far_into_the_file(tmp_path: Path) -> None:
    body = "".join(f"06{i:08d};Jean\n" for i in range(200_000))  # > 2 MiB of ASCII first
    path = write(tmp_path, f"phone;first_name\n{body}{JEAN};Noël\n", encoding="cp1252")
    assert path.stat().st_size > 2 * 2**20
    assert sniff(path).encoding == "cp1252"


def test_utf8_sequence_split_across_read_chunks_is_still_utf8(tmp_path: Path) -> None:
    head = "phone;first_name\n"
    pad = "x" * (2**20 - len(head) - len(LEA) - 2)  # "é" straddles the 1 MiB boundary
    path = write(tmp_path, f"{head}{LEA};{pad}é\n")
    assert path.read_bytes()[2**20 - 1 : 2**20 + 1] == "é".encode()
    assert sniff(path).encoding == "utf-8"


def test_utf8_file_with_one_cp1252_line_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("phone;first_name\n06 12 34 56 78;Léa\n".encode() + b"0611223344;No\xebl\n")
    with pytest.raises(ContactFileError, match=r"mixed\.csv: line 3: mixed encodings"):
        sniff(path)


def test_bom_file_that_is_not_utf8_further_on_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"\xef\xbb\xbfphone;first_name\n0612345678;L\xe9a\n")
    with pytest.raises(ContactFileError, match=r"line 2: mixed encodings.*BOM"):
        sniff(path)


def test_byte_undefined_in_cp1252_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"phone;first_name\n0612345678;L\xe9a\n0611223344;\x81\n")
    with pytest.raises(ContactFileError, match=r"line 3: byte 0x81"):
        sniff(path)


def test_excel_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    with pytest.raises(ContactFileError, match="Excel workbook"):
        sniff(path)


# -- delimiters and headers ---------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_delimiter_is_sniffed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    # The cells hold the other candidates, so a wrong delimiter would split them.
    header = delimiter.join(["phone", "first_name", "tags", "note"])
    line = delimiter.join([LEA, "Léa", '"vip;soldes"', '"a, b"'])
    path = write(tmp_path, f"{header}\n{line}\n")
    assert sniff(path).delimiter == delimiter
    [row] = rows(path)
    assert row.tags == ("vip", "soldes")
    assert row.extra == {"note": "a, b"}


def test_delimiter_inside_quoted_header_is_not_counted(tmp_path: Path) -> None:
    path = write(tmp_path, f'phone,"nom; prénom; ville",x\n{LEA},a,b\n')
    assert sniff(path).delimiter == ","


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Téléphone", "phone"),
        ("TELEPHONE", "phone"),
        ("Tél.", "phone"),
        ("Mobile", "phone"),
        ("Portable", "phone"),
        ("Numéro", "phone"),
        ("GSM", "phone"),
        ("Prénom", "first_name"),
        ("NOM", "last_name"),
        ("Société", "company"),
        ("Entreprise", "company"),
        ("Raison sociale", "company"),
        ("Code postal", "postal_code"),
        ("CP", "postal_code"),
        ("code-postal", "postal_code"),
        ("Consent At", "consent_at"),
        (" Last-Purchase-At ", "last_purchase_at"),
    ],
)
def test_french_and_folded_headers_are_recognised(
    tmp_path: Path, header: str, canonical: str
) -> None:
    other = "phone" if canonical != "phone" else "external_id"
    path = write(tmp_path, f"{other};{header}\nx;y\n")
    assert sniff(path).columns == (other, canonical)


def test_french_headers_fill_the_row(tmp_path: Path) -> None:
    text = "Numéro;Prénom;Nom;Raison sociale;CP;Consent At;Ville\n"
    text += "06 12 34 56 78;Léa;Martin;Atelier;6700;2024-03-15;Strasbourg\n"
    [row] = rows(write(tmp_path, text))
    assert row.phone.e164 == "+33612345678"
    assert (row.first_name, row.last_name, row.company) == ("Léa", "Martin", "Atelier")
    assert row.postal_code == "06700"
    assert row.consent_at is not None and row.consent_at.isoformat() == "2024-03-14T23:00:00+00:00"
    assert row.extra == {"Ville": "Strasbourg"}


def test_no_phone_column_names_the_file_and_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "Prénom;Ville;Courriel\nLéa;Paris;lea@x.fr\n")
    with pytest.raises(ContactFileError) as error:
        sniff(path)
    message = str(error.value)
    assert "contacts.csv" in message and "no phone column" in message
    assert all(name in message for name in ("'Prénom'", "'Ville'", "'Courriel'"))


def test_two_columns_for_the_same_field_are_refused_naming_both(tmp_path: Path) -> None:
    path = write(tmp_path, "Téléphone;Prénom;Mobile\n0612345678;Léa;0611223344\n")
    with pytest.raises(ContactFileError, match=r"'Téléphone' and 'Mobile' are both phone"):
        sniff(path)


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    for text in ("", "\ufeff", "\n\n  \n"):
        path = write(tmp_path, text)
        with pytest.raises(ContactFileError, match=r"contacts\.csv: the file is empty"):
            sniff(path)
        with pytest.raises(ContactFileError):
            read(path)


def test_missing_file_is_a_contact_file_error(tmp_path: Path) -> None:
    with pytest.raises(ContactFileError, match=r"nope\.csv"):
        sniff(tmp_path / "nope.csv")


def test_header_only_file_yields_nothing(tmp_path: Path) -> None:
    assert read(write(tmp_path, "phone;first_name\n")) == []


# -- mapping file -------------------------------------------------------------------------------


def write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_mapping_file_renames_and_ignores_columns(tmp_path: Path) -> None:
    mapping_path = write_mapping(
        tmp_path,
        '[columns]\n"Téléphone portable" = "phone"\n"Ignorée" = ""\n'
        '"Téléphone" = ""\n"Date opt-in" = "consent_at"\n',
    )
    mapping = load_mapping(mapping_path)
    assert mapping == {
        "Téléphone portable": "phone",
        "Ignorée": "",
        "Téléphone": "",
        "Date opt-in": "consent_at",
    }
    text = "Téléphone;Téléphone portable;Ignorée;Date opt-in;Ville\n"
    text += "01 42 68 53 00;06 12 34 56 78;secret;2024-03-15;Paris\n"
    path = write(tmp_path, text)
    # Without the mapping both telephone columns would be the phone.
    with pytest.raises(ContactFileError, match="both phone"):
        sniff(path)
    fmt = sniff(path, mapping)
    assert fmt.columns == (None, "phone", None, "consent_at", "Ville")
    [row] = rows(path, mapping)
    assert row.phone.e164 == "+33612345678"  # the mobile, not the ignored landline
    assert row.consent_at is not None
    assert row.extra == {"Ville": "Paris"}  # the ignored columns are nowhere


def test_mapping_keys_compare_folded(tmp_path: Path) -> None:
    path = write(tmp_path, "TEL. PORTABLE;x\n0612345678;y\n")
    assert sniff(path, {"Tél portable": "phone"}).columns == ("phone", "x")


def test_mapping_to_an_unknown_column_names_the_mapping_file(tmp_path: Path) -> None:
    path = write_mapping(tmp_path, '[columns]\n"Téléphone" = "phone"\n"Ville" = "city"\n')
    with pytest.raises(ContactFileError) as error:
        load_mapping(path)
    assert "mapping.toml" in str(error.value)
    assert "'Ville' = 'city'" in str(error.value)


def test_mapping_given_in_code_is_checked_too(tmp_path: Path) -> None:
    path = write(tmp_path, "phone;Ville\n0612345678;Paris\n")
    with pytest.raises(ContactFileError, match="'city'"):
        sniff(path, {"Ville": "city"})


def test_a_mapping_key_matching_no_column_names_it_and_the_file_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "Numéro de mobile;Opt-in SMS;;\n0612345678;oui;;\n")
    mapping_path = write_mapping(tmp_path, '[columns]\n"Portable" = "phone"\n"Opt-in SMS" = ""\n')
    with pytest.raises(ContactFileError) as error:
        sniff(path, load_mapping(mapping_path), mapping_source=mapping_path)
    assert str(error.value) == (
        f"{mapping_path}: key 'Portable' matches no column of contacts.csv, whose columns are: "
        "'Numéro de mobile', 'Opt-in SMS'"
    )
    with pytest.raises(ContactFileError, match=r"keys 'Ville', 'Optin' match no column"):
        sniff(path, {"Ville": "", "Optin": "consent"})


def test_two_mapping_keys_for_one_column_must_agree(tmp_path: Path) -> None:
    path = write(tmp_path, "Portable;Opt-in SMS\n0612345678;oui\n")
    with pytest.raises(ContactFileError, match="'Opt-in SMS' and 'optin sms' name one column"):
        sniff(path, {"Opt-in SMS": "consent", "optin sms": ""})
    assert sniff(path, {"Opt-in SMS": "consent", "OPT-IN SMS": "consent"}).columns == (
        "phone", "consent",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[columns\n"a" = "phone"\n', "not a valid TOML"),
        ('"a" = "phone"\n', r"no \[columns\] table"),
        ("[columns]\na = 3\n", "must map to a column name"),
    ],
)
def test_malformed_mapping_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ContactFileError, match=message) as error:
        load_mapping(write_mapping(tmp_path, text))
    assert "mapping.toml" in str(error.value)


# -- quoting and line numbers -------------------------------------------------------------------


def test_quoted_cells_with_delimiter_and_newlines_keep_line_numbers(tmp_path: Path) -> None:
    text = (
        "phone;first_name;consent_wording;company\n"  # 1
        f'{LEA};Léa;"J\'accepte;\nde recevoir\r\ndes SMS";"Dupont; fils"\n'  # 2-4
        f"{JEAN};Jean;;\n"  # 5
        'not a phone;Bob;"deux\nlignes";\n'  # 6-7
        f"{ZOE};Zoé;;\n"  # 8
    )
    result = read(write(tmp_path, text))
    assert [line for line, _, _ in result] == [2, 5, 6, 8]
    first = result[0][1]
    assert first is not None
    assert first.consent_wording == "J'accepte;\nde recevoir\r\ndes SMS"
    assert first.company == "Dupont; fils"
    assert result[2][1] is None
    assert result[2][2] == [
        Reject(6, "phone", "not a valid phone number", ("not a phone", "Bob", "deux\nlignes", ""))
    ]
    assert result[3][1] is not None and result[3][1].first_name == "Zoé"


def test_blank_lines_are_skipped_silently_and_counted(tmp_path: Path) -> None:
    text = f"phone;first_name\n\n{LEA};Léa\n;\n   \n{JEAN};Jean\n\n"
    result = read(write(tmp_path, text))
    assert [(line, rejects) for line, _, rejects in result] == [(3, []), (6, [])]


def test_crlf_line_endings(tmp_path: Path) -> None:
    text = f"phone;first_name\r\n{LEA};Léa\r\n0612;X\r\n{JEAN};Jean\r\n"
    result = read(write(tmp_path, text))
    assert [(line, row is None) for line, row, _ in result] == [(2, False), (3, True), (4, False)]


# -- rejected rows ------------------------------------------------------------------------------

MALFORMED = [
    (("0612", "", "", ""), "phone", "not a valid phone number"),
    (("12 rue des Lilas", "", "", ""), "phone", "not a valid phone number"),
    (("", "", "", ""), "phone", "the phone number is missing"),
    ((LEA, "31/02/2024", "", ""), "consent_at", "is not a date"),
    ((LEA, "0001-01-01", "", ""), "consent_at", "is out of the range of dates"),
    ((LEA, "", "peut-être", ""), "consent", "is not a yes/no value"),
    ((LEA, "", "", "robot"), "kind", "is not a kind"),
]


@pytest.mark.parametrize(("cells", "field", "reason"), MALFORMED)
def test_malformed_row_is_rejected_whole_and_its_neighbours_are_read(
    tmp_path: Path, cells: tuple[str, str, str, str], field: str, reason: str
) -> None:
    phone, consent_at, consent, kind = cells
    bad = (phone, "Bob", consent_at, consent, kind)
    text = "phone;first_name;consent_at;consent;kind\n"
    text += f"{JEAN};Jean;2024-01-01;oui;person\n" + ";".join(bad) + f"\n{ZOE};Zoé;;non;pro\n"
    result = read(write(tmp_path, text))
    assert [line for line, _, _ in result] == [2, 3, 4]
    (_, before, none), (_, row, rejects), (_, after, none_after) = result
    assert before is not None and before.consent is True and none == []
    assert after is not None and after.kind is ContactKind.PROFESSIONAL and none_after == []
    assert row is None
    assert len(rejects) == 1
    [reject] = rejects
    assert (reject.line, reject.field, reject.cells) == (3, field, bad)
    assert reason in reject.reason


@pytest.mark.parametrize(
    ("line", "cells", "reason"),
    [
        (f"{LEA};Bob;x;y", (LEA, "Bob", "x", "y"), "4 fields, the header has 3"),
        (f"{LEA};Bob", (LEA, "Bob"), "2 fields, the header has 3"),
        (LEA, (LEA,), "1 field, the header has 3"),
    ],
)
def test_wrong_number_of_cells_is_a_row_level_reject(
    tmp_path: Path, line: str, cells: tuple[str, ...], reason: str
) -> None:
    text = f"phone;first_name;ville\n{JEAN};Jean;Metz\n{line}\n{ZOE};Zoé;Nancy\n"
    result = read(write(tmp_path, text))
    assert [(n, row is not None) for n, row, _ in result] == [(2, True), (3, False), (4, True)]
    assert result[1][2] == [Reject(3, "", reason, cells)]


def test_every_problem_of_a_row_is_reported(tmp_path: Path) -> None:
    text = "phone;consent_at;consent;kind\n0612;hier;peut-être;robot\n"
    [(line, row, rejects)] = read(write(tmp_path, text))
    assert (line, row) == (2, None)
    assert [r.field for r in rejects] == ["phone", "consent_at", "consent", "kind"]  # file order
    assert all(r.cells == ("0612", "hier", "peut-être", "robot") for r in rejects)


def test_unterminated_quote_at_the_end_of_the_file(tmp_path: Path) -> None:
    text = f'phone;first_name\n{LEA};Léa\n{JEAN};"Jean\n{ZOE};Zoé\n'
    result = read(write(tmp_path, text))
    assert [(n, row is not None) for n, row, _ in result] == [(2, True), (3, False)]
    [reject] = result[1][2]
    assert (reject.line, reject.field) == (3, "")
    assert reject.reason.startswith("unterminated quote")
    assert reject.cells == (f'{JEAN};"Jean', f"{ZOE};Zoé")


def test_text_after_a_closing_quote_rejects_that_line_only(tmp_path: Path) -> None:
    text = f'phone;first_name\n{LEA};"Léa" la grande\n{JEAN};Jean\n'
    result = read(write(tmp_path, text))
    assert [(n, row is not None) for n, row, _ in result] == [(2, False), (3, True)]
    [reject] = result[0][2]
    assert (reject.line, reject.field) == (2, "")
    assert "after a closing quote" in reject.reason
    assert reject.cells == (f'{LEA};"Léa" la grande',)


def test_nul_byte_does_not_stop_the_reading(tmp_path: Path) -> None:
    text = f"phone;first_name\n{LEA};L\x00a\n{JEAN};Jean\n"
    result = read(write(tmp_path, text))
    assert [line for line, _, _ in result] == [2, 3]
    assert result[1][1] is not None and result[1][1].first_name == "Jean"


@pytest.mark.parametrize(
    ("char", "named"),
    [
        ("\x00", "U+0000 (NUL)"),
        ("\x01", "U+0001"),
        ("\x1b", "U+001B"),
        ("\x7f", "U+007F (DEL)"),
        ("\x85", "U+0085"),
        ("\u2028", "U+2028 (line separator)"),
        ("\u2029", "U+2029 (paragraph separator)"),
    ],
)
def test_a_control_character_rejects_its_row_naming_the_column(
    tmp_path: Path, char: str, named: str
) -> None:
    text = (
        f"phone;first_name;Ville\n{LEA};Léa;Pa{char}ris\n{JEAN};Je{char}an;Metz\n"
        "0611223355;Zoé;Lyon\n"
    )
    result = read(write(tmp_path, text))
    assert [(line, row is not None) for line, row, _ in result] == [
        (2, False),
        (3, False),
        (4, True),
    ]
    [ville], [first_name] = result[0][2], result[1][2]
    assert (ville.line, ville.field) == (2, "Ville")
    assert (first_name.line, first_name.field) == (3, "first_name")
    assert f"control character {named} at character 3" in first_name.reason
    assert first_name.cells == (JEAN, f"Je{char}an", "Metz")


def test_tab_line_breaks_and_ignored_columns_are_not_control_characters(tmp_path: Path) -> None:
    text = (
        f'phone;consent_wording;Notes\n{LEA};"J\'accepte\tles SMS\r\nde Maison Lumière";\x00\n'
        f"{JEAN};Oui\x0b;\n"
    )
    [(_, row, none), (_, rejected, [reject])] = read(write(tmp_path, text), {"Notes": ""})
    assert row is not None and not none and not row.extra
    assert row.consent_wording == "J'accepte\tles SMS\r\nde Maison Lumière"
    assert rejected is None and (reject.field, reject.line) == ("consent_wording", 4)


def test_a_control_character_in_the_phone_cell_rejects_the_row(tmp_path: Path) -> None:
    # The phone library would read "06 12 34 56 78\x00" as a valid number.
    [(_, row, [reject])] = read(write(tmp_path, f"phone\n{LEA}\x00\n"))
    assert row is None and reject.field == "phone" and "U+0000" in reject.reason


@pytest.mark.parametrize("header", ["phone;vil\x00le", "pho\x00ne;ville", "phone;ville\x7f"])
def test_a_control_character_in_the_header_is_an_error(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, f"\n{header}\n{LEA};Paris\n")
    with pytest.raises(ContactFileError) as error:
        sniff(path)
    assert str(error.value).startswith(f"{path}: line 2: the header's column ")
    assert "control character" in str(error.value)


def test_a_quoted_formula_is_read_without_its_quote(tmp_path: Path) -> None:
    text = "phone;first_name;'=Promo;remise\n'+33612345678;'=Léa;'-20%;l'@x\n"
    path = write(tmp_path, text)
    assert sniff(path).header == ("phone", "first_name", "=Promo", "remise")
    [row] = rows(path)
    assert row.phone.e164 == "+33612345678"
    assert (row.first_name, row.extra) == ("=Léa", {"=Promo": "-20%", "remise": "l'@x"})


def test_rejects_file_quotes_formulas(tmp_path: Path) -> None:
    path = write(tmp_path, 'phone;first_name;@Ville\n0612;=HYPERLINK("x");-Paris\n')
    out = tmp_path / "r.csv"
    with RejectsWriter(out, sniff(path)) as rejects:
        for _, _, problems in read_contacts(path):
            rejects.write(problems)
    with out.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f, delimiter=";"))
    assert lines == [
        ["line", "field", "reason", "phone", "first_name", "'@Ville"],
        ["2", "phone", "not a valid phone number", "0612", '\'=HYPERLINK("x")', "'-Paris"],
    ]


# -- rejects file -------------------------------------------------------------------------------


def test_default_rejects_path() -> None:
    assert default_rejects_path(Path("/data/contacts.csv")) == Path("/data/contacts.rejects.csv")
    assert default_rejects_path(Path("export.txt")) == Path("export.rejects.txt")
    assert default_rejects_path(Path("export")) == Path("export.rejects.csv")


def test_rejects_file_content(tmp_path: Path) -> None:
    text = (
        "Téléphone;Prénom;consent_at;Ville\n"
        f"{LEA};Léa;2024-03-15;Paris\n"
        '0612;"Bob; le ""grand""";hier;Metz\n'
        f"{JEAN};Jean;;\n"
        f"{ZOE};Zoé\n"
    )
    path = write(tmp_path, text)
    fmt = sniff(path)
    out = default_rejects_path(path)
    with RejectsWriter(out, fmt) as rejects:
        for _, _, problems in read_contacts(path):
            rejects.write(problems)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the accents right
    with out.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f, delimiter=";"))
    assert lines[0] == ["line", "field", "reason", "Téléphone", "Prénom", "consent_at", "Ville"]
    assert [line[:2] for line in lines[1:]] == [["3", "phone"], ["3", "consent_at"], ["5", ""]]
    assert lines[1][2] == "not a valid phone number"
    assert "'hier' is not a date" in lines[2][2]
    assert lines[1][3:] == ["0612", 'Bob; le "grand"', "hier", "Metz"]
    # "+33 7 81 ..." (not E.164) would be a formula to a spreadsheet: written after a quote
    assert lines[3] == ["5", "", "2 fields, the header has 4", "'" + ZOE, "Zoé"]
    assert rejects.count == 2
    assert rejects.by_reason == {
        "phone: invalid number": 1,
        "consent_at: not a date": 1,
        "row: column count": 1,
    }


def test_rejects_file_uses_the_input_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "phone\tfirst_name\n0612\tBob\n")
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out, sniff(path)) as rejects:
        for _, _, problems in read_contacts(path):
            rejects.write(problems)
    assert out.read_text(encoding="utf-8-sig").splitlines() == [
        "line\tfield\treason\tphone\tfirst_name",
        "2\tphone\tnot a valid phone number\t0612\tBob",
    ]


def test_the_rejects_file_is_new_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = write(tmp_path, "phone\n0612\n")
    out = default_rejects_path(path)
    out.write_text("an earlier run's rejects")
    saved = os.umask(0o022)
    try:
        with pytest.raises(FileExistsError):
            RejectsWriter(out, sniff(path))
        with RejectsWriter(out, sniff(path), fresh=True) as rejects:
            for _, _, problems in read_contacts(path):
                rejects.write(problems)
    finally:
        os.umask(saved)
    assert out.read_text() == "an earlier run's rejects"
    assert rejects.path == tmp_path / "contacts.rejects-2.csv"
    assert stat.S_IMODE(rejects.path.stat().st_mode) == 0o600
    assert "not a valid phone number" in rejects.path.read_text(encoding="utf-8-sig")


def test_no_rejects_file_when_nothing_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, f"phone;first_name\n{LEA};Léa\n{JEAN};Jean\n")
    out = default_rejects_path(path)
    with RejectsWriter(out, sniff(path)) as rejects:
        for _, _, problems in read_contacts(path):
            rejects.write(problems)
    assert not out.exists()
    assert rejects.count == 0 and not rejects.by_reason


def test_reject_categories_carry_no_cell_values(tmp_path: Path) -> None:
    fmt = FileFormat("utf-8", ",", ("phone",), ("phone",))
    problems = [
        Reject(2, "phone", "the phone number is missing", ("",)),
        Reject(2, "consent", "'peut-être' is not a yes/no value (yes, no, oui, non)", ("",)),
        Reject(2, "consent_channels", "unknown channel 'pigeon' (sms, mms, fax, email)", ("",)),
        Reject(2, "postal_code", "'7500' is not a French postal code (5 digits)", ("",)),
        Reject(2, "", "unterminated quote: the quoted cell runs to the end", ("",)),
    ]
    with RejectsWriter(tmp_path / "r.csv", fmt) as rejects:
        rejects.write(problems)
    assert sorted(rejects.by_reason) == [
        "consent: not a yes/no value",
        "consent_channels: unknown channel",
        "phone: missing",
        "postal_code: not a French postal code",
        "row: unterminated quote",
    ]
    assert rejects.count == 1


# -- streaming ----------------------------------------------------------------------------------


def test_reading_300000_rows_keeps_memory_flat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tracemalloc peak stays at a few MB for a ~17 MB file: the file is never held whole.

    parse_row is stubbed (it keeps nothing between rows): under tracemalloc the real one would
    make this test take about 40 s, and it is the reader's streaming that is checked here.
    """
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("phone;prénom;ville;note\n")
        f.writelines(
            f"06{i:08d};Léa;Besançon;client fidèle depuis 2019, rayon luminaires\n"
            for i in range(300_000)
        )
    assert path.stat().st_size > 15 * 2**20
    row, _ = parse_row({"phone": LEA})

    def stub(cells: Mapping[str, str | None]) -> tuple[CanonicalRow | None, list[FieldError]]:
        assert cells["phone"]
        return row, []

    monkeypatch.setattr(reader, "parse_row", stub)
    read(write(tmp_path, f"phone\n{LEA}\n", name="warm.csv"))  # imports and caches first
    tracemalloc.start()
    try:
        count = sum(1 for _, r, _ in read_contacts(path) if r is not None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 300_000
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("number", ["6.12345678E+08", "6,12346E+08", " 6,12E+8 "])
def test_a_number_in_scientific_notation_gets_a_hint(tmp_path: Path, number: str) -> None:
    text = f"phone;first_name\n{number};Zoé\n"  # French Excel writes a decimal comma
    [(line, row, rejects)] = read(write(tmp_path, text))
    assert (line, row) == (2, None)
    assert [r.field for r in rejects] == ["phone"]
    assert "format the column as text" in rejects[0].reason


# -- what is not a file -------------------------------------------------------------------------


def raised_within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """What `call` raised, run in a thread that must end within `seconds`: before, `/dev/zero`
    was read forever and a pipe waited for a writer, and a test must fail, not hang."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "still reading"
    return raised[0] if raised else None


@pytest.mark.parametrize("kind", ["folder", "device", "pipe"])
def test_what_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = {"folder": tmp_path, "device": Path("/dev/zero"), "pipe": tmp_path / "p.csv"}[kind]
    if kind == "pipe":
        os.mkfifo(path)
    # (a mapping file is never tried on /dev/zero: the old code would read it into memory)
    checks = [sniff] if kind == "device" else [sniff, load_mapping]
    try:
        for check in checks:
            error = raised_within(10, lambda check=check: check(path))
            assert isinstance(error, ContactFileError), error
            assert str(error) == f"{path}: this is a {kind}, not a " + (
                "file: give the path of a file" if check is sniff
                else "mapping file: give the path of a file"
            )  # fmt: skip
    finally:
        if kind == "pipe":  # a reader still waiting (if any) gets its end of file
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
