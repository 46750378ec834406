"""`campaign plan` of a 1,000,000-recipient campaign, on SQLite and PostgreSQL.

Target (issue 4): at most 30 seconds for a million recipients on each, peak memory under 500 MB.
The ledger is built the way a user builds it: benches/contact_file.py writes a realistic
canonical file and `tambour contacts import` records it (not timed). Then the real command,
`tambour campaign plan`, runs in a child process, twice (the second plan replaces the first),
and its memory is sampled: the largest process and all its processes together (PSS).
PostgreSQL: a throw-away database on 127.0.0.1:5432, dropped afterwards.
Usage: python benches/bench_plan.py [ROWS] [--only sqlite|postgresql] [--workers N]
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

# A fixed clock: the generated facts (2023 to 2025) are all in the past, the campaign starts
# on a Tuesday morning in Paris, and every run decides the same way.
NOW = "2026-11-30T09:00:00+01:00"
TEXT = (
    "Bonjour {first_name|}, c’est le printemps : -20% sur nos luminaires à "
    "{ville|votre boutique} jusqu'à samedi ! bench.fr/printemps"
)


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench", "TAMBOUR_NOW": NOW}


def run(args: list[str], url: str) -> str:
    done = subprocess.run(
        [TAMBOUR, *args], env=_env(url), capture_output=True, text=True, check=True
    )
    return done.stdout


def plan_once(url: str, path: Path, workers: int | None) -> None:
    run(["db", "upgrade"], url)
    run(["advertiser", "create", "bench", "--name", "Bench SAS", "--sender", "BENCH",
         "--stop-number", "36111", "--categories", "luminaires"], url)  # fmt: skip
    started = time.perf_counter()
    imported = json.loads(run(["contacts", "import", str(path), "--advertiser", "bench",
                               "--json"], url))  # fmt: skip
    print(
        f"  ledger: {imported['created']:,} contacts imported in "
        f"{time.perf_counter() - started:.0f} s (not timed below)"
    )
    run(["campaign", "create", "--advertiser", "bench", "--name", "Printemps", "--nature",
         "commercial", "--sender", "BENCH", "--text", TEXT, "--categories", "luminaires",
         "--professions", "architecture", "--start", "2026-12-01T10:00"], url)  # fmt: skip
    command = ["campaign", "plan", "Printemps"]
    if workers is not None:
        command += ["--workers", str(workers)]
    for label in ("plan", "plan again (replaces the first)"):
        done = measured(command, _env(url))
        wall, peak, together = done.wall, done.largest_mb, done.all_mb
        status = json.loads(run(["campaign", "status", "Printemps", "--json"], url))
        plan = status["plan"]
        print(
            f"  {label}: {plan['targeted']:,} recipients in {wall:.1f} s wall "
            f"({plan['targeted'] / wall:,.0f} recipients/s; {plan['seconds']} s in the "
            f"planner), peak memory {peak:,.0f} MB in the largest process, {together:,.0f} MB "
            f"in all; {plan['send']:,} send, {plan['exclude']:,} exclude, "
            f"{plan['parts']:,} parts"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--workers", type=int, help="planning processes (default: the planner's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        write(path, args.rows)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB)")
        if args.only in (None, "sqlite"):
            print("SQLite (WAL)")
            plan_once(f"sqlite:///{Path(tmp) / 'bench.db'}", path, args.workers)
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as url:
                print("PostgreSQL")
                plan_once(url, path, args.workers)


if __name__ == "__main__":
    main()
