"""`contacts import`: an advertiser's contact file into the evidence ledger, streamed in batches.

Each batch is one transaction: a crash loses at most the batch under way, never what was
accepted before it. A row with any invalid field goes whole to the rejects file. Facts already
recorded are recognised by their fingerprint, so re-importing a file adds nothing; two notations
of one number are one contact. A dry run does all of it in one transaction rolled back at the end.
"""

import hashlib
import hmac
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tambour.contacts.ledger import Evidence, EvidenceKind, evidence_of, profile_hash, profile_of
from tambour.contacts.reader import (
    RejectsWriter,
    default_rejects_path,
    load_mapping,
    read_contacts,
    sniff,
)
from tambour.contacts.row import CanonicalRow
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.context import Context
from tambour.store.bulk import adapt_datetime, adapt_json, insert_rows, reserve_ids
from tambour.store.tables import contacts, evidence, suppressions

BATCH_ROWS = 5000
EVIDENCE_COLUMNS = (
    "advertiser_id", "contact_id", "kind", "occurred_at", "data", "fingerprint", "source",
    "recorded_at", "recorded_by",
)  # fmt: skip
CONTACT_COLUMNS = (
    "id", "advertiser_id", "e164", "kind", "profile", "profile_hash", "created_at", "updated_at"
)  # fmt: skip
OPPOSITION_KINDS = frozenset({EvidenceKind.OPT_OUT, EvidenceKind.COMPLAINT})


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


def phone_hash(advertiser: Advertiser, e164: str) -> bytes:
    """The suppression-list key of a number: HMAC-SHA256 under the advertiser's own key."""
    return hmac.new(advertiser.hash_key, e164.encode(), hashlib.sha256).digest()


def record_suppressions(
    conn: Connection,
    advertiser: Advertiser,
    entries: list[tuple[str, str, datetime]],
    now: datetime,
) -> None:
    """Add (e164, source, at) to the suppression list; a number already there keeps its entry."""
    if not entries:
        return
    values = [
        {
            "advertiser_id": advertiser.id,
            "phone_hash": phone_hash(advertiser, e164),
            "source": source,
            "suppressed_at": at,
            "recorded_at": now,
        }
        for e164, source, at in entries
    ]
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect_insert(suppressions).on_conflict_do_nothing(), values)


@dataclass
class _Pending:
    """One contact of the batch being written: its state as the rows so far leave it."""

    id: int | None
    kind: str
    profile: dict[str, Any]
    profile_hash: bytes
    known: set[bytes]
    new_events: list[Evidence] = field(default_factory=list)
    changed: bool = False


