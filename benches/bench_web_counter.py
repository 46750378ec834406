"""The campaign editor's live counter (issue 16): the server time of `POST
/a/{slug}/campaigns/counter`, the htmx request sent as the marketer types (target: under 50 ms).

A `tambour serve` on a throw-away PostgreSQL database (or SQLite with `--sqlite`), one
advertiser with `--contacts` contacts and a marketer's account; the bench logs in through the
login form, then sends `--requests` counter requests one after the other, as typing does: the
text grows a few characters a request (a curly apostrophe now and then, which turns it UCS-2,
and personalization fields), every other request with the phone preview of one of the latest
contacts. Each answer must be a 200 fragment. The server time is the access log's
`duration_ms` of each request (the server's own measure, from the first byte in to the last
out); the round trip is the client's, on the same machine. Median and 95th percentile of both.

Usage: python benches/bench_web_counter.py [--requests 400] [--contacts 1000] [--sqlite]
"""

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from measure import TAMBOUR, throwaway_postgres

TARGET_MS = 50.0
SLUG = "maison-lumiere"
EMAIL = "marketer@maison-lumiere.fr"
PASSWORD = "Lampadaire-bleu-2026"
ROUTE = "/a/{slug}/campaigns/counter"
WORDS = (
    "Maison Lumière : -20% sur nos luminaires ce week-end, {first_name|chers clients} ! "
    "Venez découvrir la collection d’hiver, « Lueurs », en boutique ou sur le site : "
    "lampes, suspensions et appliques jusqu’à dimanche. "
)


def tambour(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [TAMBOUR, *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"tambour {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def prepare(env: dict[str, str], contacts: int, folder: Path) -> None:
    tambour(env, "db", "upgrade")
    tambour(
        env, "advertiser", "create", SLUG, "--name", "Maison Lumière SAS",
        "--sender", "MLUMIERE", "--stop-number", "36111", "--categories", "luminaires",
    )  # fmt: skip
    tambour(env, "user", "create", EMAIL, "--role", "marketer", "--advertiser", SLUG,
            "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    path = folder / "contacts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "first_name", "postal_code", "consent", "consent_at",
                         "consent_method", "ville"])  # fmt: skip
        for index in range(contacts):
            writer.writerow([f"+336{10_000_000 + index:08d}", f"Léa{index % 7}", "75011",
                             "oui", "2026-01-05", "web_form", "Lyon"])  # fmt: skip
    tambour(env, "contacts", "import", str(path), "--advertiser", SLUG)


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """`tambour serve --port 0`, its JSON access log in `log`: its URL and process id once it
    answers."""
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [TAMBOUR, "serve", "--port", "0", "--log-level", "info"],
            env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split("listening on ", 1)[1].split()[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not answer")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(30)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def logged_in(url: str) -> tuple[httpx.Client, str]:
    """A client logged in through the login form, and the CSRF token of the editor's page."""
    client = httpx.Client(base_url=url, timeout=30)
    token = _CSRF.search(client.get("/login").text)
    assert token, "no login form"
    done = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if done.status_code != 303:
        raise SystemExit(f"login refused: {done.status_code}")
    editor = client.get(f"/a/{SLUG}/campaigns/new")
    found = _CSRF.search(editor.text)
    assert editor.status_code == 200 and found, "no editor"
    return client, found.group(1)


def cpu_seconds(pid: int) -> float:
    """The CPU time the process has used so far (user and system), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def contact_ids(page: str) -> list[str]:
    return re.findall(r'<option value="(\d+)">', page)


def typing(requests: int) -> Iterator[str]:
    """The text as typed: a few more characters each time, from the start again when long."""
    text = WORDS * 4
    step = 3
    for index in range(requests):
        end = (index * step) % len(text) + 1
        yield text[:end]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    with TemporaryDirectory() as folder, _database(args.sqlite, Path(folder)) as db_url:
        env = {
            **os.environ, "TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_ACTOR": "bench",
            "TAMBOUR_KEY_FILE": str(Path(folder) / "secret.key"),
        }  # fmt: skip
        env.pop("TAMBOUR_SECRET_KEY", None)
        prepare(env, args.contacts, Path(folder))
        log = Path(folder) / "serve.log"
        with server(env, log) as (url, pid):
            client, token = logged_in(url)
            ids = contact_ids(client.get(f"/a/{SLUG}/campaigns/new").text)
            path = f"/a/{SLUG}/campaigns/counter"
            round_trips: list[float] = []
            for index, text in enumerate(typing(args.requests + 20)):
                form = {"name": "", "nature": "commercial", "channel": "sms",
                        "sender": "MLUMIERE", "text": text, "csrf_token": token}  # fmt: skip
                if index % 2 and ids:
                    form["preview_contact"] = ids[index // 2 % len(ids)]
                began = time.perf_counter()
                answer = client.post(path, data=form, headers={"HX-Request": "true"})
                took = (time.perf_counter() - began) * 1000
                if answer.status_code != 200 or "counter-details" not in answer.text:
                    raise SystemExit(f"the counter answered {answer.status_code}")
                if index == 19:  # the first ones warm the caches up
                    cpu_before = cpu_seconds(pid)
                if index >= 20:
                    round_trips.append(took)
            cpu = (cpu_seconds(pid) - cpu_before) * 1000 / args.requests
            client.close()
        served = [
            entry["duration_ms"]
            for entry in map(json.loads, filter(None, log.read_text().splitlines()))
            if entry.get("event") == "http_request" and entry.get("route") == ROUTE
        ][20:]
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    median, p95 = statistics.median(served), percentile(served, 0.95)
    trip_median, trip_p95 = statistics.median(round_trips), percentile(round_trips, 0.95)
    verdict = "OK" if p95 < TARGET_MS else "OVER"
    print(
        f"POST {ROUTE} on {backend}, {len(served)} requests, {args.contacts:,} contacts: "
        f"server time median {median:.1f} ms, p95 {p95:.1f} ms (target < {TARGET_MS:.0f} ms: "
        f"{verdict}); round trip median {trip_median:.1f} ms, p95 {trip_p95:.1f} ms; "
        f"the server's CPU {cpu:.1f} ms a request; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    print(json.dumps({
        "route": ROUTE, "backend": backend, "requests": len(served), "contacts": args.contacts,
        "server_ms": {"median": round(median, 2), "p95": round(p95, 2)},
        "round_trip_ms": {"median": round(trip_median, 2), "p95": round(trip_p95, 2)},
        "server_cpu_ms": round(cpu, 2), "load_average": os.getloadavg()[0],
        "target_ms": TARGET_MS,
    }))  # fmt: skip
    if p95 >= TARGET_MS:
        raise SystemExit(1)


@contextmanager
def _database(sqlite: bool, folder: Path) -> Iterator[str]:
    if sqlite:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    with throwaway_postgres() as url:
        yield url


if __name__ == "__main__":
    main()
