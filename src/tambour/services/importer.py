"""`contacts import`: an advertiser's contact file into the evidence ledger, streamed in batches.

Each batch is one transaction: a crash loses at most the batch under way, never what was
accepted before it. A row with any invalid field goes whole to the rejects file. Facts already
recorded are recognised by their fingerprint, so re-importing a file adds nothing; two notations
of one number are one contact. A dry run does all of it in one transaction rolled back at the end.
"""

import gc
import hashlib
import hmac
import itertools
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tambour.contacts.ledger import canonical_json
from tambour.contacts.reader import (
    FileFormat,
    RejectsWriter,
    default_rejects_path,
    load_mapping,
    read_records,
    sniff,
)
from tambour.rules.codes import OptOutSource
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.context import Context, ServiceError
from tambour.services.import_prepare import PreparedBatch, PreparedEvent, PreparedRow, prepare
from tambour.store.bulk import adapt_datetime, insert_rows, reserve_ids
from tambour.store.tables import suppressions

BATCH_ROWS = 5000
EVIDENCE_COLUMNS = (
    "advertiser_id", "contact_id", "kind", "occurred_at", "data", "fingerprint", "source",
    "recorded_at", "recorded_by",
)  # fmt: skip
CONTACT_COLUMNS = (
    "id", "advertiser_id", "e164", "kind", "profile", "profile_hash", "created_at", "updated_at"
)  # fmt: skip


@dataclass
class ImportSummary:
    file: str
    dry_run: bool
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    evidence_added: int = 0
    suppressed: int = 0
    rejects_path: str | None = None
    interrupted: str | None = None  # the error that stopped the import half-way
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "dry_run": self.dry_run,
            "format": {"encoding": self.encoding, "delimiter": self.delimiter},
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
            "evidence_added": self.evidence_added,
            "suppressed": self.suppressed,
            "rejects_file": self.rejects_path,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
        }


def _audited(summary: ImportSummary) -> dict[str, Any]:
    """The summary as the audit log keeps it: no timing, no phone number in a file name."""
    details = {k: v for k, v in summary.as_dict().items() if k != "seconds"}
    details["file"] = audit.without_phones(summary.file)
    if summary.rejects_path:
        details["rejects_file"] = audit.without_phones(summary.rejects_path)
    return details


def phone_hash(advertiser: Advertiser, e164: str) -> bytes:
    """The suppression-list key of a number: HMAC-SHA256 under the advertiser's own key."""
    return hmac.new(advertiser.hash_key, e164.encode(), hashlib.sha256).digest()


def record_suppressions(
    conn: Connection,
    advertiser: Advertiser,
    entries: list[tuple[str, str, datetime]],
    now: datetime,
) -> None:
    """Add (e164, source, at) to the suppression list. A number already there keeps its entry,
    except that a 33700 report turns it into a complaint (which no later consent lifts)."""
    if not entries:
        return
    complaint = OptOutSource.COMPLAINT_33700.value
    merged: dict[str, tuple[str, datetime]] = {}  # one row a number: one statement may not
    for e164, source, at in entries:  # touch a row twice; a complaint wins, then the latest
        seen = merged.get(e164)
        if (
            seen is None
            or (source == complaint) > (seen[0] == complaint)
            or ((source == complaint) == (seen[0] == complaint) and at > seen[1])
        ):
            merged[e164] = (source, at)
    values = [
        {
            "advertiser_id": advertiser.id,
            "phone_hash": phone_hash(advertiser, e164),
            "source": source,
            "suppressed_at": at,
            "recorded_at": now,
        }
        for e164, (source, at) in merged.items()
    ]
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(suppressions)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[suppressions.c.advertiser_id, suppressions.c.phone_hash],
            set_={"source": complaint, "suppressed_at": statement.excluded.suppressed_at},
            where=(statement.excluded.source == complaint) & (suppressions.c.source != complaint),
        ),
        values,
    )


@dataclass
class _Pending:
    """One contact of the batch being written: its state as the rows so far leave it."""

    id: int | None
    kind: str
    profile_json: str | None  # None: unchanged since read from the database
    profile_hash: bytes
    known: set[bytes]
    new_events: list[PreparedEvent] = field(default_factory=list)
    changed: bool = False


