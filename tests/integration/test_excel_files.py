"""Issue 13 point 4: every CSV written for people has an `--excel` form that French Excel opens
in columns by a double click (semicolons, UTF-8 with a BOM, times as dd/mm/yyyy hh:mm:ss in
Paris time): the plan CSV, the contacts export (which imports back unchanged) and the rejects
file. On SQLite and PostgreSQL, through the command line."""

import csv
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.integration.cli import Cli
from tests.integration.test_campaigns import NOW, create, plan
from tests.integration.test_contacts import sample_file, write_csv


def excel_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would read UTF-8 as Windows-1252"
    return list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))


def sample_ledger(db_url: str, tmp_path: Path) -> Cli:
    cli = Cli(db_url)
    cli.env["TAMBOUR_NOW"] = NOW
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere",
        "--rejects", str(tmp_path / "sample.rejects.csv"))  # fmt: skip
    return cli


def test_the_plan_csv_for_excel(db_url: str, tmp_path: Path) -> None:
    cli = sample_ledger(db_url, tmp_path)
    create(cli, "Printemps", categories="luminaires")
    payload = plan(cli, "Printemps")
    target = tmp_path / "plan.csv"
    cli("campaign", "plan", "Printemps", "--csv", str(target), "--excel")
    rows = excel_rows(target)
    header = rows[0]
    assert header[:3] == ["phone", "decision", "basis"] and len(rows) == 1 + len(payload["rows"])
    sent = [dict(zip(header, r, strict=True)) for r in rows[1:] if r[1] == "send"]
    assert sent
    by_phone = {r["phone"]: r for r in payload["rows"]}
    for row in sent:  # the recipient's local time in the JSON, Paris time in the Excel file
        expected = by_phone[row["phone"]]["send_at"]
        paris = datetime.fromisoformat(expected).astimezone(ZoneInfo("Europe/Paris"))
        assert row["send_at"] == paris.strftime("%d/%m/%Y %H:%M:%S")
    refused = cli("campaign", "plan", "Printemps", "--excel", ok=False)
    assert refused.code == 2 and "--excel" in refused.err and "--csv" in refused.err


def test_the_contacts_export_for_excel_imports_back_unchanged(db_url: str, tmp_path: Path) -> None:
    cli = sample_ledger(db_url, tmp_path)
    plain = tmp_path / "plain.csv"
    excel = tmp_path / "excel.csv"
    cli("contacts", "export", "--advertiser", "maison-lumiere", "--output", str(plain))
    cli("contacts", "export", "--advertiser", "maison-lumiere", "--output", str(excel), "--excel")
    plain_rows = list(csv.DictReader(plain.read_text(encoding="utf-8-sig").splitlines()))
    rows = excel_rows(excel)
    excel_rows_by_phone = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert len(excel_rows_by_phone) == len(plain_rows)
    consented = next(r for r in plain_rows if r["consent_at"].startswith("2026-09-14T18:22"))
    # 2026-09-14T18:22:05+02:00 in the plain file: Paris summer time, as Excel shows it.
    assert excel_rows_by_phone[consented["phone"]]["consent_at"] == "14/09/2026 18:22:05"
    again = cli("contacts", "import", str(excel), "--advertiser", "maison-lumiere", "--json")
    summary = again.json()
    assert summary["created"] == 0 and summary["updated"] == 0 and summary["rejected"] == 0
    assert summary["unchanged"] == len(plain_rows)


def test_the_rejects_file_for_excel(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    source = write_csv(
        tmp_path / "contacts.csv",
        [
            {"phone": "06 12 34 56 01", "consent": "oui"},
            {"phone": "pas un numéro", "consent": "oui"},
        ],
    )  # a comma-separated file
    rejects = tmp_path / "rejets.csv"
    cli("contacts", "import", str(source), "--advertiser", "maison-lumiere",
        "--rejects", str(rejects), "--excel")  # fmt: skip
    rows = excel_rows(rejects)
    assert rows[0][:3] == ["line", "field", "reason"]
    assert rows[1][0] == "3" and rows[1][1] == "phone" and "pas un numéro" in rows[1]
