"""Hosted consent form submissions against a real `tambour serve` (issue 17), on SQLite and
PostgreSQL: each is a POST of the no-JavaScript form with a ticked box and a fresh number,
checked to be answered 200 with the thanks page (so: the anti-bot token checked, the number
parsed, the facts written through the importer's path with their seals, the submission row
and two audit entries). Prints submissions a second and the p50/p95 latency.

The anti-bot limits are raised out of the way (TAMBOUR_FORM_MIN_FILL=0, TAMBOUR_FORM_RATE);
the load comes from `--threads` keep-alive httpx clients in this process (they cost CPU too:
the figure is a floor on this 2-core machine).

Usage: python benches/bench_forms.py [--seconds 8] [--threads 8] [--backend sqlite,postgresql]
"""

import argparse
import os
import re
import sys
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_api import server, tambour
from measure import throwaway_postgres

SLUG = "maison-lumiere"


def run(url: str, seconds: float, threads: int, folder: Path) -> None:
    env = {
        **os.environ, "TAMBOUR_DATABASE_URL": url, "TAMBOUR_FORM_MIN_FILL": "0",
        "TAMBOUR_FORM_RATE": "1000000", "TAMBOUR_FORM_BURST": "1000000",
        "TAMBOUR_FILES_DIR": str(folder / "files"),
    }  # fmt: skip
    tambour(env, "db", "upgrade")
    tambour(env, "advertiser", "create", SLUG, "--name", "Maison Lumière SAS", "--sender",
            "MLUMIERE", "--stop-number", "36111")  # fmt: skip
    tambour(env, "form", "create", "club", "--advertiser", SLUG)
    latencies: list[float] = []
    failures: list[int] = []
    with server(env, 1) as (port, _pid):
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + seconds

        def load(index: int) -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                page = client.get(f"/f/{SLUG}/club").text
                started = re.search(r'name="started" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                n = 0
                while time.monotonic() < deadline:
                    number = f"+336{20_000_000 + index * 1_000_000 + n:08d}"
                    n += 1
                    began = time.perf_counter()
                    answer = client.post(
                        f"/f/{SLUG}/club",
                        data={"number": number, "purpose": "sms", "started": started},
                    )
                    latencies.append(time.perf_counter() - began)
                    if answer.status_code != 200 or "Merci" not in answer.text:
                        failures.append(answer.status_code)

        began = time.monotonic()
        workers = [threading.Thread(target=load, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.monotonic() - began
    latencies.sort()
    done = len(latencies)
    p50 = latencies[done // 2] * 1000 if done else 0
    p95 = latencies[int(done * 0.95)] * 1000 if done else 0
    print(f"  {done / elapsed:,.0f} submissions/s ({done} in {elapsed:.1f} s), p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms, failures {len(failures)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        print(f"{backend}:")
        with TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if backend == "sqlite":
                run(f"sqlite:///{folder / 'bench.db'}", args.seconds, args.threads, folder)
            else:
                with throwaway_postgres() as url:
                    run(url, args.seconds, args.threads, folder)


if __name__ == "__main__":
    main()
