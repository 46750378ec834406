"""`audit verify` of a 1,000,000-contact ledger with its evidence, opt-outs and a launched plan.

Target: at most 60 seconds on SQLite and on PostgreSQL, the chain and every evidence,
suppression and plan row checked against its seal and the audit entries that wrote it
(services/ledger_proof.py); and the import and plan figures no more than 10 % below those of
bench_import.py and bench_plan.py, which the sealing must not slow down.

The ledger is built the way a user builds it, with the real commands in child processes:
benches/contact_file.py writes a realistic canonical file, `contacts import` records it,
`optout import` records a list of opt-outs (most of them contacts, some not), then a commercial
campaign is created, planned and launched on a fixed clock (the plan is fresh and the start in
the sending window). The import and the plan are timed as bench_import.py and bench_plan.py time
them (their first run), so that their rates can be compared. Then `tambour audit verify --json`
runs in a child process (interpreter start and imports included), its memory sampled: wall time,
rows read by table, rows a second, peak memory (the largest process, and all of them together).

Then one evidence row, one suppression entry and one plan row of the live plan are edited with
plain SQL, and `audit verify` must exit 1 naming those three rows and no other. Exits 1 when the
untouched ledger does not verify or the edited one does (speed is only printed). A fresh secret
key is given to each database (TAMBOUR_SECRET_KEY): no key file is read or written.
PostgreSQL: a throw-away database on 127.0.0.1:5432, dropped afterwards.
Usage: python benches/bench_audit_verify.py [--contacts N] [--optouts N]
       [--only sqlite|postgresql]   (default: 1,000,000 contacts, 5,000 opt-outs, both databases)
"""

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).parent))
from contact_file import write
from measure import TAMBOUR, Measured, measured, throwaway_postgres
from tambour.store.engine import make_engine

TARGET = 60.0  # seconds for `audit verify` of a million contacts
# The clock of bench_plan.py: the generated facts (2023 to 2025) are in the past, the plan is
# made and launched at once (fresh), the campaign starts on a Tuesday morning in Paris.
NOW = "2026-11-30T09:00:00+01:00"
TEXT = (
    "Bonjour {first_name|}, c’est le printemps : -20% sur nos luminaires à "
    "{ville|votre boutique} jusqu'à samedi ! bench.fr/printemps"
)
CAMPAIGN = "Printemps"


