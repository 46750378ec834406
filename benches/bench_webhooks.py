"""Webhook deliveries to a local receiver, on PostgreSQL (issue 15: 1,000 a second or more).

N events are queued for one endpoint through the real service (`webhooks.emit`, not timed);
then `tambour webhook deliver --until-idle` runs in a child process (timed, its memory sampled)
and POSTs every one, signed, to a receiver on a free port: uvicorn serving a minimal ASGI app in
its own process, answering 204 and counting what it took. Checked afterwards (a failure exits
1): the receiver took N requests, each delivery is `delivered`, one attempt each.
Usage: python benches/bench_webhooks.py [--events N]   (default 20,000)
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).parent))
from measure import TAMBOUR, measured, throwaway_postgres
from tambour.services import webhooks
from tambour.services.webhooks import Event
from tambour.store.engine import make_engine
from tambour.store.tables import webhook_attempts, webhook_deliveries

RECEIVER = textwrap.dedent(
    """
    import sys
    import uvicorn
    taken = 0

    async def app(scope, receive, send):
        global taken
        if scope["type"] != "http":
            return
        if scope["path"] == "/count":
            body = str(taken).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        taken += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False, backlog=2048)
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, throwaway_postgres() as url:
        config = Path(folder) / "tambour.toml"
        config.write_text("[webhooks]\nallow_private_targets = true\n")
        env = {**os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_ACTOR": "bench",
               "TAMBOUR_CONFIG": str(config)}  # fmt: skip
        for command in (
            ["db", "upgrade"],
            ["advertiser", "create", "bench", "--name", "Bench SAS", "--sender", "BENCH",
             "--stop-number", "36111", "--categories", "luminaires"],
        ):  # fmt: skip
            subprocess.run([TAMBOUR, *command], env=env, check=True, capture_output=True)
        port = free_port()
        receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
        try:
            wait_for(f"http://127.0.0.1:{port}/count")
            subprocess.run(
                [TAMBOUR, "webhook", "create", "--advertiser", "bench",
                 "--url", f"http://127.0.0.1:{port}/hook"],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
            engine = make_engine(url)
            with engine.connect() as conn:
                advertiser_id = conn.execute(text("SELECT id FROM advertisers")).scalar_one()
            now = datetime.now(UTC)
            started = time.perf_counter()
            for start in range(0, args.events, 1000):
                with engine.begin() as conn:
                    webhooks.emit(
                        conn,
                        [
                            Event(advertiser_id, "message.delivered",
                                  {"message_id": i, "to": "+33612345678", "state": "delivered"})
                            for i in range(start, min(args.events, start + 1000))
                        ],
                        now,
                    )  # fmt: skip
            queued_in = time.perf_counter() - started
            print(f"{args.events:,} events queued in {queued_in:.1f} s (not timed below)")
            run = measured(["webhook", "deliver", "--until-idle", "--json"], env)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/count") as answer:
                taken = int(answer.read())
            with engine.connect() as conn:
                states = dict(
                    conn.execute(
                        select(webhook_deliveries.c.state, func.count()).group_by(
                            webhook_deliveries.c.state
                        )
                    ).all()
                )
                attempts = conn.execute(select(func.count()).select_from(webhook_attempts))
                attempt_count = attempts.scalar_one()
            engine.dispose()
        finally:
            receiver.terminate()
            receiver.wait()
    rate = args.events / run.wall
    print(
        f"PostgreSQL: {args.events:,} webhook deliveries in {run.wall:.1f} s = {rate:,.0f} a "
        f"second (target >= 1,000), deliverer peak memory {run.largest_mb:.0f} MB"
    )
    print(f"  receiver took {taken:,}; deliveries {states}; attempts {attempt_count:,}")
    ok = taken == args.events and states == {"delivered": args.events}
    ok = ok and attempt_count == args.events
    print("correct" if ok else "WRONG")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
