"""A/B tests on a large campaign (issue 17, point 4), on SQLite and PostgreSQL: what the test
costs the plan, and how fast the rest of the audience gets the winner's text.

The ledger is built the way a user builds it: benches/contact_file.py writes a realistic
canonical file and `tambour contacts import` records it (not timed). Then, with the real
commands in child processes on a fixed clock:
- `campaign plan` of the campaign without a test, then of the same campaign with three
  variants and a 20 % test share (each variant rendered and counted for every recipient of the
  rest: the test's cost);
- `campaign launch`, then `campaign winner --variant B`: the rest's plan rows written with B's
  text and sealed again, their messages queued, a chunk per transaction (the rest a second);
- `audit verify`: the proof still whole after the rest was rewritten.
Each command's wall time and peak memory (the largest process) are printed.
Usage: python benches/bench_ab_tests.py [ROWS] [--only sqlite|postgresql]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from contact_file import write
from measure import TAMBOUR, measured, throwaway_postgres

NOW = "2026-11-30T09:00:00+01:00"  # a Monday morning in Paris; the facts are all older
A = "Bonjour {first_name|}, -20% sur nos luminaires à {ville|votre boutique} ! bench.fr/a"
B = "Bonjour {first_name|}, -30% sur les lampes cette semaine seulement ! bench.fr/a"
C = "{first_name|Bonjour}, une lampe offerte pour deux achetées à {ville|votre boutique}"
D = "Derniers jours : -25% sur tout le rayon luminaires, {first_name|} ! bench.fr/a"


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench", "TAMBOUR_NOW": NOW}


def run(args: list[str], url: str) -> str:
    done = subprocess.run(
        [TAMBOUR, *args], env=_env(url), capture_output=True, text=True, check=True
    )
    return done.stdout


def timed(label: str, args: list[str], url: str) -> float:
    done = measured(args, _env(url))
    print(f"  {label}: {done.wall:.1f} s wall, peak {done.largest_mb:,.0f} MB")
    return done.wall


def bench(url: str, path: Path) -> None:
    run(["db", "upgrade"], url)
    run(["advertiser", "create", "bench", "--name", "Bench SAS", "--sender", "BENCH",
         "--stop-number", "36111", "--categories", "luminaires"], url)  # fmt: skip
    run(["contacts", "import", str(path), "--advertiser", "bench", "--json"], url)
    common = ["--advertiser", "bench", "--nature", "commercial", "--sender", "BENCH",
              "--categories", "luminaires", "--start", "2026-11-30T10:00"]  # fmt: skip
    run(["campaign", "create", "--name", "Seul", "--text", A, *common], url)
    run(["campaign", "create", "--name", "Test", "--text", A, "--variant", B, "--variant", C,
         "--variant", D, "--test-share", "20", "--winner-by", "optouts", *common], url)  # fmt: skip
    alone = timed("plan without a test", ["campaign", "plan", "Seul"], url)
    tested = timed("plan with 4 variants, 20 % tested", ["campaign", "plan", "Test"], url)
    status = json.loads(run(["campaign", "status", "Test", "--json"], url))
    plan = status["plan"]
    print(f"    {plan['send']:,} sends; the test costs the plan {tested / alone - 1:+.0%}")
    launched = json.loads(run(["campaign", "launch", "Test", "--json"], url))
    held = launched["held"]
    print(f"  launched: {launched['queued']:,} test messages queued, {held:,} of the rest held")
    wall = timed("winner B: the rest written, sealed, queued",
                 ["campaign", "winner", "Test", "--variant", "B"], url)  # fmt: skip
    print(f"    {held / wall:,.0f} messages of the rest a second (command start-up included)")
    timed("audit verify afterwards", ["audit", "verify"], url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=200_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        write(path, args.rows)
        print(f"generated {args.rows:,} rows")
        if args.only in (None, "sqlite"):
            print("SQLite (WAL)")
            bench(f"sqlite:///{Path(tmp) / 'bench.db'}", path)
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as url:
                print("PostgreSQL")
                bench(url, path)


if __name__ == "__main__":
    main()
