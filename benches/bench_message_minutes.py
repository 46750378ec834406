"""What the outbox's triggers (migration 0016: message_minutes, the counts the dashboard and a live
campaign's chart read) cost the worker's writes, on SQLite and PostgreSQL.

The worker's three writes of a message are played on N outbox rows, in batches of BATCH, with
the statements the worker runs (store/bulk.update_rows, as services/outbox.py calls it): the
claim (queued to submitting), the carrier's answer (submitted, with its instant) and the
receipt (delivered or failed, with its instant). Once with the triggers, once on the same
schema with them dropped, twice each in turn; the best of each is printed, in microseconds a
message, with the triggers' share. Then the counts kept are checked against the outbox.
PostgreSQL: throw-away databases on 127.0.0.1:5432, dropped afterwards.
Usage: python benches/bench_message_minutes.py [--messages N] [--only sqlite|postgresql]
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, text

sys.path.insert(0, str(Path(__file__).parent))
from measure import throwaway_postgres
from tambour.store import schema
from tambour.store.bulk import adapt_datetime, update_rows
from tambour.store.engine import make_engine
from tambour.store.tables import message_minutes, outbox

BATCH = 256  # about a flush of the worker at full speed
CAMPAIGNS = 4
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _fill(engine: Engine, count: int) -> None:
    at = START
    rows = [
        {
            "advertiser_id": 1, "campaign_id": 1 + n % CAMPAIGNS, "contact_id": n,
            "e164": f"+3361{n:07d}", "sender": "BENCH", "text": "Bonjour STOP 36111",
            "encoding": "gsm7", "parts": 1, "send_at": at, "state": "queued", "attempts": 0,
            "created_at": at, "updated_at": at,
        }
        for n in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        for first in range(0, count, 10_000):
            conn.execute(outbox.insert(), rows[first : first + 10_000])


def _drop_triggers(engine: Engine) -> None:
    postgresql = engine.dialect.name == "postgresql"
    listed = (
        "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'outbox_minutes_%'"
        if postgresql
        else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        " AND name LIKE 'outbox_minutes_%'"
    )
    with engine.begin() as conn:
        for name in conn.execute(text(listed)).scalars().all():
            conn.execute(text(f"DROP TRIGGER {name}" + (" ON outbox" if postgresql else "")))


def _play(engine: Engine, count: int) -> dict[str, float]:
    """Seconds each write took for all the messages, batch after batch."""
    spent = dict.fromkeys(("claim", "submitted", "receipt"), 0.0)
    with engine.connect() as conn:
        ids = conn.execute(select(outbox.c.id).order_by(outbox.c.id)).scalars().all()
    with engine.connect() as conn:
        for first in range(0, count, BATCH):
            batch = ids[first : first + BATCH]
            now = START + timedelta(seconds=first // 50)  # 50 messages a second
            at = adapt_datetime(conn, now)
            started = time.perf_counter()
            with conn.begin():
                update_rows(
                    conn, "outbox", ("id",), ("lease_owner",), [(i, "w1") for i in batch],
                    where="{t}.state = 'queued'",
                    same={"state": "submitting", "lease_until": at, "updated_at": at},
                )  # fmt: skip
            claimed = time.perf_counter()
            with conn.begin():
                update_rows(
                    conn, "outbox", ("id", "lease_owner"), ("submitted_at",),
                    [(i, "w1", at) for i in batch], where="{t}.state = 'submitting'",
                    same={"state": "submitted", "updated_at": at, "lease_until": None},
                )  # fmt: skip
            submitted = time.perf_counter()
            later = adapt_datetime(conn, now + timedelta(seconds=20))
            with conn.begin():
                update_rows(
                    conn, "outbox", ("id",), ("state",),
                    [(i, "failed" if i % 10 == 0 else "delivered") for i in batch],
                    where="{t}.state = 'submitted'", same={"done_at": later, "updated_at": later},
                )  # fmt: skip
            done = time.perf_counter()
            spent["claim"] += claimed - started
            spent["submitted"] += submitted - claimed
            spent["receipt"] += done - submitted
    return spent


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            outbox.update().values(
                state="queued", submitted_at=None, done_at=None, lease_owner=None
            )
        )
        conn.execute(message_minutes.delete())


def _counted(engine: Engine) -> tuple[int, int, int]:
    c = message_minutes.c
    with engine.connect() as conn:
        sent, delivered, failed = conn.execute(
            select(func.sum(c.sent), func.sum(c.delivered), func.sum(c.failed))
        ).one()
    return int(sent or 0), int(delivered or 0), int(failed or 0)


@contextmanager
def _databases(backend: str, folder: Path) -> Iterator[tuple[str, str]]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'with.db'}", f"sqlite:///{folder / 'without.db'}"
        return
    with throwaway_postgres() as first, throwaway_postgres() as second:
        yield first, second


def bench(backend: str, count: int, folder: Path) -> bool:
    with _databases(backend, folder) as (with_url, without_url):
        engines = {"with": make_engine(with_url), "without": make_engine(without_url)}
        try:
            for engine in engines.values():
                schema.upgrade(engine)
                _fill(engine, count)
            _drop_triggers(engines["without"])
            best: dict[str, dict[str, float]] = {}
            for run in range(2):
                for name, engine in engines.items():
                    if run:
                        _reset(engine)
                    spent = _play(engine, count)
                    kept = best.setdefault(name, spent)
                    for step, seconds in spent.items():
                        kept[step] = min(kept[step], seconds)
            counted = _counted(engines["with"])
        finally:
            for engine in engines.values():
                engine.dispose()
    failed = count // 10 + (1 if count % 10 else 0)
    expected = (count, count - failed, failed)
    for step in ("claim", "submitted", "receipt"):
        with_us = best["with"][step] / count * 1e6
        without_us = best["without"][step] / count * 1e6
        print(
            f"  {step:>9}: {with_us:6.1f} µs a message with the triggers, {without_us:6.1f} "
            f"without ({(with_us - without_us) / without_us:+.0%})"
        )
    total_with = sum(best["with"].values()) / count * 1e6
    total_without = sum(best["without"].values()) / count * 1e6
    print(
        f"  all three: {total_with:6.1f} µs a message with, {total_without:6.1f} without: "
        f"{total_with - total_without:+.1f} µs a message"
    )
    print(f"  counts kept (sent, delivered, failed): {counted}, expected {expected}")
    return counted == expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("sqlite", "postgresql"):
            if args.only in (None, backend):
                print(f"{'SQLite (WAL)' if backend == 'sqlite' else 'PostgreSQL'}, "
                      f"{args.messages:,} messages in batches of {BATCH}")  # fmt: skip
                ok &= bench(backend, args.messages, Path(tmp))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
