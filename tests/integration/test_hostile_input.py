"""Issue 12, point 9, through the command line on SQLite and PostgreSQL: bad input never crashes
and never destroys. Control characters in a file reject their row (PostgreSQL cannot store a
NUL), what is not a file is refused, no file is written over, the files written for people are
readable by their owner only and hold no spreadsheet formula, and every hostile invocation gets
one line on stderr and exit code 2, never a traceback."""

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tambour.cli import app
from tambour.store.tables import contacts, suppressions
from tests.integration.cli import Cli

NOW = "2027-03-20T09:00:00+01:00"
ML = ("--advertiser", "maison-lumiere")


@pytest.fixture
def cli(db_url: str) -> Cli:
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = NOW
    runner.advertiser()
    return runner


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def read_csv(path: Path, delimiter: str = ",") -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def owner_only(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


# --- control characters ---------------------------------------------------------------------


def test_control_characters_reject_their_rows_and_the_rest_imports(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "phone;first_name;consent;consent_at;consent_method;ville\n"
        "0612345601;Léa;oui;2026-10-01;web_form;Paris\n"
        "0612345602;Je\x00an;oui;2026-10-01;web_form;Metz\n"
        "0612345603;Zoé;oui;2026-10-01;web_form;Ly\x1bon\n"
        "06 12 34 56 04\x00;Max;oui;2026-10-01;web_form;Nice\n"
        "0612345605;Ana;oui;2026-10-01\u2028;web_form;Brest\n"
        "0612345606;Bob;oui;2026-10-01;web_form;Lille\x85\n"
        "0612345607;Éva;oui;2026-10-01;web_form;Rennes\n",
        encoding="utf-8",
    )
    summary = cli("contacts", "import", str(path), *ML, "--json").json()
    assert (summary["created"], summary["rejected"]) == (2, 5)
    assert summary["rejected_by_reason"] == {
        "first_name: control character": 1,
        "ville: control character": 2,
        "phone: control character": 1,
        "consent_at: control character": 1,
    }
    lines = read_csv(tmp_path / "contacts.rejects.csv", ";")
    assert [(line[0], line[1]) for line in lines[1:]] == [
        ("3", "first_name"), ("4", "ville"), ("5", "phone"), ("6", "consent_at"), ("7", "ville"),
    ]  # fmt: skip
    assert "control character U+0000 (NUL) at character 3" in lines[1][2]
    assert count(engine, contacts) == 2
    # Nothing unstorable reached the ledger: the campaign is planned (PostgreSQL refused the
    # NUL in a personalized text before), and the export holds only the clean rows.
    cli("campaign", "create", *ML, "--name", "Printemps", "--nature", "commercial",
        "--sender", "MLUMIERE", "--start", "2027-03-26T10:00",
        "--text", "Bonjour {first_name|} de {ville|}")  # fmt: skip
    plan = cli("campaign", "plan", "Printemps", "--json").json()
    assert sorted(row["text"].split(" STOP")[0] for row in plan["rows"]) == [
        "Bonjour Léa de Paris", "Bonjour Éva de Rennes",
    ]  # fmt: skip


def test_a_nul_in_the_header_is_a_clear_error(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("phone;first_name;vil\x00le\n0612345601;Léa;Paris\n", encoding="utf-8")
    result = cli("contacts", "import", str(path), *ML, ok=False)
    assert result.code == 2 and result.out == ""
    assert result.err == (
        f"error: {path}: line 1: the header's column 3 ('vil\\x00le') holds the control "
        "character U+0000 (NUL) at character 4, invisible in a spreadsheet: remove it\n"
    )
    assert count(engine, contacts) == 0
    listed = tmp_path / "stop.csv"
    listed.write_text("phone;opt\x00_out_source\n0612345601;manual\n", encoding="utf-8")
    refused = cli("optout", "import", str(listed), *ML, ok=False)
    assert refused.code == 2 and "line 1: the header's column 2" in refused.err
    assert count(engine, suppressions) == 0


def test_an_opposition_list_rejects_a_number_with_a_control_character(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "stop.csv"
    path.write_text(
        "phone;opted_out_at\n0612345601;2026-10-01\n06 12 34 56 02\x00;2026-10-01\n"
        "0612345603;2026-10\x0001\n",
        encoding="utf-8",
    )
    result = cli("optout", "import", str(path), *ML, "--json").json()
    assert (result["accepted"], result["rejected"]) == (2, 1)
    [rejected] = result["rejects"]
    assert (rejected["line"], rejected["field"]) == (3, "phone")
    assert "U+0000 (NUL)" in rejected["reason"]
    [warning] = result["warnings"]  # the date is unreadable: opted out now, and said
    assert (warning["line"], warning["field"]) == (4, "opted_out_at")
    assert "U+0000 (NUL)" in warning["reason"]
    assert count(engine, suppressions) == 2


# --- what is not a file -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["folder", "device", "pipe"])
@pytest.mark.parametrize("command", ["contacts", "optout"])
def test_what_is_not_a_file_is_refused_at_once(
    db_url: str, tmp_path: Path, kind: str, command: str
) -> None:
    """In a process of its own with a time limit: `/dev/zero` was read forever, and opening
    a pipe waited for a writer."""
    Cli(db_url).advertiser()
    target = {"folder": tmp_path, "device": Path("/dev/zero"), "pipe": tmp_path / "in.csv"}[kind]
    if kind == "pipe":
        os.mkfifo(target)
    done = subprocess.run(
        [sys.executable, "-m", "tambour", command, "import", str(target), *ML],
        env={**os.environ, "TAMBOUR_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: {target}: this is a {kind}, not a file: give the path of a file\n"
    )


# --- never written over ---------------------------------------------------------------------


def test_an_existing_rejects_file_is_never_written_over(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("phone\n0612\n0612345601\n", encoding="utf-8")
    mine = tmp_path / "mine.csv"
    mine.write_text("my own file", encoding="utf-8")
    result = cli("contacts", "import", str(path), *ML, "--rejects", str(mine), ok=False)
    assert result.code == 2
    assert result.err == (
        f"error: --rejects: {mine} exists already; name a new file (nothing was imported)\n"
    )
    assert mine.read_text(encoding="utf-8") == "my own file"
    assert count(engine, contacts) == 0


def test_the_default_rejects_file_takes_a_free_name(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("phone\n0612\n0612345601\n", encoding="utf-8")
    earlier = tmp_path / "contacts.rejects.csv"
    earlier.write_text("the rejects of an earlier run", encoding="utf-8")
    out = cli("contacts", "import", str(path), *ML).out
    second = tmp_path / "contacts.rejects-2.csv"
    assert out.endswith(f"rejected rows, with their line, field and reason: {second}\n")
    assert earlier.read_text(encoding="utf-8") == "the rejects of an earlier run"
    assert read_csv(second)[1][:2] == ["2", "phone"]
    again = cli("contacts", "import", str(path), *ML, "--json").json()
    assert again["rejects_file"] == str(tmp_path / "contacts.rejects-3.csv")


def test_outputs_that_exist_are_refused(cli: Cli, tmp_path: Path) -> None:
    taken = tmp_path / "taken.csv"
    taken.write_text("keep", encoding="utf-8")
    export = cli("contacts", "export", *ML, "--output", str(taken), ok=False)
    assert (export.code, export.err) == (
        2, f"error: --output: {taken} exists already; name a new file\n",
    )  # fmt: skip
    cli("campaign", "create", *ML, "--name", "P", "--nature", "commercial",
        "--sender", "MLUMIERE", "--text", "Bonjour")  # fmt: skip
    plan = cli("campaign", "plan", "P", "--csv", str(taken), ok=False)
    assert (plan.code, plan.err) == (2, f"error: --csv: {taken} exists already; name a new file\n")
    assert taken.read_text(encoding="utf-8") == "keep"
    assert cli("campaign", "status", "P", "--json").json()["plan"] is None  # not planned
    device = cli("campaign", "plan", "P", "--csv", "/dev/full", ok=False)
    assert (device.code, device.err) == (
        2, "error: --csv: /dev/full exists already; name a new file\n",
    )  # fmt: skip


# --- files for people: owner only, no formula --------------------------------------------------

HOSTILE_ROWS = (
    "phone;first_name;company;consent;consent_at;consent_method;ville\n"
    '+33612345601;"=HYPERLINK(""http://x.example"",""clic"")";@SUM(1);oui;2026-10-01;web_form;'
    "-20%\n"
    "06 12 34 56 02;Léa;+cmd|' /C calc'!A0;oui;2026-10-01;web_form;Paris\n"
    "+33 6 12 34 56 03;=1+1;Acme;peut-être;2026-10-01;web_form;Metz\n"
)


def test_the_rejects_file_is_owner_only_without_formulas(
    cli: Cli, tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HOSTILE_ROWS, encoding="utf-8")
    summary = cli("contacts", "import", str(path), *ML, "--json").json()
    rejects = Path(summary["rejects_file"])
    assert owner_only(rejects)
    assert read_csv(rejects, ";")[1][3:] == [
        "'+33 6 12 34 56 03", "'=1+1", "Acme", "peut-être", "2026-10-01", "web_form", "Metz",
    ]  # fmt: skip


def test_the_export_is_owner_only_without_formulas_and_imports_back_as_is(
    cli: Cli, tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HOSTILE_ROWS, encoding="utf-8")
    cli("contacts", "import", str(path), *ML)
    target = tmp_path / "export.csv"
    said = cli("contacts", "export", *ML, "--output", str(target)).out
    assert said == f"exported 2 contacts of maison-lumiere to {target}\n"
    assert owner_only(target)
    rows = {row["phone"]: row for row in csv.DictReader(io.StringIO(
        target.read_text(encoding="utf-8-sig")))}  # fmt: skip
    first, second = rows["+33612345601"], rows["+33612345602"]  # E.164: no quote
    assert first["first_name"] == '\'=HYPERLINK("http://x.example","clic")'
    assert (first["company"], first["ville"]) == ("'@SUM(1)", "'-20%")
    assert second["company"] == "'+cmd|' /C calc'!A0"
    assert cli("contacts", "export", *ML).out == target.read_text(encoding="utf-8-sig")
    again = cli("contacts", "import", str(target), *ML, "--json").json()
    assert (again["unchanged"], again["updated"], again["evidence_added"]) == (2, 0, 0)
    shown = cli("contacts", "show", "0612345601", *ML, "--json").json()["contact"]
    assert shown["first_name"] == '=HYPERLINK("http://x.example","clic")'


def test_the_plan_csv_is_owner_only_without_formulas(
    cli: Cli, tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HOSTILE_ROWS, encoding="utf-8")
    cli("contacts", "import", str(path), *ML)
    cli("campaign", "create", *ML, "--name", "Printemps", "--nature", "commercial",
        "--sender", "MLUMIERE", "--start", "2027-03-26T10:00",
        "--text", "-20% pour {first_name|}")  # fmt: skip
    target = tmp_path / "plan.csv"
    cli("campaign", "plan", "Printemps", "--csv", str(target))
    assert owner_only(target)
    rows = read_csv(target)
    assert rows[0][0] == "phone" and {row[0] for row in rows[1:]} == {
        "+33612345601", "+33612345602",
    }  # fmt: skip
    texts = {row[0]: row[-1] for row in rows[1:]}
    assert texts["+33612345602"] == "'-20% pour Léa STOP au 36111"
    assert texts["+33612345601"].startswith("'-20% pour ")


# --- hostile invocations: one line, exit code 2 -------------------------------------------------

HOSTILE = [
    (["calendar", "check", "--at", "0001-01-01T10:00", "--phone", "0612345678"], "--at"),
    (["calendar", "check", "--at", "9999-12-31T23:00", "--phone", "0612345678"], "--at"),
    (["calendar", "check", "--at", "2026-12-01T10:00", "--phone", "+800 1234 5678"], "--phone"),
    (["calendar", "check", "--at", "2026-12-01T10:00", "--phone", "+870 773 111 632"], "--phone"),
    (["phone", "info", "+800 1234 5678"], "+80012345678"),
    (["audit", "verify", "--count", "-1"], "--count"),
    (["audit", "verify", "--count", "99999999999999999999999"], "--count"),
    (["audit", "verify", "--head", "not a hash"], "--head"),
    (["audit", "verify", "--head", ""], "--head"),
    (["audit", "list", "--limit", "-1"], "--limit"),
    (["audit", "list", "--limit", "99999999999999999999999"], "--limit"),
    (["contacts", "import", "{file}", *ML, "--workers", "100000"], "--workers"),
    (
        [
            "campaign",
            "create",
            *ML,
            "--name",
            "P",
            "--nature",
            "commercial",
            "--sender",
            "MLUMIERE",
            "--text",
            "Bonjour",
            "--start",
            "0001-01-01T00:00",
        ],
        "--start",
    ),
    (
        [
            "campaign",
            "create",
            *ML,
            "--name",
            "P",
            "--nature",
            "commercial",
            "--sender",
            "MLUMIERE",
            "--text",
            "Bonjour",
            "--send-by",
            "9999-12-31T23:59",
        ],
        "--send-by",
    ),
    (
        [
            "campaign",
            "create",
            *ML,
            "--name",
            "P",
            "--nature",
            "commercial",
            "--sender",
            "MLUMIERE",
            "--text",
            "Bon\x00jour",
        ],
        "--text",
    ),
    (["demo", "--at", "0001-01-01T00:00"], "--at"),
    (["demo", "--at", "9999-12-31T00:00"], "--at"),
    (["optout", "add", "0612345678", *ML, "TAMBOUR_NOW=0001-01-01T00:00"], "TAMBOUR_NOW"),
    (["optout", "import", "{big}", *ML], "{big}: line 2: field larger than field limit"),
    (["demo", "--database", "{file}"], "--database: {file} is not an SQLite database"),
    (["worker", "--until-idle", "TAMBOUR_CONFIG={dir}"], "{dir}: not a file"),
    (["worker", "--until-idle", "TAMBOUR_CONFIG={binary}"], "{binary}: not UTF-8 text"),
]


@pytest.mark.parametrize(
    ("args", "named"),
    HOSTILE,
    ids=[" ".join(a for a in args if a not in ML)[-60:] for args, _ in HOSTILE],
)
def test_a_hostile_invocation_gets_one_line_and_exit_code_2(
    cli: Cli, tmp_path: Path, args: list[str], named: str
) -> None:
    file, big, binary = tmp_path / "c.csv", tmp_path / "big.csv", tmp_path / "binary.toml"
    file.write_text("phone\n0612345678\n", encoding="utf-8")
    big.write_text("phone;ville\n0612345678;" + "x" * 200_000 + "\n", encoding="utf-8")
    binary.write_bytes(b"\xff\xfe\x00[")
    paths = {"{file}": file, "{big}": big, "{binary}": binary, "{dir}": tmp_path}

    def placed(text: str) -> str:
        for name, path in paths.items():
            text = text.replace(name, str(path))
        return text

    named = placed(named)
    env = dict(cli.env)
    argv = []
    for arg in args:
        if arg.startswith("TAMBOUR_"):
            key, _, value = arg.partition("=")
            env[key] = placed(value)
        else:
            argv.append(placed(arg))
    done = CliRunner().invoke(app, argv, env=env)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and named in line
    assert file.read_text(encoding="utf-8") == "phone\n0612345678\n"  # never destroyed


def test_a_nul_read_from_stdin_is_refused(cli: Cli) -> None:
    args = ["campaign", "create", *ML, "--name", "P", "--nature", "commercial", "--sender",
            "MLUMIERE", "--text", "-"]  # fmt: skip
    done = CliRunner().invoke(app, args, input="Bonjour\x00 !\n", env=cli.env)
    assert (done.exit_code, done.stderr) == (
        2, "error: --text: holds a NUL character (U+0000) at character 8\n",
    )  # fmt: skip
    assert cli("campaign", "list", "--json").json() == []


# --- the audit log ----------------------------------------------------------------------------


def test_no_phone_number_of_a_file_name_reaches_the_audit_log(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "relance 06 12 34 56 77"
    folder.mkdir()
    path = folder / "relance 06 12 34 56 78.csv"
    path.write_text("phone\n0612\n0612345601\n", encoding="utf-8")
    cli("contacts", "import", str(path), *ML)
    second = cli("contacts", "import", str(path), *ML, "--json").json()
    assert second["rejects_file"] == str(folder / "relance 06 12 34 56 78.rejects-2.csv")
    stop = folder / "stop 06 12 34 56 78.csv"
    stop.write_text("phone\n0612345601\n", encoding="utf-8")
    cli("optout", "import", str(stop), *ML)
    entries = cli("audit", "list", "--json").json()  # newest first
    logged = json.dumps(entries, ensure_ascii=False)
    for digits in ("06 12 34 56 78", "06 12 34 56 77", "0612345601", "+33612345601"):
        assert digits not in logged
    details = {e["action"]: e["details"] for e in reversed(entries)}  # the latest of each
    assert details["optout.import"]["file"] == "stop [phone].csv"
    assert details["contacts.import"]["file"] == "relance [phone].csv"
    assert details["contacts.import"]["rejects_file"] == (
        f"{tmp_path}/relance [phone]/relance [phone].rejects-2.csv"
    )
    assert cli("audit", "verify").code == 0
