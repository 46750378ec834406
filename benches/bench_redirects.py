"""Short-link redirects per second, with their latency percentiles, against a real `tambour
serve` on SQLite and PostgreSQL.

Target (issue 17): at least 2,000 redirects a second, p99 under 20 ms, on a 2-core machine.

The ledger is built with the real commands in child processes (not timed): a realistic contact
file (benches/contact_file.py) imported, a commercial campaign whose text carries a short link
(`{link:https://...}`) planned and launched on a fixed clock. The codes are read back from the
plan's link rows (the bench holds the installation's key). Then `tambour serve` runs, and
client processes (`--clients`, each with `--concurrency` requests in flight, httpx async,
keep-alive) follow random short links of the campaign for `--seconds`, with a phone browser's
user agent: each click goes the whole way (redirect, click queued, written in batches, a
person's activity recorded once a day). Latency is the client's round trip (client and server
share the machine's cores: the server's own time is lower). After a first unmeasured second
(the codes looked up once, then remembered), every 302 counts; any other answer is an error.
`--baseline` times `/healthz` the same way: on a machine busy with other work, the ratio of
the two says what the redirects cost. `--in-process N` first times N redirects by calling the
app itself (its whole middleware stack, as uvicorn does) in the bench's process: the server's
own time per redirect, without the client's and the network's.

Usage: python benches/bench_redirects.py [--contacts N] [--only sqlite|postgresql]
       [--seconds 10] [--clients 2] [--concurrency 16] [--baseline] [--in-process N]
"""

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

sys.path.insert(0, str(Path(__file__).parent))
from contact_file import write
from measure import TAMBOUR, serving, throwaway_postgres
from tambour.keys import Keys
from tambour.services.link_codes import LinkCodes
from tambour.store.tables import link_clicks, message_links

TARGET_RPS = 2000.0
TARGET_P99_MS = 20.0
NOW = "2026-11-30T09:00:00+01:00"
KEY = "be" * 32
SLUG = "bench"
UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
TEXT = "Bench : -20% sur nos luminaires ! {link:https://bench.fr/printemps?utm=sms}"


def run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([TAMBOUR, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 3):
        raise SystemExit(f"tambour {' '.join(args)}: {done.stderr or done.stdout}")


def build(url: str, contacts: int, folder: Path) -> list[str]:
    env = {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_SECRET_KEY": KEY,
           "TAMBOUR_NOW": NOW, "TAMBOUR_PUBLIC_URL": "https://m.bench.fr"}  # fmt: skip
    run(env, "db", "upgrade")
    run(env, "advertiser", "create", SLUG, "--name", "Bench SAS", "--sender", "BENCH",
        "--stop-number", "36111", "--categories", "luminaires")  # fmt: skip
    run(env, "contacts", "import", str(write(folder / "c.csv", contacts)), "--advertiser", SLUG)
    run(env, "campaign", "create", "--advertiser", SLUG, "--name", "P", "--nature", "commercial",
        "--sender", "BENCH", "--categories", "luminaires", "--text", TEXT)  # fmt: skip
    run(env, "campaign", "plan", "P")
    run(env, "campaign", "launch", "P")
    codes = LinkCodes.for_keys(Keys(bytes.fromhex(KEY)))
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = conn.execute(select(message_links.c.id).where(message_links.c.kind == "go"))
        found = [codes.code(i) for i in ids.scalars()]
    engine.dispose()
    return found


@contextmanager
def served(url: str, folder: Path) -> Iterator[str]:
    env = {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_SECRET_KEY": KEY,
           "TAMBOUR_NOW": NOW}  # fmt: skip
    with serving(env, folder, "warning") as (base, _log):
        yield base


async def _client(base: str, codes: list[str], seconds: float, concurrency: int, seed: int):
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, headers={"User-Agent": UA}) as c:

        async def worker(until: float, measure: bool) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                began = time.perf_counter()
                answer = await c.get(rng.choice(codes))
                took = time.perf_counter() - began
                if answer.status_code not in (200, 302):
                    errors += 1
                elif measure:
                    latencies.append(took)

        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        end = time.perf_counter() + seconds
        await asyncio.gather(*(worker(end, True) for _ in range(concurrency)))
    return latencies, errors