def _env(url: str, key: str) -> dict[str, str]:
    return {
        **os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench",
        "TAMBOUR_NOW": NOW, "TAMBOUR_SECRET_KEY": key,
    }  # fmt: skip


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([TAMBOUR, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"tambour {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def timed(args: list[str], env: dict[str, str]) -> tuple[Measured, float]:
    """`tambour ARGS`, timed and its memory sampled (measure.py), and the CPU seconds of all its
    processes: on a shared machine the wall time says how loaded it was as much as the code, so
    the load average is printed first."""
    print(
        f"  ({' '.join(args[:2])}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = measured(args, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return done, cpu


def _optout_numbers(contacts: int, count: int) -> list[str]:
    """`count` numbers: nine in ten those of contacts spread over the file (contact_file.py
    gives row `i` a number made of its index), at most a tenth of the contacts, the rest numbers
    of no contact."""
    known = min(count - count // 10, contacts // 10)
    step = max(contacts // max(known, 1), 1)
    indexes = [i * step for i in range(known)]
    indexes += range(contacts, contacts + count - len(indexes))  # beyond the file: not contacts
    return [f"0{(60 + i % 9) if i % 9 != 3 else 73}{i:07d}" for i in indexes]


def build(env: dict[str, str], path: Path, optouts: Path, contacts: int) -> None:
    """The ledger, the opt-outs and a launched campaign; prints the import and plan rates."""
    run(["db", "upgrade"], env)
    run(["advertiser", "create", "bench", "--name", "Bench SAS", "--sender", "BENCH",
         "--stop-number", "36111", "--categories", "luminaires"], env)  # fmt: skip
    done, cpu = timed(["contacts", "import", str(path), "--advertiser", "bench", "--json"], env)
    summary = json.loads(done.out)
    print(
        f"  import: {contacts / done.wall:,.0f} rows/s ({done.wall:.1f} s wall, "
        f"{summary['seconds']} s in the importer, {cpu:.1f} s CPU in all processes), peak "
        f"memory {done.largest_mb:,.0f} MB in the largest process, {done.all_mb:,.0f} MB in all; "
        f"created {summary['created']:,}, "
        f"rejected {summary['rejected']:,}, evidence {summary['evidence_added']:,}"
    )
    started = time.perf_counter()
    opted = json.loads(
        run(["optout", "import", str(optouts), "--advertiser", "bench", "--json"], env)
    )
    print(
        f"  opt-outs: {opted['accepted']:,} numbers in {time.perf_counter() - started:.1f} s, "
        f"{opted['evidence_added']:,} evidence added, {opted['rejected']:,} rejected"
    )
    run(["campaign", "create", "--advertiser", "bench", "--name", CAMPAIGN, "--nature",
         "commercial", "--sender", "BENCH", "--text", TEXT, "--categories", "luminaires",
         "--professions", "architecture", "--start", "2026-12-01T10:00"], env)  # fmt: skip
    done, cpu = timed(["campaign", "plan", CAMPAIGN], env)
    plan = json.loads(run(["campaign", "status", CAMPAIGN, "--json"], env))["plan"]
    print(
        f"  plan: {plan['targeted']:,} recipients in {done.wall:.1f} s wall "
        f"({plan['targeted'] / done.wall:,.0f} recipients/s; {plan['seconds']} s in the "
        f"planner, {cpu:.1f} s CPU in all processes), peak memory {done.largest_mb:,.0f} MB "
        f"in the largest process, {done.all_mb:,.0f} MB in all; {plan['send']:,} send, "
        f"{plan['exclude']:,} exclude"
    )
    started = time.perf_counter()
    launched = json.loads(run(["campaign", "launch", CAMPAIGN, "--json"], env))
    print(
        f"  launch: {launched['queued']:,} messages queued in {time.perf_counter() - started:.1f} s"
    )


def verify(env: dict[str, str]) -> bool:
    """`audit verify --json`, timed: True when the chain and every row are intact (else what
    it says is printed)."""
    try:
        done, cpu = timed(["audit", "verify", "--json"], env)
    except SystemExit:  # measure.py's way of saying the command exited non-zero
        said = subprocess.run(
            [TAMBOUR, "audit", "verify"], env=env, capture_output=True, text=True, check=False
        )
        print(f"  audit verify of the untouched ledger exits {said.returncode}:")
        for line in (said.stdout + said.stderr).splitlines():
            print(f"    | {line}")
        return False
    found = json.loads(done.out)
    read = sum(found["rows"].values())
    by_table = ", ".join(f"{table} {n:,}" for table, n in found["rows"].items())
    mark = "within" if done.wall <= TARGET else "ABOVE"
    print(
        f"  audit verify: {done.wall:.1f} s wall ({mark} the {TARGET:.0f} s target; "
        f"{cpu:.1f} s CPU), "
        f"{found['count']:,} audit entries, rows read: {by_table} ({read:,} in all, "
        f"{read / done.wall:,.0f} rows/s); peak memory {done.largest_mb:,.0f} MB in the "
        f"largest process, {done.all_mb:,.0f} MB in all; ok {found['ok']}, "
        f"{found['row_problems']} row problem(s)"
    )
    return bool(found["ok"])


def tamper(conn: Connection) -> list[str]:
    """Edit one evidence row, one suppression entry and one row of the live plan with plain SQL;
    what `audit verify` must then say of each."""
    middle = conn.execute(text("SELECT count(*) / 2 FROM evidence")).scalar_one()
    evidence_id = conn.execute(
        text("SELECT id FROM evidence ORDER BY id LIMIT 1 OFFSET :n"), {"n": middle}
    ).scalar_one()
    conn.execute(
        text("UPDATE evidence SET recorded_by = 'someone else' WHERE id = :id"), {"id": evidence_id}
    )
    suppression_id = conn.execute(text("SELECT max(id) FROM suppressions")).scalar_one()
    conn.execute(
        text(
            "UPDATE suppressions SET source = CASE WHEN source = 'manual' THEN 'link' "
            "ELSE 'manual' END WHERE id = :id"
        ),
        {"id": suppression_id},
    )
    campaign_id, generation = conn.execute(
        text("SELECT id, plan_generation FROM campaigns WHERE name = :name"), {"name": CAMPAIGN}
    ).one()
    contact_id = conn.execute(
        text(
            "SELECT min(contact_id) FROM plan_rows WHERE campaign_id = :c AND generation = :g "
            "AND decision = 'exclude'"
        ),
        {"c": campaign_id, "g": generation},
    ).scalar_one()
    conn.execute(
        text(
            "UPDATE plan_rows SET decision = 'send', reason = NULL WHERE campaign_id = :c "
            "AND generation = :g AND contact_id = :k"
        ),
        {"c": campaign_id, "g": generation, "k": contact_id},
    )
    return [
        f"evidence row {evidence_id}: edited",
        f"suppressions row {suppression_id}: edited",
        f"plan_rows row campaign {campaign_id} generation {generation} contact {contact_id}: "
        "edited",
    ]


def check_tampered(env: dict[str, str], url: str) -> bool:
    """True when `audit verify` exits 1 naming the three rows edited, and only them."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            expected = tamper(conn)
    finally:
        engine.dispose()
    started = time.perf_counter()
    done = subprocess.run(
        [TAMBOUR, "audit", "verify"], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    print(f"  after editing 3 rows with SQL: audit verify exits {done.returncode} in {wall:.1f} s")
    for line in (done.stdout + done.stderr).splitlines():
        print(f"    | {line}")
    named = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    missing = [e for e in expected if not any(line.startswith(e) for line in named)]
    others = [line for line in named if not any(line.startswith(e) for e in expected)]
    if missing or others:
        print(f"  not named: {missing}; named but not edited: {others}")
    return done.returncode == 1 and not missing and not others


def bench(url: str, path: Path, optouts: Path, contacts: int) -> bool:
    env = _env(url, secrets.token_hex(32))
    build(env, path, optouts, contacts)
    intact = verify(env)
    if not intact:
        print("  FAILED: the untouched ledger does not verify")
    caught = check_tampered(env, url)
    if not caught:
        print("  FAILED: audit verify did not name exactly the rows edited")
    return intact and caught


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--optouts", type=int, default=5_000, help="numbers opted out")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        started = time.perf_counter()
        write(path, args.contacts)
        optouts = Path(tmp) / "optouts.txt"
        numbers = _optout_numbers(args.contacts, args.optouts)
        optouts.write_text("\n".join(numbers) + "\n")
        print(
            f"generated {args.contacts:,} rows ({path.stat().st_size / 1e6:,.0f} MB) and "
            f"{len(numbers):,} opt-outs in {time.perf_counter() - started:.1f} s"
        )
        if args.only in (None, "sqlite"):
            print("SQLite (WAL)")
            ok &= bench(f"sqlite:///{Path(tmp) / 'bench.db'}", path, optouts, args.contacts)
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as url:
                print("PostgreSQL")
                ok &= bench(url, path, optouts, args.contacts)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
