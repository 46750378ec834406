"""`tambour retention run` on a 1,000,000-contact ledger with about 30 % of it lapsed, and one
erasure (a data request answered) on the same ledger, on SQLite and PostgreSQL.

Target (issue 18): the run's rate, and an erasure's time, printed. The ledger is built the way
a user builds it (benches/contact_file.py, facts dated 2023 to 2025, imported on 2026-11-30)
with a campaign planned and launched to every contact (its plan rows and messages are what an
erasure rewrites); then, on a clock moved to RUN_AT, the run's dry run and the run itself in
child processes (memory sampled), a data request's erasure, and `audit verify`.
PostgreSQL: a throw-away database on 127.0.0.1:5432, dropped afterwards.
Usage: python benches/bench_retention.py [ROWS] [--only sqlite|postgresql]
"""

import argparse
import csv
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

IMPORTED_AT = "2026-11-30T09:00:00+01:00"
RUN_AT = "2027-09-01T12:00:00+02:00"  # about 30 % of the generated contacts lapsed by then


def _env(url: str, now: str) -> dict[str, str]:
    return {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench",
            "TAMBOUR_NOW": now}  # fmt: skip


def run(args: list[str], url: str, now: str = IMPORTED_AT) -> str:
    done = subprocess.run(
        [TAMBOUR, *args], env=_env(url, now), capture_output=True, text=True, check=True
    )
    return done.stdout


def ledger(url: str, path: Path) -> None:
    run(["db", "upgrade"], url)
    run(["advertiser", "create", "bench", "--name", "Bench SAS", "--sender", "BENCH",
         "--stop-number", "36111", "--categories", "luminaires"], url)  # fmt: skip
    started = time.perf_counter()
    run(["contacts", "import", str(path), "--advertiser", "bench"], url)
    run(["campaign", "create", "--advertiser", "bench", "--name", "Hiver", "--nature",
         "commercial", "--sender", "BENCH", "--text", "Bonjour {first_name|}, -20% cet hiver.",
         "--categories", "luminaires", "--start", "2026-12-01T10:00"], url)  # fmt: skip
    run(["campaign", "plan", "Hiver", "--advertiser", "bench"], url)
    run(["campaign", "launch", "Hiver", "--advertiser", "bench"], url)
    print(f"  ledger imported, planned and launched in {time.perf_counter() - started:.0f} s")


def retention(url: str, number: str) -> None:
    env = _env(url, RUN_AT)
    dry = measured(["retention", "run", "--dry-run", "--json"], env)
    said = json.loads(dry.out)
    first = said["advertisers"][0]
    read, lapsed = first["contacts_read"], first["contacts_erased"]
    print(
        f"  dry run: {read:,} contacts read, {lapsed:,} lapsed ({lapsed / read:.0%}) in "
        f"{dry.wall:.1f} s ({read / dry.wall:,.0f} contacts/s), peak {dry.largest_mb:,.0f} MB"
    )
    done = measured(["retention", "run", "--json"], env)
    said = json.loads(done.out)
    erased = said["advertisers"][0]["contacts_erased"]
    print(
        f"  run: {erased:,} contacts erased of {read:,} in {done.wall:.1f} s "
        f"({read / done.wall:,.0f} contacts read/s, {erased / done.wall:,.0f} erased/s), "
        f"peak {done.largest_mb:,.0f} MB; {said['advertisers'][0]['plan_texts']:,} plan texts"
    )
    added = json.loads(run(["requests", "add", number, "--advertiser", "bench", "--kind",
                            "erasure", "--requester", "bench", "--json"], url, RUN_AT))  # fmt: skip
    answer = measured(["requests", "answer", str(added["id"]), "--advertiser", "bench",
                       "--confirm-erasure", "--json"], env)  # fmt: skip
    print(f"  one erasure (a data request answered): {answer.wall:.2f} s, command included")
    started = time.perf_counter()
    verified = run(["audit", "verify"], url, RUN_AT)
    print(
        f"  audit verify: {verified.splitlines()[-1] if verified else '?'} "
        f"({time.perf_counter() - started:.0f} s)"
    )


def kept_number(path: Path) -> str:
    """A number of the file whose contact stays (a recent consent): the erasure's subject."""
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if row["consent_at"].startswith("2025") and row["phone"].startswith("+336"):
                return row["phone"]
    raise SystemExit("no kept contact in the file")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        write(path, args.rows)
        number = kept_number(path)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB)")
        if args.only in (None, "sqlite"):
            print("SQLite (WAL)")
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            ledger(url, path)
            retention(url, number)
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as url:
                print("PostgreSQL")
                ledger(url, path)
                retention(url, number)


if __name__ == "__main__":
    main()
