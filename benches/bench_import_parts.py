"""Where an import's CPU goes, per input row: reading the file, preparing rows in Python (parse,
check, profile, evidence JSON and fingerprints) by the reference path and by the fast path,
pickling prepared batches between processes, and inserting them into SQLite.

Prints CPU microseconds per row (process time: the figures hold on a busy machine) for each
part on a generated canonical file (see contact_file.py). An import at N rows/s on 2 cores has
2,000,000 / N us of CPU a row for all of its processes and the database's.
Usage: python benches/bench_import_parts.py [ROWS]
"""

import gc
import itertools
import pickle
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from contact_file import write
from tambour.contacts.reader import read_batches, sniff
from tambour.services.import_prepare import prepare
from tambour.services.importer import BATCH_ROWS, CONTACT_COLUMNS
from tambour.services.ledger_writes import EVIDENCE_COLUMNS
from tambour.store.engine import make_engine
from tambour.store.schema import upgrade

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def per_row(label: str, seconds: float, rows: int) -> None:
    print(f"{label:44} {seconds / rows * 1e6:7.1f} us/row")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "contacts.csv", rows)
        fmt = sniff(path)
        gc.set_threshold(100_000, 50, 100)  # as the importer sets it
        started = time.process_time()
        chunks = list(read_batches(path, fmt, BATCH_ROWS))
        per_row("reading records (csv, line numbers)", time.process_time() - started, rows)
        gc.freeze()  # what is kept for the next steps is not rescanned by them
        started = time.process_time()
        for _ in read_batches(path, fmt, BATCH_ROWS, (1, 2)):
            pass
        per_row("reading, one batch in two kept", time.process_time() - started, rows)
        for dialect in ("sqlite", "postgresql"):
            started = time.process_time()
            for chunk in chunks:
                prepare(fmt, chunk, dialect, NOW, fast=False)
            per_row(f"preparing, reference path ({dialect})", time.process_time() - started, rows)
            started = time.process_time()
            batches = [prepare(fmt, chunk, dialect, NOW) for chunk in chunks]
            per_row(f"preparing, fast path, cold ({dialect})", time.process_time() - started, rows)
            started = time.process_time()
            for chunk in chunks:
                prepare(fmt, chunk, dialect, NOW)
            per_row(f"preparing, fast path, warm ({dialect})", time.process_time() - started, rows)
            started = time.process_time()
            for batch in batches:
                pickle.loads(pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
            per_row(f"pickling batches, both ways ({dialect})", time.process_time() - started, rows)
        batches = [prepare(fmt, chunk, "sqlite", NOW) for chunk in chunks]
        gc.freeze()

        database = Path(tmp) / "parts.db"
        engine = make_engine(f"sqlite:///{database}")
        upgrade(engine)
        engine.dispose()
        con = sqlite3.connect(database, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            con.execute(f"PRAGMA {pragma}")
        con.execute(
            "INSERT INTO advertisers (id, slug, name, categories, hash_key, created_at) "
            "VALUES (1, 'b', 'B', '[]', x'00', '2026-01-01 00:00:00.000000')"
        )
        stamp = "2026-11-28 00:00:00.000000"
        contact_sql = _insert("contacts", CONTACT_COLUMNS)
        evidence_sql = _insert("evidence", EVIDENCE_COLUMNS)
        ids = itertools.count(1)
        started = time.process_time()
        for batch in batches:
            contacts, events = [], []
            for e164, kind, profile_json, digest, prepared in batch.rows:
                contact_id = next(ids)
                contacts.append((contact_id, 1, e164, kind or "person", profile_json, digest,
                                 stamp, stamp))  # fmt: skip
                events += [(1, contact_id, e[0], e[1], e[2], e[3], "bench", stamp, "bench")
                           for e in prepared]  # fmt: skip
            con.execute("BEGIN")
            con.executemany(contact_sql, contacts)
            con.executemany(evidence_sql, events)
            con.execute("COMMIT")
        per_row("SQLite inserts (contact + its evidence)", time.process_time() - started, rows)
        con.close()


if __name__ == "__main__":
    main()
