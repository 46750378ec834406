"""The HTTP API under load: `tambour serve` on PostgreSQL, and a load generator in this run.

Targets (issue 15): `POST /api/v1/messages` accepted and decided at 500 a second or more with
p99 under 100 ms (measured twice: flat out, by `--connections` connections each sending its
next request once answered, for the rate the server reaches; then paced, requests due at 500
a second sent by the first free of twice as many connections, each latency counted from when
its request was due); `GET /api/v1/messages/{id}` at 1,000 a second or more; webhook deliveries at
1,000 a second or more (benches/bench_webhooks.py, run at the end); the memory of each server
process. Each load runs for `--seconds`, by `--connections` keep-alive connections, against a
server of `--workers` processes, on a ledger of `--contacts` consenting contacts imported
first (not timed), at a Tuesday 10:00 in Paris (TAMBOUR_NOW). Each POST sends one commercial
message to the next contact, with its own Idempotency-Key: every one is decided by the core
against the contact's facts and stored (campaign, sealed plan row, outbox row, audit entry);
each must be answered 201. Then `GET /api/v1/me` (authentication only) and
`GET /api/v1/advertisers/{slug}` for comparison.

The load generator is a minimal HTTP/1.1 keep-alive client on asyncio streams in a child
process of its own (httpx costs more CPU per request than the server does, and would measure
itself on this 2-core machine); every answer is checked to be a 200. The key's rate limit is
raised out of the way (TAMBOUR_API_RATE). PostgreSQL: a throw-away database on 127.0.0.1:5432,
dropped afterwards.

Usage: python benches/bench_api.py [--seconds 10] [--connections 32] [--workers 2]
                                   [--contacts 20000] [--events 20000]
"""

import argparse
import asyncio
import csv
import itertools
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
from tempfile import TemporaryDirectory
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import create_engine, text

from measure import TAMBOUR, _pss_kib, _tree, throwaway_postgres

TARGET_GET = 1_000  # requests a second
TARGET_POST = 500
TARGET_P99_MS = 100.0
NOW = "2026-12-01T10:00:00+01:00"  # a Tuesday: inside the legal window
TEXT = "Maison Lumière : -20% sur nos luminaires ce week-end, {first_name}."


