"""The outbox worker sending a launched campaign to the local SMSC over SMPP, window 64.

Target (issue 5): one worker sends at least 3,000 messages a second on PostgreSQL and on SQLite,
under 200 MB, and two workers on the same campaign never send a message twice.

The campaign is built through the real services (tests/dispatch_setup.py: advertiser, consenting
contacts imported, plan, launch; not timed). Then the real commands run in child processes: the
SMSC (`tambour smsc --receipt-delay 0`: every part accepted at once, its receipt sent at once)
and the worker (`tambour worker --until-idle --json`, timed, its memory sampled), on a clock
starting on a Tuesday at 10:00 in Paris so that the sending window is open. Six runs: one worker
on PostgreSQL, the same with STOPs coming in, one on SQLite, two at once on PostgreSQL, one on
PostgreSQL over TLS (the SMSC serving SMPP over TLS with a test certificate made for the run,
tests/tls_certs.py; the worker verifying it against its CA, `tls = true`, `ca_file`), and one
worker with no `tps` against `tambour smsc --tps 100` (3,000 messages, PostgreSQL; issue 14: it
must learn the SMSC's rate with fewer than 1 % of its submits refused, printed as the SMSC
counted them). In a run of its own on PostgreSQL (`stops`), and during the one on SQLite, STOPs
come in through the SMSC every 0.1 s and the time each takes to be in force (its reply committed
with its suppression entry, which the next claim reads) is printed as percentiles (issue 14:
under 200 ms at p99); the probe's polling loads the machine, so the PostgreSQL speed figure
comes from the run without it. The worker returns once the last receipt is in: its time covers
sending and recording every receipt ([worker] receipt_wait is raised to 600 s so that it does
not give up on receipts still coming; --receipt-wait -1 keeps the worker's default, 30 s). The
SMSC's admin port also tells when every part was accepted (the sending alone) and when every
receipt was acknowledged.

Checked after each run (a failure exits 1; speed is only printed): every message `delivered`
with its parts' receipts; the SMSC accepted exactly the outbox's parts, and received every
destination number exactly once (the SMSC is the real `tambour smsc` command, run with a hook
that writes, when it stops, how many messages and parts each destination received); the audit
log's `dispatch.batch` entries name every message as submitted exactly once, across workers.
PostgreSQL: throw-away databases on 127.0.0.1:5432, dropped afterwards. Before and after each
run a machine check times one pure-Python loop per core: on a shared virtual machine the same
code runs a quarter slower or faster from one minute to the next, and this tells which.
Usage: python benches/bench_dispatch.py [--messages N]
       [--only postgresql|stops|sqlite|two|tls|throttled]
       [--receipt-wait SECONDS]   (default: 50,000 messages, every run; the throttled run
       takes 3,000 unless --only throttled is given --messages)
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from tests.dispatch_setup import STOP_NUMBER, launched_campaign, mobile, paris
from tests.tls_certs import make_pki

from measure import TAMBOUR, Measured, measured, throwaway_postgres
from tambour.store.engine import make_engine

WINDOW = 64
TARGET = 3_000  # messages a second
THROTTLED_TPS = 100  # the SMSC's rate in the throttled run
THROTTLED_MESSAGES = 3_000  # half a minute at that rate
REFUSED_TARGET = 0.01  # the share of submits the SMSC may refuse there
MEMORY = 200  # MB
# The worker's default gives up on receipts 30 s after the last submit; the bench waits for them
# all, so that a message left `submitted` is a receipt lost, not one still on its way.
RECEIPT_WAIT = 600.0
NOW = "2026-12-01T10:00:00+01:00"  # a Tuesday: the window is open from 10:00 in Paris

# `tambour smsc` as the command runs it, plus one thing it does not say: per destination, how
# many messages and parts it received, written to $BENCH_SMSC_COUNTS once it has stopped.
SMSC = """
import dataclasses, json, os
from collections import Counter
from tambour.dispatch import smsc

close = smsc.Smsc.close

async def counting_close(self):
    await close(self)
    counts = {
        "messages": Counter(m.destination.address for m in self.messages),
        "parts": Counter(p.destination.address for p in self.parts),
        "stats": {**dataclasses.asdict(self.stats), "pending": self.pending_deliveries},
    }
    with open(os.environ["BENCH_SMSC_COUNTS"], "w") as out:
        json.dump(counts, out)