def _write_batch(
    conn: Connection,
    advertiser: Advertiser,
    rows: list[PreparedRow],
    summary: ImportSummary,
    *,
    source: str,
    actor: str,
    now: datetime,
) -> None:
    if conn.dialect.name == "postgresql":  # one importer per advertiser at a time
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock(1, {int(advertiser.id)})")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    lookups = _LOOKUPS[conn.dialect.name]
    numbers = list({row.e164 for row in rows})
    existing: dict[str, _Pending] = {}
    cursor.execute(lookups["contacts"], (advertiser.id, _id_list(conn, numbers)))
    for contact_id, e164, kind, digest in cursor.fetchall():
        existing[e164] = _Pending(contact_id, kind, None, bytes(digest), set())
    by_id = {p.id: p for p in existing.values()}
    if by_id:
        cursor.execute(lookups["evidence"], (advertiser.id, _id_list(conn, list(by_id))))
        for contact_id, print_ in cursor.fetchall():
            by_id[contact_id].known.add(bytes(print_))

    batch: dict[str, _Pending] = dict(existing)
    fresh: list[str] = []
    for row in rows:
        pending = batch.get(row.e164)
        if pending is None:  # a new contact: every event is new
            pending = _Pending(
                None, row.kind, row.profile_json, row.profile_hash,
                {e[3] for e in row.events}, list(row.events), changed=True,
            )  # fmt: skip
            batch[row.e164] = pending
            fresh.append(row.e164)
            summary.created += 1
            continue
        changed = pending.profile_hash != row.profile_hash
        if changed:
            pending.kind, pending.profile_hash = row.kind, row.profile_hash
            pending.profile_json = row.profile_json
        for event in row.events:
            if event[3] not in pending.known:
                pending.known.add(event[3])
                pending.new_events.append(event)
                changed = True
        if changed:
            pending.changed = True
            summary.updated += 1
        else:
            summary.unchanged += 1

    ids = reserve_ids(conn, "contacts", len(fresh))
    stamp = adapt_datetime(conn, now)
    new_rows = []
    for contact_id, e164 in zip(ids, fresh, strict=True):
        pending = batch[e164]
        pending.id = contact_id
        new_rows.append(
            (contact_id, advertiser.id, e164, pending.kind, pending.profile_json,
             pending.profile_hash, stamp, stamp)
        )  # fmt: skip
    insert_rows(conn, "contacts", CONTACT_COLUMNS, new_rows)
    rewritten = [p for p in existing.values() if p.changed]
    profiles = [
        {"id": p.id, "kind": p.kind, "profile": p.profile_json, "hash": p.profile_hash,
         "now": stamp}
        for p in rewritten if p.profile_json is not None
    ]  # fmt: skip
    if profiles:
        cursor.executemany(_UPDATE_PROFILE[conn.dialect.name], profiles)
    touched = [{"id": p.id, "now": stamp} for p in rewritten if p.profile_json is None]
    if touched:
        cursor.executemany(_TOUCH[conn.dialect.name], touched)
    events = []
    opposed: list[tuple[str, str, datetime]] = []
    for e164, pending in batch.items():
        for kind, at, data_json, fingerprint, opposition in pending.new_events:
            events.append(
                (advertiser.id, pending.id, kind, at, data_json, fingerprint, source, stamp, actor)
            )
            if opposition is not None:
                opposed.append((e164, opposition[0], opposition[1] or now))
    insert_rows(conn, "evidence", EVIDENCE_COLUMNS, events)
    record_suppressions(conn, advertiser, opposed, now)
    summary.evidence_added += len(events)
    summary.suppressed += len(opposed)


# Batch look-ups with the whole list as one parameter (no statement of 5,000 placeholders).
_LOOKUPS = {
    "sqlite": {
        "contacts": "SELECT id, e164, kind, profile_hash FROM contacts WHERE advertiser_id = ? "
        "AND e164 IN (SELECT value FROM json_each(?))",
        "evidence": "SELECT contact_id, fingerprint FROM evidence WHERE advertiser_id = ? "
        "AND contact_id IN (SELECT value FROM json_each(?))",
    },
    "postgresql": {
        "contacts": "SELECT id, e164, kind, profile_hash FROM contacts WHERE advertiser_id = %s "
        "AND e164 = ANY(%s)",
        "evidence": "SELECT contact_id, fingerprint FROM evidence WHERE advertiser_id = %s "
        "AND contact_id = ANY(%s)",
    },
}


def _id_list(conn: Connection, values: list[Any]) -> Any:
    return canonical_json(values) if conn.dialect.name == "sqlite" else values


