"""Where an import's time goes, per input row: preparing it in Python (parse, check, profile,
evidence JSON and fingerprints), pickling it between processes, and inserting it into SQLite.

Prints microseconds per row for each part on a generated canonical file (see contact_file.py).
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
from tambour.contacts.reader import read_records, sniff
from tambour.services.import_prepare import prepare
from tambour.services.importer import BATCH_ROWS, CONTACT_COLUMNS, EVIDENCE_COLUMNS
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
        started = time.perf_counter()
        records = list(read_records(path, fmt))
        per_row("reading records (csv, line numbers)", time.perf_counter() - started, rows)
        chunks = [records[i : i + BATCH_ROWS] for i in range(0, len(records), BATCH_ROWS)]
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        started = time.perf_counter()
        batches = [prepare(fmt, chunk, "sqlite", NOW) for chunk in chunks]
        per_row("preparing, cold caches", time.perf_counter() - started, rows)
        started = time.perf_counter()
        for chunk in chunks:
            prepare(fmt, chunk, "sqlite", NOW)
        per_row("preparing, warm caches (repeated dates)", time.perf_counter() - started, rows)
        started = time.perf_counter()
        sent = [pickle.dumps((fmt, c), pickle.HIGHEST_PROTOCOL) for c in chunks]
        back = [pickle.dumps(b, pickle.HIGHEST_PROTOCOL) for b in batches]
        [pickle.loads(x) for x in sent + back]
        per_row("pickling records out and batches back", time.perf_counter() - started, rows)

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
        started = time.perf_counter()
        for batch in batches:
            contacts, events = [], []
            for row in batch.rows:
                contact_id = next(ids)
                contacts.append((contact_id, 1, row.e164, row.kind or "person", row.profile_json,
                                 row.profile_hash, stamp, stamp))  # fmt: skip
                events += [(1, contact_id, e[0], e[1], e[2], e[3], "bench", stamp, "bench")
                           for e in row.events]  # fmt: skip
            con.execute("BEGIN")
            con.executemany(contact_sql, contacts)
            con.executemany(evidence_sql, events)
            con.execute("COMMIT")
        per_row("SQLite inserts (contact + its evidence)", time.perf_counter() - started, rows)
        con.close()


if __name__ == "__main__":
    main()