smsc.Smsc.close = counting_close
from tambour.cli.smsc_cmd import app
app(prog_name="tambour smsc")
"""
SPIN = (
    "import time\nstarted = time.perf_counter()\ntotal = 0\n"
    "for i in range(3_000_000):\n    total += i & 7\nprint(time.perf_counter() - started)"
)
LISTENING = re.compile(r"SMSC listening on [\d.]+:(\d+) .* admin on http://[\d.]+:(\d+)")
STOPPED = re.compile(r"SMSC stopped: ([\d,]+) parts accepted, .* ([\d,]+) messages,")


class Smsc:
    """`tambour smsc` in a child process, from start to SIGTERM."""

    def __init__(self, tmp: Path, options: Sequence[str] = ()) -> None:
        self.counts_path = tmp / f"smsc-{time.monotonic_ns()}.json"
        self.stats: dict[str, int] = {}
        self.process = subprocess.Popen(
            [sys.executable, "-c", SMSC, "--port", "0", "--receipt-delay", "0", *options],
            # The SMSC judges validity periods on the worker's clock (TAMBOUR_NOW, running).
            env={**os.environ, "BENCH_SMSC_COUNTS": str(self.counts_path), "TAMBOUR_NOW": NOW},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = LISTENING.search(line)
        if not found:
            self.process.kill()
            raise SystemExit(f"the SMSC did not start: {line!r} {self.process.stderr.read()}")
        self.port, self.admin_port = int(found.group(1)), int(found.group(2))

    def stop(self) -> tuple[int, int, dict[str, Counter[str]]]:
        """Parts accepted and messages, as it prints them, and its counts per destination."""
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=60)
        found = STOPPED.search(out)
        if self.process.returncode or not found:
            raise SystemExit(f"the SMSC did not stop cleanly: {out!r} {err!r}")
        counts = json.loads(self.counts_path.read_text())
        parts, messages = (int(g.replace(",", "")) for g in found.groups())
        self.stats = counts.pop("stats")
        print(f"  SMSC counters: {self.stats}")
        return parts, messages, {k: Counter(v) for k, v in counts.items()}

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _env(url: str, config: Path) -> dict[str, str]:
    return {
        **os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench",
        "TAMBOUR_NOW": NOW, "TAMBOUR_CONFIG": str(config),
    }  # fmt: skip


def _config(tmp: Path, port: int, receipt_wait: float | None, transport: str = "") -> Path:
    path = tmp / f"tambour-{port}.toml"
    path.write_text(
        "[transport]\n"
        'kind = "smpp"\nhost = "127.0.0.1"\n'
        f'port = {port}\nsystem_id = "tambour"\npassword = "tambour"\nwindow = {WINDOW}\n'
        + transport
        + ("" if receipt_wait is None else f"[worker]\nreceipt_wait = {receipt_wait}\n")
    )
    return path


@dataclass(frozen=True)
class Setup:
    """What a run changes: options of `tambour smsc`, lines of [transport]; whether STOPs are
    sent during the run and how long they take to be in force."""

    smsc: Sequence[str] = ()
    transport: str = ""
    stops: bool = False


STOP_EVERY = 0.1  # seconds between two STOPs of the probe
STOP_TARGET = 0.2  # seconds: a STOP in force within this at the 99th percentile (issue 14)


class StopProbe:
    """STOPs sent through the SMSC while the workers send at full speed, one every STOP_EVERY
    seconds, each from a number of its own (not a recipient of the campaign: the check of
    every message delivered stays exact). Its latency: from the moment it is handed to the
    SMSC until its reply row is committed, which is the moment the suppression entry written
    in the same transaction stops the next claim of that number: polled every 2 ms on a
    connection of its own. Starts once the first messages leave (the workers started)."""

    def __init__(self, admin_port: int, engine: Engine) -> None:
        self.url = f"http://127.0.0.1:{admin_port}/mo"
        self.engine = engine
        self.latencies: list[float] = []
        self.missed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        time.sleep(1.5)  # the workers bound and sending
        with self.engine.connect() as conn:
            index = 0
            while not self._stop.is_set():
                index += 1
                number = mobile(5_000_000 + index)
                payload = json.dumps({"from": number, "to": STOP_NUMBER, "text": "STOP", "wait": 0})
                request = urllib.request.Request(
                    self.url, payload.encode(), {"Content-Type": "application/json"}
                )
                started = time.perf_counter()
                with urllib.request.urlopen(request, timeout=10):
                    pass
                in_force = self._in_force(conn, number, started + 10)
                if in_force:
                    self.latencies.append(time.perf_counter() - started)
                elif in_force is not None:
                    self.missed += 1
                self._stop.wait(STOP_EVERY)

    def _in_force(self, conn: Connection, number: str, deadline: float) -> bool | None:
        """Whether the STOP from `number` was in force by `deadline`; None when the workers
        stopped meanwhile (the last STOP may come as they stop: not theirs to record)."""
        query = text("SELECT count(*) FROM replies WHERE e164 = :number")
        while time.perf_counter() < deadline:
            if self._stop.is_set():
                return None
            found = conn.execute(query, {"number": number}).scalar_one()
            conn.commit()  # a fresh snapshot at each look
            if found:
                return True
            time.sleep(0.002)
        return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def report(self) -> str:
        if not self.latencies:
            return f"STOPs under load: none measured ({self.missed} not in force within 10 s)"
        ordered = sorted(self.latencies)

        def at(share: float) -> float:
            return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

        verdict = "within" if at(0.99) <= STOP_TARGET * 1000 and not self.missed else "ABOVE"
        return (
            f"STOPs under load: {len(ordered)} in force after p50 {at(0.5):.0f} ms, p95 "
            f"{at(0.95):.0f} ms, p99 {at(0.99):.0f} ms, max {ordered[-1] * 1000:.0f} ms "
            f"({verdict} the {STOP_TARGET * 1000:.0f} ms target at p99)"
            + (f"; {self.missed} not in force within 10 s" if self.missed else "")
        )


def over_tls(tmp: Path) -> Setup:
    """The SMSC serving SMPP over TLS with a test certificate for 127.0.0.1, the worker
    verifying it against the test CA."""
    pki = make_pki(tmp / "pki")
    return Setup(
        smsc=("--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key)),
        transport=f'tls = true\nca_file = "{pki.ca}"\n',
    )


THROTTLING = Setup(smsc=("--tps", str(THROTTLED_TPS)))  # and no tps for the worker


class Timeline:
    """When the SMSC had accepted every part, and acknowledged deliveries of every receipt
    (its admin port's /stats, read twice a second while the workers run)."""

    def __init__(self, admin_port: int, parts: int) -> None:
        self.url = f"http://127.0.0.1:{admin_port}/stats"
        self.parts = parts
        self.started = time.perf_counter()
        self.all_accepted: float | None = None
        self.all_receipts: float | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.wait(0.5):
            self._sample()

    def _sample(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as answer:
                stats = json.load(answer)
        except OSError:
            return
        at = time.perf_counter() - self.started
        if self.all_accepted is None and stats["accepted"] >= self.parts:
            self.all_accepted = at
        if self.all_receipts is None and stats["deliveries_acked"] >= self.parts:
            self.all_receipts = at

    def stop(self) -> None:
        """After the workers: a last look (the times are then at most the workers' end)."""
        self.done.set()
        self.thread.join()
        self._sample()


def _prepare(url: str, tmp: Path, messages: int) -> Engine:
    """The schema, then a launched campaign of `messages` (not timed)."""
    subprocess.run(
        [TAMBOUR, "db", "upgrade"], env={**os.environ, "TAMBOUR_DATABASE_URL": url},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    engine = make_engine(url)
    started = time.perf_counter()
    numbers = [mobile(i) for i in range(messages)]
    launched_campaign(engine, tmp, numbers, now=paris("2026-12-01T10:00"))
    with engine.connect() as conn:
        queued = conn.execute(text("SELECT count(*) FROM outbox WHERE state = 'queued'")).scalar()
    print(
        f"  setup: {queued:,} messages queued in {time.perf_counter() - started:.0f} s (not timed)"
    )
    return engine


def _check(
    engine: Engine, smsc: tuple[int, int, dict[str, Counter[str]]], reports: list[dict[str, int]]
) -> list[str]:
    """What went wrong, if anything; prints what was checked."""
    accepted, received, per_destination = smsc
    problems: list[str] = []
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT state, count(*) FROM outbox GROUP BY state")).all())
        rows = conn.execute(text("SELECT id, e164, parts FROM outbox")).all()
        recorded = conn.execute(text("SELECT count(*) FROM outbox_parts")).scalar_one()
        outcomes = dict(
            conn.execute(text("SELECT outcome, count(*) FROM outbox_parts GROUP BY outcome")).all()
        )
        stranded = conn.execute(
            text(
                "SELECT count(*) FROM outbox_parts p WHERE p.outcome IS NULL AND EXISTS"
                " (SELECT 1 FROM early_receipts e WHERE e.carrier_key = p.carrier_key)"
            )
        ).scalar_one()
        early = conn.execute(text("SELECT count(*) FROM early_receipts")).scalar_one()
        batches = conn.execute(
            text("SELECT details FROM audit_log WHERE action = 'dispatch.batch'")
        ).scalars()
        submitted_ids: Counter[int] = Counter()
        for details in batches:
            for first, last in json.loads(details).get("submitted", []):
                submitted_ids.update(range(first, last + 1))
    total, parts = len(rows), sum(r.parts for r in rows)
    print(f"  outbox: {total:,} messages, {parts:,} parts; states {states}; parts {outcomes}")
    print(
        f"  early_receipts: {early:,} rows left; {stranded:,} parts without an outcome have "
        "their receipt waiting there (it came before the part was recorded, and stayed)"
    )
    if states.get("delivered", 0) != total:
        problems.append(f"not every message is delivered: {states}")
    if recorded != parts or outcomes.get("delivered", 0) != parts:
        problems.append(f"{recorded:,} parts recorded for {parts:,}, outcomes {outcomes}")
    reported = sum(r["submitted"] for r in reports)
    if reported != total:
        problems.append(f"the workers report {reported:,} submitted for {total:,} messages")
    twice = sorted(i for i, n in submitted_ids.items() if n > 1)
    missing = {r.id for r in rows} - submitted_ids.keys()
    print(
        f"  audit log: {len(submitted_ids):,} messages submitted, {len(twice):,} twice or more, "
        f"{len(missing):,} never"
    )
    if twice or missing:
        problems.append(f"audit: submitted twice {twice[:10]}, never {sorted(missing)[:10]}")
    want_parts = {r.e164.lstrip("+"): r.parts for r in rows}
    messages_to = per_destination["messages"]
    parts_to = per_destination["parts"]
    extra = sorted(n for n, c in messages_to.items() if c > 1 or n not in want_parts)
    lacking = sorted(n for n in want_parts if messages_to.get(n, 0) == 0)
    wrong_parts = sorted(n for n, p in want_parts.items() if parts_to.get(n, 0) != p)
    print(
        f"  SMSC: {accepted:,} parts accepted, {received:,} messages; {len(messages_to):,} "
        f"destinations, {len(extra):,} received twice or unexpected, {len(lacking):,} received "
        f"nothing, {len(wrong_parts):,} with a wrong count of parts"
    )
    if accepted != parts or received != total:
        problems.append(f"SMSC accepted {accepted:,} parts / {received:,} messages")
    if extra or lacking or wrong_parts:
        problems.append(
            f"SMSC destinations: twice or unexpected {extra[:10]}, none {lacking[:10]}, "
            f"wrong parts {wrong_parts[:10]}"
        )
    return problems


def _line(label: str, done: Measured, report: dict[str, int]) -> None:
    sent = report["submitted"]
    own = report["seconds"]
    print(
        f"  {label}: {sent:,} submitted in {done.wall:.1f} s wall = {sent / done.wall:,.0f} msg/s "
        f"(its own report: {own:g} s = {sent / own if own else 0:,.0f} msg/s); "
        f"{report['receipts']:,} receipts; failed {report['failed']}, unknown "
        f"{report['unknown']}, held {report['held']}, rescued {report['rescued']}; peak "
        f"memory {done.largest_mb:,.0f} MB (target < {MEMORY})"
    )


def _refused_share(stats: dict[str, int]) -> None:
    """The submits the SMSC refused as throttled, for each it accepted."""
    throttled, accepted = stats["throttled"], stats["accepted"]
    share = throttled / accepted if accepted else 0.0
    verdict = "met" if share < REFUSED_TARGET else "NOT met"
    print(
        f"  refused submits: {throttled:,} throttled for {accepted:,} accepted = {share:.2%} "
        f"(target < {REFUSED_TARGET:.0%}: {verdict})"
    )


def table_reads(engine: Engine) -> str:
    """How PostgreSQL read the outbox tables during the run (pg_stat_user_tables, written by
    the workers' sessions as they ended): a plan gone wrong shows as rows read by the million."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch"
                " FROM pg_stat_user_tables WHERE relname IN ('outbox', 'outbox_parts')"
                " ORDER BY relname"
            )
        ).all()
    return "PostgreSQL reads: " + "; ".join(
        f"{name}: {seq:,} scans reading {seq_rows:,} rows, {idx:,} index scans fetching "
        f"{idx_rows:,}"
        for name, seq, seq_rows, idx, idx_rows in found
    )


def machine_speed() -> str:
    """How fast this machine runs Python right now: the same loop in two processes at once, one
    a core. The figures of a shared virtual machine move with its neighbours' load (by a quarter
    from one run to the next here); this tells whether a slow run met a slow machine."""
    probes = [
        subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    took = sorted(float(probe.communicate()[0]) * 1000 for probe in probes)
    return f"machine check: a 3M-step loop on each core at once took {took[0]:.0f}-{took[1]:.0f} ms"


def run(
    url: str,
    tmp: Path,
    messages: int,
    workers: int,
    receipt_wait: float | None,
    setup: Setup = Setup(),
) -> list[str]:
    engine = _prepare(url, tmp, messages)
    speed_before = machine_speed()
    with engine.connect() as conn:
        parts = conn.execute(text("SELECT sum(parts) FROM outbox")).scalar_one()
    smsc = Smsc(tmp, setup.smsc)
    try:
        env = _env(url, _config(tmp, smsc.port, receipt_wait, setup.transport))
        command = ["worker", "--until-idle", "--json", "--no-jobs"]  # sending alone
        timeline = Timeline(smsc.admin_port, parts)
        probe = StopProbe(smsc.admin_port, engine) if setup.stops else None
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            runs = list(pool.map(lambda _: measured(command, env), range(workers)))
        wall = time.perf_counter() - started
        timeline.stop()
        if probe is not None:
            probe.stop()
        counts = smsc.stop()
    finally:
        smsc.kill()
    accepted, receipted = timeline.all_accepted, timeline.all_receipts
    print(
        "  SMSC timeline: "
        + (
            f"every part accepted {accepted:.1f} s after the start ({parts / accepted:,.0f} "
            "parts/s)"
            if accepted
            else "not every part accepted"
        )
        + (
            f", every receipt acknowledged after {receipted:.1f} s"
            if receipted
            else ", NOT every receipt acknowledged by the time the workers stopped"
        )
    )
    reports = [json.loads(done.out) for done in runs]
    for index, (done, report) in enumerate(zip(runs, reports, strict=True), 1):
        _line(f"worker {index}" if workers > 1 else "worker", done, report)
    if "--tps" in setup.smsc:
        _refused_share(smsc.stats)
    if probe is not None:
        print(f"  {probe.report()}")
    if workers > 1:
        sent = sum(r["submitted"] for r in reports)
        print(
            f"  together: {sent:,} submitted in {wall:.1f} s wall = {sent / wall:,.0f} msg/s "
            f"(target for one worker: {TARGET:,})"
        )
    print(f"  {speed_before}; after the run: {machine_speed().rpartition(' took ')[2]}")
    if engine.dialect.name == "postgresql":
        print(f"  {table_reads(engine)}")
    problems = _check(engine, counts, reports)
    engine.dispose()
    print("  correct" if not problems else "  INCORRECT: " + "; ".join(problems))
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int)
    parser.add_argument(
        "--only", choices=("postgresql", "stops", "sqlite", "two", "tls", "throttled")
    )
    parser.add_argument(
        "--receipt-wait", type=float, default=RECEIPT_WAIT,
        help=f"[worker] receipt_wait, seconds (default {RECEIPT_WAIT:g}; -1: the worker's own)",
    )  # fmt: skip
    args = parser.parse_args()
    wait = None if args.receipt_wait < 0 else args.receipt_wait
    messages = args.messages or 50_000
    throttled = args.messages if args.messages and args.only == "throttled" else THROTTLED_MESSAGES
    load = os.getloadavg()
    count = throttled if args.only == "throttled" else messages
    print(f"{count:,} messages, window {WINDOW}; load average {load[0]:.2f} (1 min)")
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as url:
                print("PostgreSQL, one worker")
                problems += run(url, Path(tmp), messages, 1, wait)
        if args.only in (None, "sqlite"):
            print("SQLite (WAL), one worker, STOPs sent meanwhile")
            problems += run(
                f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp), messages, 1, wait,
                Setup(stops=True),
            )  # fmt: skip
        if args.only in (None, "stops"):
            with throwaway_postgres() as url:
                # apart from the run above: the probe's polling loads the machine (2 cores)
                print("PostgreSQL, one worker, STOPs sent meanwhile")
                problems += run(url, Path(tmp), messages, 1, wait, Setup(stops=True))
        if args.only in (None, "two"):
            with throwaway_postgres() as url:
                print("PostgreSQL, two workers at once on the same campaign")
                problems += run(url, Path(tmp), messages, 2, wait)
        if args.only in (None, "tls"):
            with throwaway_postgres() as url:
                print("PostgreSQL, one worker, SMPP over TLS")
                problems += run(url, Path(tmp), messages, 1, wait, over_tls(Path(tmp)))
        if args.only in (None, "throttled"):
            with throwaway_postgres() as url:
                print(
                    f"PostgreSQL, one worker with no tps, the SMSC throttling above "
                    f"{THROTTLED_TPS}/s: {throttled:,} messages"
                )
                problems += run(url, Path(tmp), throttled, 1, wait, THROTTLING)
    if problems:
        raise SystemExit("correctness: " + "; ".join(problems))


if __name__ == "__main__":
    main()
