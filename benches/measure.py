"""What the command-line benches share: running `tambour` in a child process with its peak
memory (the largest process, and all its processes together), and a PostgreSQL database made
for one bench on 127.0.0.1:5432 and dropped after it."""

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

TAMBOUR = str(Path(sys.executable).with_name("tambour"))
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# Runs a command and prints, last, the peak RSS (KiB) of the largest process it started: each
# command is measured alone, workers included, whatever ran before it.
_MEASURE = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
)


@dataclass(frozen=True)
class Measured:
    out: str  # what the command printed
    wall: float  # seconds
    largest_mb: float  # peak RSS of its largest process
    all_mb: float  # peak of all its processes together (PSS: pages a fork shares count once)


def _tree(root: int) -> list[int]:
    """`root` and every process under it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _pss_kib(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/smaps_rollup").open() as rollup:
            return next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def measured(args: list[str], env: Mapping[str, str]) -> Measured:
    """Run `tambour ARGS` in a child process, sampling its memory ten times a second."""
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-c", _MEASURE, TAMBOUR, *args],
        env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as child:  # fmt: skip
        together = 0
        while child.poll() is None:
            together = max(together, sum(_pss_kib(pid) for pid in _tree(child.pid)[1:]))
            time.sleep(0.1)
        out, err = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {err}")
    output, _, peak = out.rstrip("\n").rpartition("\n")
    return Measured(output, wall, int(peak) / 1024, together / 1024)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped on the way out."""
    name = f"tambour_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def serving(
    env: Mapping[str, str], folder: Path, log_level: str = "info"
) -> Iterator[tuple[str, Path]]:
    """`tambour serve --port 0`: its address, and the file its JSON logs go to. Stopped with
    SIGTERM: a clean shutdown."""
    log = folder / f"serve-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [TAMBOUR, "serve", "--port", "0", "--log-level", log_level],
            env=env, stdout=subprocess.PIPE, stderr=sink,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if "listening on" not in line:
            raise SystemExit(f"tambour serve said {line!r}: {log.read_text()}")
        url = line.split("listening on ", 1)[1].split()[0]
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, log
    finally:
        process.terminate()
        process.wait(30)
