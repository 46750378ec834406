"""Files written for people: owner-only, never over another file, no spreadsheet formula."""

import stat
from pathlib import Path

import pytest

from tambour.outfiles import (
    create_fresh,
    create_private,
    spreadsheet_cell,
    spreadsheet_row,
    unquote_cell,
)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","clic")', '\'=HYPERLINK("http://x","clic")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-20% sur tout", "'-20% sur tout"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),  # not E.164: a formula to Excel
        ("'=1+1", "''=1+1"),  # comes back from unquote_cell as it was
        ("+33612345678", "+33612345678"),  # E.164 stays as is
        ("+590690123456", "+590690123456"),
        ("Léa", "Léa"),
        ("l'=x", "l'=x"),
        ("'Léa'", "'Léa'"),
        ("", ""),
        ("2027-03-26T10:00:00+01:00", "2027-03-26T10:00:00+01:00"),
    ],
)
def test_a_formula_start_is_written_after_a_quote(value: str, written: str) -> None:
    assert spreadsheet_cell(value) == written
    assert unquote_cell(written) == value


def test_spreadsheet_row_leaves_numbers_and_empty_cells() -> None:
    assert spreadsheet_row([3, None, "=1", "ok"]) == [3, None, "'=1", "ok"]


def test_a_private_file_is_created_readable_by_its_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    target = tmp_path / "out.csv"
    with create_private(target, "utf-8-sig") as handle:
        handle.write("é\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == b"\xef\xbb\xbf\xc3\xa9\n"


def test_a_private_file_never_replaces_anything(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("keep me")
    with pytest.raises(FileExistsError):
        create_private(target)
    assert target.read_text() == "keep me"
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")  # dangling: creating would write there
    with pytest.raises(FileExistsError):
        create_private(link)
    assert not (tmp_path / "elsewhere.csv").exists()


def test_a_fresh_file_takes_the_first_free_name(tmp_path: Path, open_umask: None) -> None:
    first = tmp_path / "c.rejects.csv"
    first.write_text("earlier run")
    (tmp_path / "c.rejects-2.csv").write_text("run before")
    path, handle = create_fresh(first)
    handle.close()
    assert path == tmp_path / "c.rejects-3.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.read_text() == "earlier run"
    assert (tmp_path / "c.rejects-2.csv").read_text() == "run before"


def test_excel_tables_use_semicolons_and_paris_time(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tambour.outfiles import EXCEL, PLAIN, TableWriter

    for style, expected in (
        (PLAIN, "name,sent_at,note\r\nLéa,2026-12-09T09:00:00+00:00,'=1+1\r\n"),
        (EXCEL, "name;sent_at;note\r\nLéa;09/12/2026 10:00:00;'=1+1\r\n"),
    ):
        path = tmp_path / f"{style.delimiter == ';'}.csv"
        with path.open("w", encoding=style.encoding, newline="") as handle:
            table = TableWriter(handle, style, ["name", "sent_at", "note"], {"sent_at"})
            table.row(["Léa", datetime(2026, 12, 9, 9, tzinfo=UTC), "=1+1"])
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 right
        assert raw[3:].decode() == expected


def test_excel_time_converts_iso_strings_to_paris_and_leaves_other_text() -> None:
    from tambour.outfiles import EXCEL, PLAIN

    assert EXCEL.time("2026-07-14T06:30:00-04:00") == "14/07/2026 12:30:00"  # Martinique → Paris
    assert EXCEL.time("2026-07-14T06:30:00+00:00") == "14/07/2026 08:30:00"  # summer time
    assert EXCEL.time("pas une date") == "pas une date"
    assert EXCEL.time(None) == "" and PLAIN.time("") == ""
    assert PLAIN.time("2026-07-14T06:30:00-04:00") == "2026-07-14T06:30:00-04:00"


def test_own_columns_skip_the_check_and_every_other_column_is_checked(tmp_path: Path) -> None:
    from tambour.outfiles import PLAIN, TableWriter

    path = tmp_path / "t.csv"
    with path.open("w", encoding=PLAIN.encoding, newline="") as handle:
        table = TableWriter(handle, PLAIN, ["code", "text", "n"], own_columns={"code"})
        table.row(["-1", "=cmd()", -5])
        table.row(["send", "+33612345678", 3])
    # The own column as written (a code of ours), the text checked, numbers as they are.
    assert (
        path.read_bytes().decode("utf-8-sig")
        == "code,text,n\r\n-1,'=cmd(),-5\r\nsend,+33612345678,3\r\n"
    )