_UPDATE_PROFILE = {
    "sqlite": "UPDATE contacts SET kind = :kind, profile = :profile, profile_hash = :hash, "
    "updated_at = :now WHERE id = :id",
    "postgresql": "UPDATE contacts SET kind = %(kind)s, profile = %(profile)s, "
    "profile_hash = %(hash)s, updated_at = %(now)s WHERE id = %(id)s",
}
_TOUCH = {
    "sqlite": "UPDATE contacts SET updated_at = :now WHERE id = :id",
    "postgresql": "UPDATE contacts SET updated_at = %(now)s WHERE id = %(id)s",
}
PARALLEL_FROM_BYTES = 2_000_000  # smaller files are prepared in this process
IN_FLIGHT = 3  # batches handed to workers ahead of the one being written (bounds memory)


@contextmanager
def _few_collections() -> Iterator[None]:
    """An import allocates millions of short-lived, acyclic objects: the cyclic collector's
    default thresholds would rescan the heap every 700 of them. Raise them for the duration."""
    saved = gc.get_threshold()
    gc.freeze()  # what exists now (modules, caches) is never rescanned
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()


def _worker_start() -> None:
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def _prepared_batches(
    path: Path, fmt: FileFormat, workers: int, dialect: str
) -> Iterator[PreparedBatch]:
    """The file's batches, prepared in order; by `workers` processes when asked."""
    records = read_records(path, fmt)
    chunks = iter(lambda: list(itertools.islice(records, BATCH_ROWS)), [])
    if workers <= 0:
        for chunk in chunks:
            yield prepare(fmt, chunk, dialect)
        return
    with multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start) as pool:
        pending: deque[AsyncResult[PreparedBatch]] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(prepare, (fmt, chunk, dialect)))
            if len(pending) > IN_FLIGHT:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def default_workers(path: Path) -> int:
    """Worker processes for a file: none for a small one, else one per core but one."""
    if path.stat().st_size < PARALLEL_FROM_BYTES:
        return 0
    return max(1, (os.cpu_count() or 1) - 1)


def import_contacts(
    ctx: Context,
    *,
    slug: str,
    path: Path,
    mapping_path: Path | None = None,
    dry_run: bool = False,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Import a contact file for one advertiser; returns what happened to every row."""
    started = time.perf_counter()
    mapping = load_mapping(mapping_path) if mapping_path else None
    fmt = sniff(path, mapping)
    summary = ImportSummary(
        file=path.name, dry_run=dry_run, encoding=fmt.encoding, delimiter=fmt.delimiter
    )
    rejects_target = rejects_path or default_rejects_path(path)
    if rejects_target.resolve() == path.resolve():
        raise ServiceError(f"--rejects: {rejects_target} is the file being imported")
    if not rejects_target.parent.is_dir():
        raise ServiceError(f"--rejects: the folder {rejects_target.parent} does not exist")
    source = f"import:{audit.without_phones(path.name)}"
    now = ctx.now()
    workers = default_workers(path) if workers is None else workers
    with (
        _few_collections(),
        ctx.engine.connect() as conn,
        RejectsWriter(rejects_target, fmt) as rejects,
    ):
        dry = conn.begin() if dry_run else None  # one transaction, rolled back at the end

        def step() -> Any:
            return nullcontext() if dry_run else conn.begin()

        with step():
            advertiser = advertisers.get(conn, slug)
        try:
            for prepared in _prepared_batches(path, fmt, workers, conn.dialect.name):
                for problems in prepared.rejects:
                    rejects.write(problems)
                with step():
                    _write_batch(
                        conn, advertiser, prepared.rows, summary, source=source,
                        actor=ctx.actor, now=now,
                    )  # fmt: skip
                summary.rows += len(prepared.rows) + len(prepared.rejects)
                if progress:
                    progress(prepared.records)
        except BaseException as error:
            summary.interrupted = type(error).__name__
            raise
        finally:
            summary.rejected = rejects.count
            summary.rejected_by_reason = Counter(rejects.by_reason)
            summary.rejects_path = str(rejects_target) if rejects.count else None
            summary.seconds = time.perf_counter() - started
            if dry is not None:
                dry.rollback()
            else:  # what was accepted is recorded, also when the import stopped half-way
                if conn.in_transaction():
                    conn.rollback()
                with conn.begin():
                    audit.append(
                        conn,
                        actor=ctx.actor,
                        action="contacts.import",
                        advertiser_id=advertiser.id,
                        details=_audited(summary),
                        at=now,
                    )
    return summary
