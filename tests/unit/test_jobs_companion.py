"""The job runner a worker keeps as its child (jobs/companion.py), with stand-in children: a
real process each time, started again when it dies, asked to stop when the worker stops."""

import sys
import time
from pathlib import Path

import pytest

from tambour.jobs import companion


def stand_in(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """The child the companion starts: `code` run by Python, instead of `tambour jobs run`."""
    monkeypatch.setattr(companion, "RESTART_SECONDS", 0.05)
    monkeypatch.setattr(companion, "_command", lambda **_options: [sys.executable, "-c", code])


def starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_child_that_dies_is_started_again_until_the_worker_stops(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "starts"
    stand_in(monkeypatch, f"open({str(log)!r}, 'a').write('x\\n'); raise SystemExit(3)")
    with companion.jobs_beside(enabled=True, until_idle=False, log_level="info", log_format="json"):
        deadline = time.monotonic() + 30
        while starts(log) < 3:
            assert time.monotonic() < deadline, "the child was not started again"
            time.sleep(0.02)
    settled = starts(log)
    time.sleep(0.3)
    assert starts(log) == settled  # none after the worker stopped


def test_a_child_is_asked_to_stop_with_the_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    said = tmp_path / "said"
    code = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *_: (open({str(said)!r}, 'w').write('term'),"
        " sys.exit(0)))\n"
        f"open({str(said)!r}, 'w').write('up')\n"
        "time.sleep(60)\n"
    )
    stand_in(monkeypatch, code)
    started = time.monotonic()
    with companion.jobs_beside(enabled=True, until_idle=False, log_level="info", log_format="json"):
        while not (said.exists() and said.read_text() == "up"):
            assert time.monotonic() - started < 30
            time.sleep(0.02)
    assert said.read_text() == "term"  # stopped by SIGTERM, and waited for
    assert time.monotonic() - started < 30


def test_until_idle_the_worker_waits_for_its_child_and_never_restarts_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "starts"
    stand_in(
        monkeypatch,
        f"import time; time.sleep(0.5); open({str(log)!r}, 'a').write('x\\n'); raise SystemExit(1)",
    )
    with companion.jobs_beside(enabled=True, until_idle=True, log_level="info", log_format="json"):
        pass  # the worker is idle at once
    assert starts(log) == 1  # it waited for the child's end, and did not start another


def test_no_child_without_jobs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log = tmp_path / "starts"
    stand_in(monkeypatch, f"open({str(log)!r}, 'a').write('x\\n')")
    with companion.jobs_beside(enabled=False, until_idle=True, log_level="info", log_format="json"):
        pass
    time.sleep(0.2)
    assert starts(log) == 0
