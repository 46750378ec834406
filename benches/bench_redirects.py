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

With `wrk` installed (Debian's package: `make wrk`), the load comes from wrk instead (one
thread, `--concurrency` connections, a Lua script picking a random code per request): a client
written in C leaves the cores to the server, so its figures are the server's on this machine;
the Python clients above measure mostly themselves on 2 cores. `--client python` forces them.

Usage: python benches/bench_redirects.py [--contacts N] [--only sqlite|postgresql]
       [--seconds 10] [--clients 2] [--concurrency 16] [--baseline] [--in-process N]
       [--client wrk|python]
"""

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import shutil
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


_WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
math.randomseed(7)
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["User-Agent"] = "%s"})
end
"""
_WRK_LATENCY = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def measure_wrk(
    base: str, paths: list[str], seconds: float, concurrency: int, folder: Path
) -> tuple[float, dict[int, float], int]:
    """Requests a second, latency percentiles (50, 90, 99: ms) and errors (non-2xx/3xx and
    socket errors), with wrk after one unmeasured second."""
    listed = folder / "paths.txt"
    listed.write_text("\n".join(paths) + "\n")
    script = folder / "redirects.lua"
    script.write_text(_WRK_SCRIPT % (listed, UA))

    def wrk(duration: str) -> list[str]:
        return ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}", "-s", str(script),
                "--latency", base]  # fmt: skip

    subprocess.run(wrk("1s"), capture_output=True, check=True)
    done = subprocess.run(wrk(f"{seconds:g}s"), capture_output=True, text=True, check=True)
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    quantiles = {int(q): float(v) * _UNITS[u] for q, v, u in _WRK_LATENCY.findall(out)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    broken = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (
        sum(int(g) for g in broken.groups()) if broken else 0
    )
    return rps, quantiles, errors


def report_wrk(name: str, rps: float, q: dict[int, float], errors: int) -> None:
    verdict = "ok" if rps >= TARGET_RPS and q[99] < TARGET_P99_MS else "BELOW TARGET"
    print(
        f"{name:<11} {rps:>8,.0f} redirects/s   p50 {q[50]:6.2f} ms  p90 {q[90]:6.2f} ms  "
        f"p99 {q[99]:6.2f} ms   errors {errors}   {verdict}   (wrk)"
    )


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
        if args.client == "wrk":
            report_wrk(backend, *measure_wrk(base, paths, args.seconds, args.concurrency, folder))
            if args.baseline:
                measured = measure_wrk(base, ["/healthz"], args.seconds, args.concurrency, folder)
                report_wrk("  /healthz", *measured)
        else:
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
    parser.add_argument(
        "--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
        help="The load: wrk when installed (make wrk), else Python processes.",
    )  # fmt: skip
    args = parser.parse_args()
    who = (
        f"wrk, {args.concurrency} connections"
        if args.client == "wrk"
        else f"{args.clients} client process(es) x {args.concurrency} in flight"
    )
    print(
        f"{args.contacts:,} contacts, {who}, {args.seconds:g} s; target >= {TARGET_RPS:,.0f}/s, "
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
