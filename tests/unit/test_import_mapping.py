"""The meanings a person gives a file's columns on the mapping page, as the importer's mapping:
checked column by column, and read back by the importer (contacts/reader.sniff) exactly as
chosen; the file's first rows for the page, whatever its encoding."""

from pathlib import Path

import pytest

from tambour.contacts.reader import head, sniff
from tambour.services.context import InvalidInputError
from tambour.services.import_mapping import FIELD, IGNORE, check_meanings, detected
from tambour.web.pages.contacts import reject_reason

HEADER = ("Téléphone", "Prénom", "Portable", "Recueilli via", "Ville", "")


def codes(error: InvalidInputError) -> dict[str | None, str]:
    return {problem.field: problem.code for problem in error.problems}


def test_what_tambour_reads_by_itself() -> None:
    assert [detected(h) for h in HEADER] == ["phone", "first_name", "phone", FIELD, FIELD, IGNORE]


def test_the_meanings_read_back_by_the_importer_as_chosen(tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    path.write_bytes(
        ";".join(HEADER).encode("cp1252") + b"\r\n0612345678;H\xe9l\xe8ne;0698765432;web;Lyon;\r\n"
    )
    chosen = ["phone", "first_name", FIELD, "consent_method", IGNORE, IGNORE]
    mapping = check_meanings(HEADER, chosen)
    assert mapping == {
        "Téléphone": "phone", "Prénom": "first_name", "Recueilli via": "consent_method",
        "Ville": "",
    }  # fmt: skip
    # `Portable` is a personalization field: another column has the phone.
    assert sniff(path, mapping).columns == ("phone", "first_name", "Portable", "consent_method",
                                           None, None)  # fmt: skip
    fmt, rows = head(path, 5)
    assert fmt.encoding == "cp1252" and fmt.delimiter == ";" and fmt.header == HEADER
    assert rows == [(2, ["0612345678", "Hélène", "0698765432", "web", "Lyon", ""])]


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        # No column is the phone.
        ([IGNORE, "first_name", IGNORE, FIELD, FIELD, IGNORE], {"columns": "no_phone_column"}),
        # Two columns are the phone.
        (["phone", "first_name", "phone", FIELD, FIELD, IGNORE],
         {"columns[2]": "column_taken"}),
        # `Prénom` is read as first_name whatever the mapping says, unless another column is.
        (["phone", FIELD, IGNORE, FIELD, FIELD, IGNORE], {"columns[1]": "field_not_possible"}),
        # A meaning that is none.
        (["phone", "birthday", IGNORE, FIELD, FIELD, IGNORE], {"columns[1]": "invalid_meaning"}),
    ],
)  # fmt: skip
def test_a_mapping_the_importer_would_not_read_as_chosen_is_refused(
    chosen: list[str], expected: dict[str, str]
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_meanings(HEADER, chosen)
    assert codes(refused.value) == expected


def test_the_meanings_are_one_per_column() -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_meanings(HEADER, ["phone"])
    assert codes(refused.value) == {"columns": "wrong_column_count"}


def test_rejects_reasons_in_french() -> None:
    assert reject_reason("phone: invalid number", "fr") == (
        "Numéro de téléphone : n'est pas un numéro de téléphone valide"
    )
    assert reject_reason("consent_at: not a date", "en") == (
        "Consent date: not a date (write 15/03/2024 or 2024-03-15)"
    )
    assert reject_reason("row: column count", "fr").startswith("la ligne entière : pas autant")
    # A reason no text names yet is shown as the importer says it.
    assert reject_reason("tags: something new", "fr") == "Étiquettes : something new"
