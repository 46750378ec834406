"""The HTTP API under load: `tambour serve` on PostgreSQL, and a load generator in this run.

Targets (issue 15, for the resources to come): 1,000 GET a second or more; POST decided at 500
a second with p99 under 100 ms. Measured here on what exists: `GET /api/v1/me` (authentication,
rate limit, no query once the key is cached) and `GET /api/v1/advertisers/{slug}` (an
authenticated read: the advertiser, its sender IDs and the installation key's check), each for
`--seconds`, by `--connections` keep-alive connections, against a server of `--workers`
processes; then the memory of each server process (RSS and PSS, after the load).

The load generator is a minimal HTTP/1.1 keep-alive client on asyncio streams in a child
process of its own (httpx costs more CPU per request than the server does, and would measure
itself on this 2-core machine); every answer is checked to be a 200. The key's rate limit is
raised out of the way (TAMBOUR_API_RATE). PostgreSQL: a throw-away database on 127.0.0.1:5432,
dropped afterwards.

Usage: python benches/bench_api.py [--seconds 10] [--connections 32] [--workers 2]
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from measure import TAMBOUR, _pss_kib, _tree, throwaway_postgres

TARGET_GET = 1_000  # requests a second
TARGET_P99_MS = 100.0


def tambour(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([TAMBOUR, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"tambour {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def prepare(env: dict[str, str]) -> str:
    """The schema, one advertiser, and a key of its with `read`; the key's token."""
    tambour(env, "db", "upgrade")
    tambour(
        env, "advertiser", "create", "maison-lumiere", "--name", "Maison Lumière SAS",
        "--sender", "MLUMIERE", "--stop-number", "36111", "--categories", "luminaires",
    )  # fmt: skip
    made = tambour(env, "apikey", "create", "--advertiser", "maison-lumiere", "--scopes", "read")
    return made.strip()


@contextmanager
def server(env: dict[str, str], workers: int) -> Iterator[tuple[int, int]]:
    """`tambour serve --port 0 --workers N`: its port and pid, once it answers."""
    process = subprocess.Popen(
        [TAMBOUR, "serve", "--port", "0", "--workers", str(workers), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(line.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        while asyncio.run(_status(port, "/readyz", "")) != 200:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not become ready")
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def _request(path: str, token: str) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode()


async def _answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _status(port: int, path: str, token: str) -> int:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return 0
    writer.write(_request(path, token))
    status = await _answer(reader)
    writer.close()
    return status


async def _load(port: int, path: str, token: str, seconds: float, connections: int) -> dict:
    request = _request(path, token)
    latencies: list[float] = []
    failures = 0
    stop = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            writer.write(request)
            if await _answer(reader) != 200:
                failures += 1
            latencies.append(time.perf_counter() - sent)
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": failures,
        "per_second": len(latencies) / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def _generator(port: int, path: str, token: str, seconds: float, connections: int) -> dict:
    return asyncio.run(_load(port, path, token, seconds, connections))


def load(port: int, path: str, token: str, seconds: float, connections: int) -> dict:
    """The load, from a child process of its own (spawned: nothing of this one inherited)."""
    with get_context("spawn").Pool(1) as pool:
        return pool.apply(_generator, (port, path, token, seconds, connections))


def memory(pid: int) -> list[tuple[str, int, float, float]]:
    """(role, pid, RSS MB, PSS MB) of the server's processes: the one `tambour serve` started
    (with several workers: the supervisor), and its workers (multiprocessing's resource
    tracker left out)."""
    found = []
    for each in _tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
            command = Path(f"/proc/{each}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "resource_tracker" in command:
            continue
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        role = "serve" if each == pid else "worker"
        found.append((role, each, rss / 1024, _pss_kib(each) / 1024))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results = {}
    with throwaway_postgres() as url:
        env = {
            **os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench",
            "TAMBOUR_API_RATE": "1000000", "TAMBOUR_API_BURST": "1000000",
        }  # fmt: skip
        token = prepare(env)
        with server(env, args.workers) as (port, pid):
            for name, path in (
                ("GET /api/v1/me", "/api/v1/me"),
                ("GET /api/v1/advertisers/{slug}", "/api/v1/advertisers/maison-lumiere"),
            ):
                load(port, path, token, 1.0, args.connections)  # warm-up: pools, caches
                results[name] = measured = load(port, path, token, args.seconds, args.connections)
                ok = measured["per_second"] >= TARGET_GET and measured["p99_ms"] < TARGET_P99_MS
                print(
                    f"{name:34} {measured['per_second']:7,.0f} req/s  "
                    f"p50 {measured['p50_ms']:5.1f} ms  p99 {measured['p99_ms']:6.1f} ms  "
                    f"({measured['requests']:,} requests, {measured['failures']} not 200)  "
                    f"{'meets' if ok else 'below'} {TARGET_GET:,}/s, p99 < {TARGET_P99_MS:.0f} ms"
                )
            processes = memory(pid)
    for role, each, rss, pss in processes:
        print(f"{role} process {each}: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
    print(
        json.dumps(
            {
                "workers": args.workers,
                "connections": args.connections,
                "results": results,
                "memory_mb": {f"{role} {each}": round(rss, 1) for role, each, rss, _ in processes},
            }
        )
    )
    if any(result["failures"] for result in results.values()):
        raise SystemExit("some requests were not answered 200")


if __name__ == "__main__":
    main()