def tambour(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([TAMBOUR, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"tambour {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def number(index: int) -> str:
    return f"+336{10_000_000 + index:08d}"


def prepare(env: dict[str, str], contacts: int, folder: Path) -> dict[str, str]:
    """The schema, one advertiser with `contacts` consenting contacts, and its keys: `read`
    and `send`; their tokens."""
    tambour(env, "db", "upgrade")
    tambour(
        env, "advertiser", "create", "maison-lumiere", "--name", "Maison Lumière SAS",
        "--sender", "MLUMIERE", "--stop-number", "36111", "--categories", "luminaires",
    )  # fmt: skip
    path = folder / "contacts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["phone", "first_name", "postal_code", "consent", "consent_at", "consent_method",
             "consent_checkbox_prechecked", "consent_source", "consent_proof"]
        )  # fmt: skip
        for index in range(contacts):
            writer.writerow(
                [number(index), f"Léa{index % 7}", "75011", "oui", "2026-01-05", "web_form",
                 "non", "https://exemple.fr/inscription", f"form #{index}"]
            )  # fmt: skip
    tambour(env, "contacts", "import", str(path), "--advertiser", "maison-lumiere")
    # The ledger as a running installation has it: its statistics made (autovacuum would
    # within a minute) and the import's writes checkpointed, not still being flushed.
    engine = create_engine(env["TAMBOUR_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))
    engine.dispose()
    return {
        scope: tambour(
            env, "apikey", "create", "--advertiser", "maison-lumiere", "--scopes", scope
        ).strip()
        for scope in ("read", "send")
    }


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


def _request(path: str, token: str, body: bytes | None = None, key: str = "") -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Idempotency-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _messages(token: str, contacts: int, offset: int) -> Iterator[bytes]:
    """POSTs of one message each, to the contacts in turn from `offset`."""
    for index in itertools.count(offset):
        body = json.dumps(
            {"to": number(index % contacts), "text": TEXT, "sender": "MLUMIERE",
             "nature": "commercial", "campaign": "bench"}
        ).encode()  # fmt: skip
        yield _request("/api/v1/messages", token, body, f"bench-{index}")


def _gets(path: str, token: str, ids: int) -> Iterator[bytes]:
    """GETs of `path`; with `{id}` in it, of ids 1 to `ids` in turn."""
    if "{id}" not in path:
        yield from itertools.repeat(_request(path, token))
    for index in itertools.cycle(range(1, ids + 1)):
        yield _request(path.replace("{id}", str(index)), token)


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


class Load(NamedTuple):
    """What to ask: `path` (GET; `{id}` cycles over ids 1 to `ids`) or, with `contacts`, one
    message POSTed a request; the status each answer must have."""

    path: str
    token: str
    expect: int = 200
    ids: int = 0
    contacts: int = 0

    def requests(self, connection: int) -> Iterator[bytes]:
        if self.contacts:
            return _messages(self.token, self.contacts, connection * 1_000_000)
        return _gets(self.path, self.token, self.ids)


async def _load(
    port: int, wanted: Load, seconds: float, connections: int, rate: float | None = None
) -> dict:
    """As fast as `connections` connections go (each sends its next request when answered),
    or, with `rate`, requests due at that many a second, sent by the first free connection:
    a latency counts from when its request was due, so that a server falling behind shows
    in it (not hidden by requests the load generator did not get to send)."""
    latencies: list[float] = []
    failures = 0
    began = time.perf_counter()
    stop = began + seconds
    slots = itertools.count()

    async def connection(index: int) -> None:
        nonlocal failures
        requests = wanted.requests(index)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (now := time.perf_counter()) < stop:
            due = now
            if rate is not None:
                due = began + next(slots) / rate
                if due >= stop:
                    break
                if due > now:
                    await asyncio.sleep(due - now)
            request = next(requests)
            writer.write(request)
            if await _answer(reader) != wanted.expect:
                failures += 1
            latencies.append(time.perf_counter() - due)
        writer.close()

    await asyncio.gather(*(connection(index) for index in range(connections)))
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": failures,
        "per_second": len(latencies) / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def _generator(
    port: int, wanted: Load, seconds: float, connections: int, rate: float | None
) -> dict:
    return asyncio.run(_load(port, wanted, seconds, connections, rate))


def load(
    port: int, wanted: Load, seconds: float, connections: int, rate: float | None = None
) -> dict:
    """The load, from a child process of its own (spawned: nothing of this one inherited)."""
    with get_context("spawn").Pool(1) as pool:
        return pool.apply(_generator, (port, wanted, seconds, connections, rate))


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
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=20_000, help="webhook deliveries")
    args = parser.parse_args()
    results = {}
    with throwaway_postgres() as url, TemporaryDirectory() as folder:
        env = {
            **os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench",
            "TAMBOUR_API_RATE": "1000000", "TAMBOUR_API_BURST": "1000000", "TAMBOUR_NOW": NOW,
        }  # fmt: skip
        tokens = prepare(env, args.contacts, Path(folder))
        with server(env, args.workers) as (port, pid):
            posted = Load("/api/v1/messages", tokens["send"], 201, contacts=args.contacts)
            load(port, posted, 1.0, args.connections)  # warm-up: pools, caches, plans
            results["POST /api/v1/messages, flat out"] = sent = load(
                port, posted, args.seconds, args.connections
            )
            report("POST /api/v1/messages, flat out", sent, TARGET_POST)
            results["POST /api/v1/messages at 500/s"] = paced = load(
                port, posted, args.seconds, args.connections * 2, rate=TARGET_POST
            )
            report("POST /api/v1/messages at 500/s", paced, TARGET_POST, latency=True)
            made = sent["requests"] + paced["requests"]
            for name, wanted in (
                ("GET /api/v1/messages/{id}",
                 Load("/api/v1/messages/{id}", tokens["read"], ids=made)),
                ("GET /api/v1/me", Load("/api/v1/me", tokens["read"])),
                ("GET /api/v1/advertisers/{slug}",
                 Load("/api/v1/advertisers/maison-lumiere", tokens["read"])),
            ):  # fmt: skip
                load(port, wanted, 1.0, args.connections)  # warm-up
                results[name] = measured = load(port, wanted, args.seconds, args.connections)
                report(name, measured, TARGET_GET)
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
    print("Webhook deliveries (benches/bench_webhooks.py):", flush=True)
    webhooks = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench_webhooks.py")),
         "--events", str(args.events)],
        check=False,
    )  # fmt: skip
    if any(result["failures"] for result in results.values()) or webhooks.returncode:
        raise SystemExit("some requests were not answered as they should")


def report(name: str, measured: dict, target: int, *, latency: bool = False) -> None:
    """A line of figures, and whether they meet the target rate (and with `latency`, the
    p99 target)."""
    ok = measured["per_second"] >= target * 0.98 if latency else measured["per_second"] >= target
    wanted = f"{target:,}/s"
    if latency:
        ok = ok and measured["p99_ms"] < TARGET_P99_MS
        wanted += f", p99 < {TARGET_P99_MS:.0f} ms"
    print(
        f"{name:34} {measured['per_second']:7,.0f} req/s  "
        f"p50 {measured['p50_ms']:5.1f} ms  p99 {measured['p99_ms']:6.1f} ms  "
        f"({measured['requests']:,} requests, {measured['failures']} not as expected)  "
        f"{'meets' if ok else 'below'} {wanted}",
        flush=True,
    )


if __name__ == "__main__":
    main()