def _client_process(args: tuple[str, list[str], float, int, int], out: "multiprocessing.Queue"):
    out.put(asyncio.run(_client(*args)))


def measure(base: str, codes: list[str], seconds: float, clients: int, concurrency: int):
    out: multiprocessing.Queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=_client_process, args=((base, codes, seconds, concurrency, k), out)
        )
        for k in range(clients)
    ]
    for p in processes:
        p.start()
    latencies: list[float] = []
    errors = 0
    for _ in processes:
        found, failed = out.get()
        latencies += found
        errors += failed
    for p in processes:
        p.join()
    return latencies, errors


def report(name: str, latencies: list[float], errors: int, seconds: float) -> None:
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    rps = len(ms) / seconds
    print(
        f"{name:<11} {rps:>8,.0f} redirects/s   p50 {q[49]:6.2f} ms  p95 {q[94]:6.2f} ms  "
        f"p99 {q[98]:6.2f} ms   errors {errors}   "
        f"{'ok' if rps >= TARGET_RPS and q[98] < TARGET_P99_MS else 'BELOW TARGET'}"
    )


async def _in_process(url: str, paths: list[str], n: int) -> list[float]:
    """The server's own time per redirect: the app called as uvicorn calls it (its whole
    middleware stack), in this process, with no client nor network."""
    os.environ.update(TAMBOUR_DATABASE_URL=url, TAMBOUR_SECRET_KEY=KEY, TAMBOUR_NOW=NOW)
    from tambour.api.app import create_app

    app = create_app()
    rng = random.Random(7)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 302:
            raise SystemExit(f"in process: answered {message['status']}")

    headers = [(b"user-agent", UA.encode()), (b"host", b"m.bench.fr")]
    times: list[float] = []
    for k in range(len(paths) + n):  # every code once first: then they are remembered
        path = paths[k] if k < len(paths) else rng.choice(paths)
        scope = {"type": "http", "method": "GET", "path": path, "headers": headers,
                 "query_string": b"", "client": ("203.0.113.7", 5000), "scheme": "https",
                 "server": ("m.bench.fr", 443), "http_version": "1.1", "root_path": ""}  # fmt: skip
        began = time.perf_counter()
        await app(scope, receive, send)
        if k >= len(paths):
            times.append(time.perf_counter() - began)
    app.state.click_recorder.close()
    return times


def one(backend: str, url: str, args: argparse.Namespace, folder: Path) -> None:
    paths = ["/s/" + code for code in build(url, args.contacts, folder)]
    if args.in_process:
        times = asyncio.run(_in_process(url, paths, args.in_process))
        ms = sorted(t * 1000 for t in times)
        q = statistics.quantiles(ms, n=100)
        print(
            f"{backend:<11} in process: {len(ms) / sum(t for t in times):>8,.0f} redirects/s "
            f"of server time (one core)   p50 {q[49]:6.3f} ms  p95 {q[94]:6.3f} ms  "
            f"p99 {q[98]:6.3f} ms"
        )
    with served(url, folder) as base:
        latencies, errors = measure(base, paths, args.seconds, args.clients, args.concurrency)
        report(backend, latencies, errors, args.seconds)
        if args.baseline:  # the same clients on the lightest route: what the machine allows
            latencies, errors = measure(
                base, ["/healthz"], args.seconds, args.clients, args.concurrency
            )
            report("  /healthz", latencies, errors, args.seconds)
    engine = create_engine(url)
    with engine.connect() as conn:
        written = conn.execute(select(func.count()).select_from(link_clicks)).scalar_one()
    engine.dispose()
    print(f"{'':<11} {written:,} clicks written (every one answered, warm-up included)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--in-process", type=int, default=0, metavar="N",
        help="First time N redirects inside this process: the server's own time.",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", action="store_true", help="Also time /healthz: what the machine allows."
    )
    args = parser.parse_args()
    print(
        f"{args.contacts:,} contacts, {args.clients} client process(es) x {args.concurrency} "
        f"in flight, {args.seconds:g} s; target >= {TARGET_RPS:,.0f}/s, "
        f"p99 < {TARGET_P99_MS} ms"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "sqlite"):
            one("SQLite", f"sqlite:///{folder / 'bench.db'}", args, folder)
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as url:
                one("PostgreSQL", url, args, folder)


if __name__ == "__main__":
    main()
