"""`campaign export` of a launched 1,000,000-recipient campaign, on SQLite and PostgreSQL.

Target (issue 13 point 4): at least 100,000 rows a second, in memory that does not grow with the
campaign. Each database is built twice, for a tenth of the contacts and for all of them, so that
the peak memory of the two exports can be compared: the rows are streamed, it must stay flat.

The ledger is built as benches/bench_audit_verify.py builds it (reused: benches/contact_file.py
writes a realistic canonical file, `contacts import`, `optout import`, then a commercial campaign
created, planned and launched on a fixed clock; the import and plan rates are printed, not the
point here). Dispatch is not run (bench_dispatch.py measures it): the outcomes are written into
the outbox with SQL, as a worker and the carrier's receipts would leave them: 85 % delivered,
5 % failed (with the carrier's error code), 5 % still submitted, 5 % cancelled (opted out), the
submitted ones with a carrier id for each part, and every message with its own submit and
receipt times (spread to the millisecond: few alike, as in a real campaign).

Then `tambour campaign export` runs in a child process in each form, timed (interpreter start
included) with the CPU time and peak memory of its processes (the largest, and all together):
`--csv FILE` (commas, times in each recipient's own zone), `--csv FILE --excel` (semicolons,
Paris time) and `--json` (JSON lines on stdout, written to a file), with the default workers
(from 50,000 recipients, one process per core writes a range of them, one more on PostgreSQL),
and `--csv FILE --workers 0` (this process alone). Each output is checked: one line a
recipient (and the header), and as many `delivered` rows as the outbox has. A failed check exits
1; speed is only printed. Since the machine may be shared, the load average is printed before
each run, and the CPU time says what the export costs whatever the load.
PostgreSQL: throw-away databases on 127.0.0.1:5432 (tambour_bench_export_*), dropped after.
Usage: python benches/bench_campaign_export.py [--contacts N] [--only sqlite|postgresql]
       [--quick]   (default: 1,000,000 contacts, and 100,000; --quick: 20,000 and 2,000)
"""

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from bench_audit_verify import CAMPAIGN, _env, _optout_numbers, build
from contact_file import write
from measure import TAMBOUR, _pss_kib, _tree, throwaway_postgres
from tambour.store.bulk import refresh_statistics
from tambour.store.engine import make_engine

TARGET = 100_000  # rows a second
FORMS = {
    "csv": ["--csv", "{out}"],
    "excel": ["--csv", "{out}", "--excel"],
    "json lines": ["--json"],
    "csv alone": ["--csv", "{out}", "--workers", "0"],  # one process, no worker beside it
}
# Runs `tambour ARGS` with its stdout in the file argv[1]; prints, last, its peak RSS (KiB) and
# its CPU seconds (user + system).
_MEASURE = (
    "import resource, subprocess, sys\n"
    "with open(sys.argv[1], 'wb') as out:\n"
    "    done = subprocess.run(sys.argv[2:], stdout=out)\n"
    "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(used.ru_maxrss, used.ru_utime + used.ru_stime)\n"
    "sys.exit(done.returncode)\n"
)


@dataclass(frozen=True)
class Run:
    form: str
    rows: int
    wall: float
    cpu: float
    peak_mb: float  # the largest process
    all_mb: float  # all its processes together

    @property
    def rate(self) -> float:
        return self.rows / self.wall


def settle(url: str) -> dict[str, int]:
    """Write the messages' outcomes into the outbox as a dispatch would leave them; the count
    of each state."""
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"

    def later(column: str, seconds: str) -> str:
        """`column` + `seconds` (an SQL expression) + id % 997 milliseconds, as stored."""
        if pg:
            return (
                f"{column} + ({seconds}) * interval '1 second'"
                " + (id % 997) * interval '1 millisecond'"
            )
        return (
            f"strftime('%Y-%m-%d %H:%M:%f', {column}, ({seconds}) || ' seconds', "
            f"((id % 997) / 1000.0) || ' seconds') || '000'"
        )

    window_end = (
        "send_at + interval '10 hours'"
        if pg
        else "strftime('%Y-%m-%d %H:%M:%f', send_at, '+10 hours') || '000'"
    )
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE outbox SET state = CASE WHEN id % 20 < 17 THEN 'delivered'"
                    " WHEN id % 20 = 17 THEN 'failed' WHEN id % 20 = 18 THEN 'submitted'"
                    " ELSE 'cancelled' END, attempts = 1,"
                    f" submitted_at = CASE WHEN id % 20 < 19 THEN {later('send_at', 'id % 3600')}"
                    " END,"
                    f" valid_until = CASE WHEN id % 20 < 19 THEN {window_end} END,"
                    " done_at = CASE WHEN id % 20 < 18 THEN"
                    f" {later('send_at', 'id % 3600 + 5')}"
                    f" WHEN id % 20 = 19 THEN {later('send_at', '-60')} END,"
                    " error_code = CASE WHEN id % 20 = 17 THEN 1 END,"
                    " last_error = CASE WHEN id % 20 = 17 THEN 'UNDELIV' END,"
                    " reason = CASE WHEN id % 20 = 19 THEN 'opted_out' END"
                )
            )
            conn.execute(
                text(
                    "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 10)"
                    " INSERT INTO outbox_parts (outbox_id, part, of_parts, advertiser_id,"
                    " carrier_key, outcome, error_code, done_at)"
                    " SELECT o.id, n.k, o.parts, o.advertiser_id, 'c' || o.id || 'p' || n.k,"
                    " CASE o.state WHEN 'submitted' THEN NULL ELSE o.state END,"
                    " o.error_code, o.done_at FROM outbox o JOIN n ON n.k <= o.parts"
                    " WHERE o.state IN ('delivered', 'failed', 'submitted')"
                )
            )
            refresh_statistics(conn, "outbox", "outbox_parts")  # as the workers keep them
            found = conn.execute(text("SELECT state, count(*) FROM outbox GROUP BY state"))
            return {state: int(n) for state, n in found}
    finally:
        engine.dispose()


