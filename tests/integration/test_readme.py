"""The README's "first hour" recipe works as written on a fresh clone (issue 13 point 5): its
block is run by bash, line for line, in an empty folder that holds what a clone holds. Only
two things change: the venv's activation becomes the PATH of the interpreter running the tests,
and the local SMSC's port 2775 a free one, with the next one free for its admin port (tests
never take a fixed port)."""

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACTIVATE = ". .venv/bin/activate"


def recipe() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- first-hour -->\n```sh\n(.*?)```\n<!-- /first-hour -->", text, re.S)
    assert found, "README.md has no first-hour block"
    return found.group(1)


def free_port_pair() -> int:
    """A free port whose next one is free too: `tambour smsc --port P` serves its admin HTTP
    on P + 1."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port >= 65535:
            continue
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports side by side")


def test_the_first_hour_recipe_runs_as_written(tmp_path: Path) -> None:
    script = recipe()
    assert script.startswith(ACTIVATE) and script.count("2775") == 1
    port = str(free_port_pair())
    bindir = Path(sys.executable).parent
    script = script.replace(ACTIVATE, f'export PATH="{bindir}:$PATH"').replace("2775", port)
    # What a fresh clone holds, and nothing else: the sample file and the example config.
    data = tmp_path / "src" / "tambour" / "data"
    data.mkdir(parents=True)
    shutil.copy(ROOT / "src" / "tambour" / "data" / "sample_contacts.csv", data)
    config = (ROOT / "tambour.example.toml").read_text(encoding="utf-8")
    assert "port = 2775" in config
    (tmp_path / "tambour.example.toml").write_text(config.replace("port = 2775", f"port = {port}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAMBOUR_")}
    env["TAMBOUR_SECRET_KEY"] = os.environ["TAMBOUR_SECRET_KEY"]  # the tests' key, not ~/.config
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-4000:]
    assert "Traceback" not in said
    assert re.search(r"launched 'Printemps': \d+ message", done.stdout)
    assert re.search(r"worker stopped after .*: [1-9]\d* submitted", done.stdout)
    assert re.search(r"^next message due \d\d/\d\d/2027 \d\d:\d\d \(in ", done.stdout, re.M)
    assert re.search(r"^  plan: .*; messages: queued \d+, delivered \d+$", done.stdout, re.M)
    assert (tmp_path / "rejects.csv").exists()  # where the recipe said, not beside the sample
    assert not (data / "sample_contacts.rejects.csv").exists()
    # The export opens in French Excel: semicolons, a BOM, one row a recipient.
    exported = (tmp_path / "printemps.csv").read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(exported.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert len(rows) > 10 and "decision" in rows[0]
    assert "ledger intact: every row sealed" in done.stdout
