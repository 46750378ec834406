"""`contacts import` of a generated 1,000,000-row canonical file, on SQLite and PostgreSQL.

Target (issue 3): at least 30,000 rows per second on each, peak memory under 300 MB. Each import
runs in a child process (the real CLI code path, `tambour contacts import`), so its peak RSS is
its own. PostgreSQL: a throw-away database on 127.0.0.1:5432, dropped afterwards.
Usage: python benches/bench_import.py [ROWS] [--only sqlite|postgresql] [--workers N [N ...]]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from contact_file import write
from measure import TAMBOUR, measured, throwaway_postgres


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench"}


def run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAMBOUR, *args], env=_env(url), capture_output=True, text=True, check=True
    )


def import_once(url: str, path: Path, rows: int, workers: int | None) -> None:
    run(["db", "upgrade"], url)
    run(["advertiser", "create", "bench", "--name", "Bench SAS", "--sender", "BENCH",
         "--stop-number", "36111", "--categories", "luminaires"], url)  # fmt: skip
    command = ["contacts", "import", str(path), "--advertiser", "bench", "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    first = measured(command, _env(url))
    summary, wall, peak, together = (
        json.loads(first.out),
        first.wall,
        first.largest_mb,
        first.all_mb,
    )
    print(
        f"  first import: {rows / wall:,.0f} rows/s ({wall:.1f} s wall, {summary['seconds']} s "
        f"in the importer), peak memory {peak:,.0f} MB in the largest process, "
        f"{together:,.0f} MB in all; created {summary['created']:,}, "
        f"rejected {summary['rejected']:,}, evidence {summary['evidence_added']:,}"
    )
    second = measured(command, _env(url))
    again, wall, peak, together = (
        json.loads(second.out),
        second.wall,
        second.largest_mb,
        second.all_mb,
    )
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
                with throwaway_postgres() as url:
                    label = "by file size" if workers is None else workers
                    print(f"PostgreSQL, workers: {label}")
                    import_once(url, path, rows, workers)


if __name__ == "__main__":
    main()