def measured(args: list[str], env: dict[str, str], out: Path) -> tuple[float, float, float, float]:
    """Run `tambour ARGS`, its stdout into `out`, its memory sampled ten times a second (as
    measure.py does): wall seconds, CPU seconds of all its processes, peak RSS of the largest
    one and peak of all of them together (PSS: pages a fork shares count once), in MB."""
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-c", _MEASURE, str(out), TAMBOUR, *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as child:  # fmt: skip
        together = 0
        while child.poll() is None:
            together = max(together, sum(_pss_kib(pid) for pid in _tree(child.pid)[1:]))
            time.sleep(0.1)
        said, err = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"tambour {' '.join(args)} failed: {err}")
    peak, cpu = said.split()
    return wall, float(cpu), int(peak) / 1024, together / 1024


def check(form: str, path: Path, recipients: int, delivered: int) -> None:
    """One line a recipient (and the CSV's header), and every delivered message."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if form == "json lines":
            states = [json.loads(line)["state"] for line in handle]
        else:
            reader = csv.DictReader(handle, delimiter=";" if form == "excel" else ",")
            states = [row["state"] for row in reader]
    if len(states) != recipients or states.count("delivered") != delivered:
        raise SystemExit(
            f"{form}: {len(states):,} rows, {states.count('delivered'):,} delivered; the plan "
            f"has {recipients:,} recipients, the outbox {delivered:,} delivered messages"
        )


def exports(env: dict[str, str], tmp: Path, delivered: int) -> list[Run]:
    status = json.loads(
        subprocess.run(
            [TAMBOUR, "campaign", "status", CAMPAIGN, "--json"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    recipients = status["plan"]["targeted"]
    runs = []
    for form, options in FORMS.items():
        out = tmp / f"export-{secrets.token_hex(3)}.csv"
        stdout = tmp / f"stdout-{secrets.token_hex(3)}.txt"
        args = ["campaign", "export", CAMPAIGN, *(o.format(out=out) for o in options)]
        print(f"  ({form}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
        wall, cpu, peak, together = measured(args, env, stdout)
        check(form, stdout if form == "json lines" else out, recipients, delivered)
        run = Run(form, recipients, wall, cpu, peak, together)
        runs.append(run)
        mark = "at or above" if run.rate >= TARGET else "BELOW"
        written = (out if out.exists() else stdout).stat().st_size / 1e6
        print(
            f"  export {form}: {recipients:,} rows in {wall:.1f} s wall ({run.rate:,.0f} rows/s, "
            f"{mark} the {TARGET:,} target; {cpu:.1f} s CPU, {recipients / cpu:,.0f} rows a CPU "
            f"second), peak memory {peak:,.0f} MB in the largest process, {together:,.0f} MB in "
            f"all, {written:,.0f} MB written"
        )
        out.unlink(missing_ok=True)
        stdout.unlink(missing_ok=True)
    return runs


@contextmanager
def database(kind: str, tmp: Path, contacts: int) -> Iterator[str]:
    if kind == "postgresql":
        with throwaway_postgres() as url:
            yield url
        return
    path = tmp / f"bench-{contacts}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for leftover in tmp.glob(f"{path.name}*"):
            leftover.unlink()


def bench(kind: str, tmp: Path, contacts: int) -> list[Run]:
    path = tmp / f"contacts-{contacts}.csv"
    write(path, contacts)
    optouts = tmp / f"optouts-{contacts}.txt"
    optouts.write_text("\n".join(_optout_numbers(contacts, max(contacts // 200, 1))) + "\n")
    print(f"{kind}, {contacts:,} contacts ({path.stat().st_size / 1e6:,.0f} MB file)")
    try:
        with database(kind, tmp, contacts) as url:
            env = _env(url, secrets.token_hex(32))
            build(env, path, optouts, contacts)
            states = settle(url)
            said = ", ".join(f"{state} {n:,}" for state, n in sorted(states.items()))
            print(f"  outcomes written: {said}")
            return exports(env, tmp, states.get("delivered", 0))
    finally:
        path.unlink(missing_ok=True)
        optouts.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--quick", action="store_true", help="20,000 contacts (and 2,000)")
    args = parser.parse_args()
    largest = 20_000 if args.quick else args.contacts
    sizes = (max(largest // 10, 1), largest)
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    found: dict[tuple[str, int], list[Run]] = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for kind in kinds:
            for size in sizes:
                found[(kind, size)] = bench(kind, tmp, size)
    print(
        "summary: rows/s (wall, interpreter start included); peak memory, the largest process "
        "and all together"
    )
    for kind in kinds:
        small, large = found[(kind, sizes[0])], found[(kind, sizes[1])]
        for few, many in zip(small, large, strict=True):
            print(
                f"  {kind:10} {many.form:10} {many.rows:>9,} rows {many.rate:>8,.0f}/s "
                f"{many.peak_mb:>4,.0f}/{many.all_mb:,.0f} MB;  {few.rows:>8,} rows "
                f"{few.rate:>8,.0f}/s {few.peak_mb:>4,.0f}/{few.all_mb:,.0f} MB;  memory "
                f"{many.peak_mb - few.peak_mb:+,.0f}/{many.all_mb - few.all_mb:+,.0f} MB for "
                f"{many.rows / max(few.rows, 1):,.0f} times the rows"
            )


if __name__ == "__main__":
    main()