def _write_batch(
    conn: Connection,
    advertiser: Advertiser,
    rows: list[CanonicalRow],
    summary: ImportSummary,
    *,
    source: str,
    actor: str,
    now: datetime,
) -> None:
    if conn.dialect.name == "postgresql":  # one importer per advertiser at a time
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock(1, {int(advertiser.id)})")
    numbers = list({row.phone.e164 for row in rows if row.phone.e164})
    existing: dict[str, _Pending] = {}
    for found in conn.execute(
        select(contacts.c.id, contacts.c.e164, contacts.c.kind, contacts.c.profile,
               contacts.c.profile_hash)
        .where(contacts.c.advertiser_id == advertiser.id, contacts.c.e164.in_(numbers))
    ):  # fmt: skip
        existing[found.e164] = _Pending(
            found.id, found.kind, found.profile, found.profile_hash, set()
        )
    by_id = {p.id: p for p in existing.values()}
    if by_id:
        for contact_id, print_ in conn.execute(
            select(evidence.c.contact_id, evidence.c.fingerprint).where(
                evidence.c.advertiser_id == advertiser.id, evidence.c.contact_id.in_(list(by_id))
            )
        ):
            by_id[contact_id].known.add(print_)

    batch: dict[str, _Pending] = dict(existing)
    fresh: list[str] = []
    for row in rows:
        e164 = row.phone.e164
        assert e164 is not None  # the reader rejects invalid numbers
        profile = profile_of(row)
        digest = profile_hash(row.kind, profile)
        pending = batch.get(e164)
        if pending is None:
            pending = _Pending(None, row.kind.value, profile, digest, set(), changed=True)
            batch[e164] = pending
            fresh.append(e164)
            summary.created += 1
            first, changed = True, True
        else:
            first = False
            changed = pending.profile_hash != digest
            if changed:
                pending.kind, pending.profile, pending.profile_hash = (
                    row.kind.value,
                    profile,
                    digest,
                )
        for event in evidence_of(row):
            fingerprint = event.fingerprint
            if fingerprint not in pending.known:
                pending.known.add(fingerprint)
                pending.new_events.append(event)
                changed = True
        if not first:
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
            (contact_id, advertiser.id, e164, pending.kind, adapt_json(pending.profile),
             pending.profile_hash, stamp, stamp)
        )  # fmt: skip
    insert_rows(conn, "contacts", CONTACT_COLUMNS, new_rows)
    updates = [
        {"id": p.id, "kind": p.kind, "profile": adapt_json(p.profile), "hash": p.profile_hash,
         "now": stamp}
        for e164, p in existing.items() if p.changed
    ]  # fmt: skip
    if updates:
        conn.connection.driver_connection.cursor().executemany(  # type: ignore[union-attr]
            _UPDATE[conn.dialect.name], updates
        )
    events = []
    opted_out: list[tuple[str, str, datetime]] = []
    for e164, pending in batch.items():
        for event in pending.new_events:
            events.append(
                (advertiser.id, pending.id, event.kind.value, adapt_datetime(conn, event.at),
                 adapt_json(dict(event.data)), event.fingerprint, source, stamp, actor)
            )  # fmt: skip
            if event.kind in OPPOSITION_KINDS:
                opted_out.append((e164, str(event.data["source"]), event.at or now))
    insert_rows(conn, "evidence", EVIDENCE_COLUMNS, events)
    record_suppressions(conn, advertiser, opted_out, now)
    summary.evidence_added += len(events)
    summary.suppressed += len(opted_out)


_UPDATE = {
    "sqlite": "UPDATE contacts SET kind = :kind, profile = :profile, profile_hash = :hash, "
    "updated_at = :now WHERE id = :id",
    "postgresql": "UPDATE contacts SET kind = %(kind)s, profile = %(profile)s, "
    "profile_hash = %(hash)s, updated_at = %(now)s WHERE id = %(id)s",
}


def _batches(
    items: Iterator[tuple[int, CanonicalRow | None, list[Any]]],
) -> Iterator[list[tuple[int, CanonicalRow | None, list[Any]]]]:
    while chunk := list(itertools.islice(items, BATCH_ROWS)):
        yield chunk


def import_contacts(
    ctx: Context,
    *,
    slug: str,
    path: Path,
    mapping_path: Path | None = None,
    dry_run: bool = False,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import a contact file for one advertiser; returns what happened to every row."""
    started = time.perf_counter()
    mapping = load_mapping(mapping_path) if mapping_path else None
    fmt = sniff(path, mapping)
    summary = ImportSummary(
        file=path.name, dry_run=dry_run, encoding=fmt.encoding, delimiter=fmt.delimiter
    )
    rejects_target = rejects_path or default_rejects_path(path)
    source = f"import:{path.name}"
    now = ctx.now()
    with ctx.engine.connect() as conn, RejectsWriter(rejects_target, fmt) as rejects:
        dry = conn.begin() if dry_run else None  # one transaction, rolled back at the end

        def step() -> Any:
            return nullcontext() if dry_run else conn.begin()

        with step():
            advertiser = advertisers.get(conn, slug)
        try:
            for chunk in _batches(read_contacts(path, mapping)):
                accepted = []
                for _line, row, row_rejects in chunk:
                    if row is None:
                        rejects.write(row_rejects)
                    else:
                        accepted.append(row)
                with step():
                    _write_batch(
                        conn, advertiser, accepted, summary, source=source, actor=ctx.actor, now=now
                    )
                summary.rows += len(chunk)
                if progress:
                    progress(len(chunk))
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
                        details={k: v for k, v in summary.as_dict().items() if k != "seconds"},
                        at=now,
                    )
    return summary
