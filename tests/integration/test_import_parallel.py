"""`contacts import --workers N`: N processes read the file and prepare its batches in turn while
the first one writes. They must import exactly what one process imports, and report a failure
of the reading side clearly, keeping the batches written before it."""

import csv
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tambour.services import importer
from tambour.services.context import Context, ServiceError
from tambour.store.tables import audit_log
from tests.contact_rows import CONTACT_COLUMNS, contact_row
from tests.integration.cli import Cli

ROWS = 12_500  # three batches, and numbers that come back from one batch to another


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url)


def contact_file(path: Path, rows: int = ROWS, *, long_line_at: int | None = None) -> Path:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CONTACT_COLUMNS, delimiter=";")
        writer.writeheader()
        for index in range(rows):
            row = contact_row(index, rng)
            if index % 997 == 5:
                row["consent_at"] = "31/02/2025"  # a reject now and then
            if index == long_line_at:
                row["ville"] = "x" * (1 << 20)
            writer.writerow(row)
    return path


def _summary(result: str) -> dict[str, Any]:
    summary = json.loads(result)
    return {k: v for k, v in summary.items() if k not in ("seconds", "rejects_file")}


def test_reading_processes_import_exactly_what_one_process_does(cli: Cli, tmp_path: Path) -> None:
    source = contact_file(tmp_path / "contacts.csv")
    summaries, exports, rejects = [], [], []
    for workers, slug in (("0", "alone"), ("1", "one"), ("2", "two"), ("3", "three")):
        cli.advertiser(slug)
        done = cli(
            "contacts", "import", str(source), "--advertiser", slug, "--workers", workers,
            "--rejects", str(tmp_path / f"{slug}.rejects.csv"), "--json",
        )  # fmt: skip
        summaries.append(_summary(done.out))
        exports.append(cli("contacts", "export", "--advertiser", slug).out)
        rejects.append((tmp_path / f"{slug}.rejects.csv").read_text(encoding="utf-8"))
    assert summaries[0] == summaries[1] == summaries[2] == summaries[3]
    counts = summaries[1]
    assert counts["rejected"] == 13 and counts["updated"] + counts["unchanged"] > 0
    kept = counts["created"] + counts["updated"] + counts["unchanged"] + counts["duplicates"]
    assert kept + counts["rejected"] == ROWS
    assert exports[0] == exports[1] == exports[2] == exports[3]
    assert exports[0].count("\n") > 10_000
    assert rejects[0] == rejects[1] == rejects[2] == rejects[3]
    again = cli(
        "contacts", "import", str(source), "--advertiser", "two", "--workers", "2", "--json"
    )
    assert json.loads(again.out)["evidence_added"] == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_file_the_reading_processes_cannot_finish_keeps_the_batches_before(
    cli: Cli, engine: Engine, tmp_path: Path, workers: str
) -> None:
    cli.advertiser()
    source = contact_file(tmp_path / "long.csv", long_line_at=11_000)
    failed = cli(
        "contacts", "import", str(source), "--advertiser", "maison-lumiere", "--workers", workers,
        ok=False,
    )  # fmt: skip
    assert failed.code == 2
    assert "line 11002 is longer than 1048576 characters" in failed.err
    assert "Traceback" not in failed.err + failed.out
    with engine.connect() as conn:
        details = conn.execute(select(audit_log.c.details)).all()[-1][0]
    entry = json.loads(details) if isinstance(details, str) else details
    assert entry["interrupted"] == "ContactFileError"
    assert entry["rows"] == 10_000  # the two batches before the long line


def test_a_reading_process_that_dies_is_reported(
    db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Cli(db_url).advertiser()
    source = contact_file(tmp_path / "contacts.csv", rows=100)

    def dies(*_: object) -> None:
        import os

        os._exit(3)

    monkeypatch.setattr(importer, "_read_and_prepare", dies)
    ctx = Context(engine, "test", lambda: datetime(2026, 11, 28, tzinfo=UTC))
    with pytest.raises(ServiceError, match="stopped \\(exit code 3\\)"):
        importer.import_contacts(ctx, slug="maison-lumiere", path=source, workers=1)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_reading_processes_stop_when_the_writer_is_killed(db_url: str, tmp_path: Path) -> None:
    """A writer killed with SIGKILL cannot stop its reading processes: they notice and exit,
    and so let go of what they inherited from it (on PostgreSQL, its connection, and with it the
    transaction and the advertiser's import lock). The next import then runs."""
    cli = Cli(db_url)
    cli.advertiser()
    source = contact_file(tmp_path / "contacts.csv", rows=60_000)
    env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_ACTOR": "test"}
    command = [str(Path(sys.executable).with_name("tambour")), "contacts", "import", str(source),
               "--advertiser", "maison-lumiere", "--workers", "2"]  # fmt: skip
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as writer:
        deadline = time.monotonic() + 120  # a loaded machine starts slowly
        while len(readers := _children(writer.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(readers) == 2, writer.stderr.read() if writer.stderr else ""
        time.sleep(0.5)  # into the import
        writer.kill()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in readers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in readers)
    done = cli("contacts", "import", str(source), "--advertiser", "maison-lumiere", "--json")
    assert done.json()["rows"] == 60_000
