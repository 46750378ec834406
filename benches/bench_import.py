"""`contacts import` of a generated 1,000,000-row canonical file, on SQLite and PostgreSQL.

Target (issue 3): at least 30,000 rows per second on each, peak memory under 300 MB. Each import
runs in a child process (the real CLI code path, `tambour contacts import`), so its peak RSS is
its own. PostgreSQL: a throw-away database on 127.0.0.1:5432, dropped afterwards.
Usage: python benches/bench_import.py [ROWS] [--only sqlite|postgresql] [--workers N [N ...]]
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from contact_file import write

TAMBOUR = str(Path(sys.executable).with_name("tambour"))
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# Runs a command and prints, last, the peak RSS (KiB) of the largest process it started: each
# import is measured alone, workers included, whatever ran before it.
MEASURE = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
)


def run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench"}
    return subprocess.run([TAMBOUR, *args], env=env, capture_output=True, text=True, check=True)


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


def measured(args: list[str], url: str) -> tuple[dict[str, object], float, float]:
    """The command's JSON output, the peak RSS of its largest process and the peak of all its
    processes together (proportional set size: pages a fork shares are counted once), in MB."""
    env = {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench"}
    with subprocess.Popen(
        [sys.executable, "-c", MEASURE, TAMBOUR, *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as child:  # fmt: skip
        together = 0
        while child.poll() is None:
            together = max(together, sum(_pss_kib(pid) for pid in _tree(child.pid)[1:]))
            time.sleep(0.1)
        out, err = child.communicate()
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {err}")
    *output, peak = out.rstrip("\n").split("\n")
    return json.loads("\n".join(output)), int(peak) / 1024, together / 1024


def import_once(url: str, path: Path, rows: int, workers: int | None) -> None:
    run(["db", "upgrade"], url)
    run(["advertiser", "create", "bench", "--name", "Bench SAS", "--sender", "BENCH",
         "--stop-number", "36111", "--categories", "luminaires"], url)  # fmt: skip
    command = ["contacts", "import", str(path), "--advertiser", "bench", "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    summary, peak, together = measured(command, url)
    wall = time.perf_counter() - started
    print(
        f"  first import: {rows / wall:,.0f} rows/s ({wall:.1f} s wall, {summary['seconds']} s "
        f"in the importer), peak memory {peak:,.0f} MB in the largest process, "
        f"{together:,.0f} MB in all; created {summary['created']:,}, "
        f"rejected {summary['rejected']:,}, evidence {summary['evidence_added']:,}"
    )
    started = time.perf_counter()
    again, peak, together = measured(command, url)
    wall = time.perf_counter() - started
    print(
        f"  re-import (nothing new): {rows / wall:,.0f} rows/s ({wall:.1f} s), peak memory "
        f"{peak:,.0f} MB in the largest process, {together:,.0f} MB in all, "
        f"unchanged {again['unchanged']:,}, evidence added {again['evidence_added']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[None], help="one import per value"
    )
    args = parser.parse_args()
    rows, only = args.rows, args.only
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        started = time.perf_counter()
        write(path, rows)
        size = path.stat().st_size / 1e6
        print(f"generated {rows:,} rows ({size:,.0f} MB) in {time.perf_counter() - started:.1f} s")
        if only in (None, "sqlite"):
            for workers in args.workers:
                print(f"SQLite (WAL), workers: {'by file size' if workers is None else workers}")
                database = Path(tmp) / f"bench-{workers}.db"
                import_once(f"sqlite:///{database}", path, rows, workers)
        if only in (None, "postgresql"):
            for workers in args.workers:
                name = f"tambour_bench_{secrets.token_hex(4)}"
                admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                try:
                    label = "by file size" if workers is None else workers
                    print(f"PostgreSQL, workers: {label}")
                    import_once(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", path, rows, workers)
                finally:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                    admin.dispose()


if __name__ == "__main__":
    main()
