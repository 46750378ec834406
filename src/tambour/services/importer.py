"""`contacts import`: an advertiser's contact file into the evidence ledger, streamed in batches.

Each batch is one transaction: a crash loses at most the batch under way, never what was
accepted before it. A row with any invalid field goes whole to the rejects file. Facts already
recorded are recognised by their fingerprint, so re-importing a file adds nothing; two notations
of one number are one contact. A dry run does all of it in one transaction rolled back at the end.
"""

import gc
import itertools
import json
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from queue import Empty, Full
from typing import Any, Final

from sqlalchemy import Connection

from tambour.contacts.headers import suggest
from tambour.contacts.ledger import canonical_json, merge_profiles, profile_hash
from tambour.contacts.reader import (
    ContactFileError,
    FileFormat,
    RejectsWriter,
    default_rejects_path,
    load_mapping,
    read_batches,
    sniff,
)
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.rules.codes import ContactKind
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.context import Context, InvalidInputError, ServiceError
from tambour.services.import_prepare import (
    E164,
    EVENTS,
    FACTS,
    KIND,
    PROFILE_JSON,
    PreparedBatch,
    PreparedEvent,
    PreparedRow,
    prepare,
)
from tambour.services.ledger_writes import insert_facts
from tambour.services.seals import Written, with_rows
from tambour.services.suppression import record_suppressions
from tambour.store.bulk import (
    adapt_datetime,
    copy_time,
    insert_rows,
    refresh_statistics,
    reserve_ids,
)
from tambour.store.sqlite_params import bind_as_is

BATCH_ROWS = 5000

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "rejects_is_input": "{target} is the file being imported",
    "folder_not_found": "the folder {folder} does not exist",
    "file_exists": "{target} exists already; name a new file (nothing was imported)",
    "cannot_create": "cannot create {target}: {error}",
    "reading_failed": "reading {name} failed: {error}",
    "reader_stopped": "the process reading {name} stopped (exit code {exitcode})",
}
CONTACT_COLUMNS = (
    "id", "advertiser_id", "e164", "kind", "profile", "profile_hash", "created_at", "updated_at"
)  # fmt: skip


@dataclass
class ImportTally:
    """An import's counts as it goes (its batches add to them); `summary` when it is over."""

    file: str
    dry_run: bool
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # rows naming a number an earlier row of the batch named: folded
    rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    evidence_added: int = 0
    suppressed: int = 0
    rejects_path: str | None = None
    interrupted: str | None = None  # the error that stopped the import half-way
    seconds: float = 0.0
    columns: dict[str, str] = field(default_factory=dict)  # canonical column -> its header
    fields: list[str] = field(default_factory=list)  # headers kept as personalization fields
    facts: Counter[str] = field(default_factory=Counter)  # accepted rows stating each of FACTS
    warnings: list[dict[str, Any]] = field(default_factory=list)  # see `import_warnings`

    def summary(self) -> "ImportSummary":
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return ImportSummary(
            **{
                **given,
                "rejected_by_reason": Counter(self.rejected_by_reason),
                "columns": dict(self.columns),
                "fields": tuple(self.fields),
                "facts": Counter(self.facts),
                "warnings": tuple(self.warnings),
            }
        )


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did with every row of the file (`ImportTally`'s counts, once over)."""

    file: str
    dry_run: bool
    encoding: str
    delimiter: str
    rows: int
    created: int
    updated: int
    unchanged: int
    duplicates: int  # rows naming a number an earlier row of the batch named: folded
    rejected: int
    rejected_by_reason: Counter[str]
    evidence_added: int
    suppressed: int
    rejects_path: str | None
    interrupted: str | None  # the error that stopped the import half-way
    seconds: float
    columns: Mapping[str, str]  # canonical column -> its header
    fields: tuple[str, ...]  # headers kept as personalization fields
    facts: Counter[str]  # accepted rows stating each of FACTS
    warnings: tuple[dict[str, Any], ...]  # see `import_warnings`

    @property
    def accepted(self) -> int:
        """Rows that became contacts (or updated one): all but the rejected ones."""
        return self.created + self.updated + self.unchanged + self.duplicates

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "dry_run": self.dry_run,
            "format": {"encoding": self.encoding, "delimiter": self.delimiter},
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
            "evidence_added": self.evidence_added,
            "suppressed": self.suppressed,
            "rejects_file": self.rejects_path,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "columns": dict(self.columns),
            "fields": list(self.fields),
            "facts": {name: self.facts[name] for name in FACTS},
            "warnings": list(self.warnings),
        }


def _audited(summary: ImportSummary) -> dict[str, Any]:
    """The summary as the audit log keeps it: no timing, no phone number in a file name, no
    header of the file (a file without a header row has its first contact there)."""
    details = {
        k: v for k, v in summary.as_dict().items() if k not in ("seconds", "columns", "fields")
    }
    details["warnings"] = [warning["code"] for warning in summary.warnings]
    details["file"] = audit.without_phones(summary.file)
    if summary.rejects_path:
        details["rejects_file"] = audit.without_phones(summary.rejects_path)
    return details


@dataclass
class _Pending:
    """One contact of the batch being written, with what the batch adds to it."""

    id: int | None
    kind: str
    profile: dict[str, Any] | None  # as stored (None for a new contact)
    profile_hash: bytes
    known: set[bytes]
    profile_json: str | None = None  # set when the profile is to be written
    new_events: list[PreparedEvent] = field(default_factory=list)


def _stored_profile(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str | bytes) else dict(value)


def write_batch(
    conn: Connection,
    advertiser: Advertiser,
    rows: list[PreparedRow],
    summary: ImportTally,
    *,
    source: str,
    actor: str,
    now: datetime,
) -> None:
    """Write one batch. Rows of one number are folded first (in file order), so a file that
    names a number twice states one set of facts, and importing it again changes nothing."""
    if conn.dialect.name == "postgresql":  # one importer per advertiser at a time
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock(1, {int(advertiser.id)})")
        # The look-ups' estimates are large and wrong (a probe per key): compiling them would
        # cost more than running them.
        conn.exec_driver_sql("SET LOCAL jit = off")
    first: dict[str, PreparedRow] = {}  # by number, in file order
    repeated: dict[str, list[PreparedRow]] = {}  # numbers named more than once
    for row in rows:
        seen = first.setdefault(row[E164], row)
        if seen is not row:
            repeated.setdefault(row[E164], [seen]).append(row)
    summary.duplicates += len(rows) - len(first)

    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    lookups = _LOOKUPS[conn.dialect.name]
    existing: dict[str, _Pending] = {}
    keys = {"advertiser": advertiser.id, "keys": _id_list(conn, list(first))}
    cursor.execute(lookups["contacts"], keys)
    for contact_id, e164, kind, profile, digest in cursor.fetchall():
        existing[e164] = _Pending(contact_id, kind, _stored_profile(profile), bytes(digest), set())
    by_id = {p.id: p for p in existing.values()}
    if by_id:
        keys = {"advertiser": advertiser.id, "keys": _id_list(conn, list(by_id))}
        cursor.execute(lookups["evidence"], keys)
        for contact_id, print_ in cursor.fetchall():
            by_id[contact_id].known.add(bytes(print_))

    single: list[PreparedRow] = []  # the common case: a new number, named once
    fresh: list[_Pending] = []
    rewritten: list[_Pending] = []
    fresh_numbers: list[str] = []
    for e164, row in first.items():
        pending = existing.get(e164)
        if pending is None and e164 not in repeated:
            single.append(row)
            continue
        group = repeated.get(e164) or [row]
        stated: dict[str, Any] = {}
        for stated_row in group:
            stated = merge_profiles(stated, json.loads(stated_row[PROFILE_JSON]))
        kind = next((r[KIND] for r in reversed(group) if r[KIND]), None)
        if pending is None:
            kind = kind or ContactKind.PERSON.value
            pending = _Pending(None, kind, None, b"", set())
            merged = stated
        else:
            kind = kind or pending.kind
            merged = merge_profiles(pending.profile or {}, stated)
        profile_json = canonical_json(merged)
        digest = profile_hash(kind, profile_json)
        if digest != pending.profile_hash:
            pending.kind, pending.profile_hash, pending.profile_json = (
                kind,
                digest,
                profile_json,
            )
        for stated_row in group:
            for event in stated_row[EVENTS]:
                if event[3] not in pending.known:
                    pending.known.add(event[3])
                    pending.new_events.append(event)
        if pending.id is None:
            fresh.append(pending)
            fresh_numbers.append(e164)
            summary.created += 1
        elif pending.profile_json is not None or pending.new_events:
            rewritten.append(pending)
            summary.updated += 1
        else:
            summary.unchanged += 1

    summary.created += len(single)
    stamp = copy_time(conn.dialect.name, now)  # for the bulk inserts
    updated_at = adapt_datetime(conn, now)  # for the updates
    ids = reserve_ids(conn, "contacts", len(single) + len(fresh))
    single_ids, fresh_ids = ids[: len(single)], ids[len(single) :]
    for contact_id, pending in zip(fresh_ids, fresh, strict=True):
        pending.id = contact_id
    person = ContactKind.PERSON.value
    aid = advertiser.id
    contacts: list[tuple[Any, ...]] = [
        (cid, aid, e164, kind or person, profile_json, digest, stamp, stamp)
        for cid, (e164, kind, profile_json, digest, _) in zip(single_ids, single, strict=True)
    ]
    contacts += [
        (p.id, aid, e164, p.kind, p.profile_json, p.profile_hash, stamp, stamp)
        for e164, p in zip(fresh_numbers, fresh, strict=True)
    ]
    insert_rows(conn, "contacts", CONTACT_COLUMNS, contacts)
    profiles = [
        {"id": p.id, "kind": p.kind, "profile": p.profile_json, "hash": p.profile_hash,
         "now": updated_at}
        for p in rewritten if p.profile_json is not None
    ]  # fmt: skip
    if profiles:
        cursor.executemany(_UPDATE_PROFILE[conn.dialect.name], profiles)
    touched = [{"id": p.id, "now": updated_at} for p in rewritten if p.profile_json is None]
    if touched:
        cursor.executemany(_TOUCH[conn.dialect.name], touched)
    # Each contact's new facts (a single row states each kind of fact once: all are new), and
    # the number of each, for the opt-outs among them.
    numbers = [row[E164] for row in single] + fresh_numbers + list(existing)
    facts: list[tuple[Any, Sequence[PreparedEvent]]] = [
        *zip(single_ids, (row[EVENTS] for row in single), strict=True),
        *((p.id, p.new_events) for p in fresh),
        *((p.id, p.new_events) for p in existing.values()),
    ]
    opposed = [
        (e164, opposition[0], opposition[1] or now)
        for e164, (_, new_events) in zip(numbers, facts, strict=True)
        for event in new_events
        if (opposition := event[4]) is not None
    ]
    evidence = insert_facts(conn, aid, source, stamp, actor, facts)
    batch_rows = Written(evidence=evidence)
    batch_rows.add(record_suppressions(conn, advertiser, opposed, now))
    summary.evidence_added += len(evidence)
    summary.suppressed += len(opposed)
    if batch_rows:  # the batch's rows, listed in the audit log in its own transaction
        audit.append(
            conn,
            actor=actor,
            action="contacts.import.rows",
            advertiser_id=advertiser.id,
            details=with_rows({"source": source}, batch_rows),
            at=now,
        )


# Batch look-ups with the whole list as one parameter (no statement of 5,000 placeholders).
_LOOKUPS = {
    "sqlite": {
        "contacts": "SELECT id, e164, kind, profile, profile_hash FROM contacts "
        "WHERE advertiser_id = :advertiser AND e164 IN (SELECT value FROM json_each(:keys))",
        "evidence": "SELECT contact_id, fingerprint FROM evidence WHERE advertiser_id = "
        ":advertiser AND contact_id IN (SELECT value FROM json_each(:keys))",
    },
    # One index probe per key, whatever the planner's statistics say. With `= ANY(%s)`, right
    # after a large import (not analysed yet) the planner believed the tables tiny and scanned
    # all of the advertiser's contacts for every batch: a million-row import slowed down as it
    # went. LIMIT 1 (the key is unique) and OFFSET 0 keep each probe a probe.
    "postgresql": {
        "contacts": "SELECT c.id, c.e164, c.kind, c.profile, c.profile_hash "
        "FROM unnest(string_to_array(%(keys)s, ',')) AS n(e164) CROSS JOIN LATERAL "
        "(SELECT * FROM contacts "
        "WHERE advertiser_id = %(advertiser)s::bigint AND e164 = n.e164 LIMIT 1) c",
        "evidence": "SELECT e.contact_id, e.fingerprint "
        "FROM unnest(string_to_array(%(keys)s, ',')::bigint[]) AS n(contact_id) "
        "CROSS JOIN LATERAL (SELECT * FROM "
        "evidence WHERE contact_id = n.contact_id AND advertiser_id = %(advertiser)s::bigint "
        "OFFSET 0) e",
    },
}


def _id_list(conn: Connection, values: list[Any]) -> str:
    """Keys (numbers or ids, never with a comma) as one parameter: a JSON list for SQLite's
    json_each, comma-separated text for PostgreSQL's string_to_array (psycopg adapts a list
    of 5,000 values in Python, one by one)."""
    if conn.dialect.name == "sqlite":
        return canonical_json(values)
    return ",".join(map(str, values))


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
PARALLEL_FROM_BYTES = 2_000_000  # smaller files are read and prepared in this process
IN_FLIGHT = 2  # prepared batches waiting for the writer (bounds memory)
_POLL_SECONDS = 0.5  # how often the writer checks that the reading process is still alive


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


def _batches_here(
    path: Path, fmt: FileFormat, dialect: str, now: datetime, share: tuple[int, int] = (0, 1)
) -> Iterator[PreparedBatch]:
    """The file's batches, prepared in this process; with `share` (k, n), only every n-th
    batch from the k-th."""
    for records in read_batches(path, fmt, BATCH_ROWS, share):
        yield prepare(fmt, records, dialect, now)


def _read_and_prepare(
    path: Path,
    fmt: FileFormat,
    dialect: str,
    now: datetime,
    share: tuple[int, int],
    out: "multiprocessing.Queue[Any]",
    writer: int,
) -> None:
    """A reading process: its share of the file's batches, prepared, then None (or the error
    that stopped the reading, for the writer to raise). It stops when the writer (process id
    `writer`) is gone, also when the writer was killed and could not stop it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writer's to handle
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)

    def hand_over(item: object) -> None:
        while True:
            try:
                out.put(item, timeout=_POLL_SECONDS)
                return
            except Full:
                if os.getppid() != writer:
                    os._exit(0)  # nobody will read it

    try:
        for batch in _batches_here(path, fmt, dialect, now, share):
            hand_over(batch)
    except ContactFileError as error:
        hand_over(error)
    except Exception as error:  # handed to the writer, which reports it
        said = TEXTS["reading_failed"].format(
            name=path.name, error=f"{type(error).__name__}: {error}"
        )
        hand_over(ServiceError(said, code="import_failed"))
    else:
        hand_over(None)
    out.close()
    out.join_thread()


def _batches_beside(
    path: Path, fmt: FileFormat, dialect: str, now: datetime, workers: int
) -> Iterator[PreparedBatch]:
    """The file's batches, read and prepared by `workers` processes while this one writes.

    Each process reads the whole file (reading is a tenth of the work; it is how a process
    knows where records start, quoted line breaks included) and prepares every n-th batch;
    the writer takes them in turn, so the file is written in order."""
    context = multiprocessing.get_context("fork")
    queues: list[multiprocessing.Queue[Any]] = []
    readers = []
    for mine in range(workers):
        queues.append(context.Queue(maxsize=IN_FLIGHT))
        readers.append(
            context.Process(
                target=_read_and_prepare,
                args=(path, fmt, dialect, now, (mine, workers), queues[-1], os.getpid()),
                daemon=True,
            )
        )
        readers[-1].start()
    try:
        for index in itertools.count():
            item = _next_from(queues[index % workers], readers[index % workers], path)
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        for reader, queue in zip(readers, queues, strict=True):
            if reader.is_alive():
                reader.terminate()
            reader.join()
            queue.close()
            queue.cancel_join_thread()


def _next_from(queue: "multiprocessing.Queue[Any]", reader: Any, path: Path) -> Any:
    while True:
        try:
            return queue.get(timeout=_POLL_SECONDS)
        except Empty:
            if not reader.is_alive():
                said = TEXTS["reader_stopped"].format(name=path.name, exitcode=reader.exitcode)
                raise ServiceError(said, code="import_failed") from None


# -- what the user is told about the file as a whole ---------------------------------------------

CANONICAL = frozenset(CANONICAL_COLUMNS)
# The columns a legal basis rests on (rules.md section 4), to say what to map.
BASIS_COLUMNS = (
    "consent", "consent_at", "consent_method", "consent_wording", "last_purchase_at",
    "purchased_categories", "collected_at", "informed_at_collection",
    "objection_offered_at_collection", "kind", "profession_tags", "member_since",
)  # fmt: skip
_GROUNDS = ("consent", "purchase", "collection", "membership", "professional")
# Columns that state nothing without a consent column beside them (`evidence_of`).
_CONSENT_DETAILS = tuple(c for c in CANONICAL_COLUMNS if c.startswith("consent_"))


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _suggestions(fields: list[str], wanted: tuple[str, ...] | None = None) -> dict[str, str]:
    """Personalization fields whose header suggests a canonical column (of `wanted`)."""
    found = {}
    for name in fields:
        column = suggest(name)
        if column is not None and (wanted is None or column in wanted):
            found[name] = column
    return found


def import_warnings(summary: ImportTally) -> list[dict[str, Any]]:
    """What the file fails to say, in words and as data, each with a stable `code`:

    - `no_legal_basis_fact`: contacts created, but no row states a fact a legal basis can
      rest on (a consent given, a purchase, a collection, a membership, a professional);
    - `consent_not_dated`: consents without a date, which ground no basis;
    - `consent_unproven`: consents with neither method nor wording, which ground none either;
    - `column_without_effect`: consent details (its date...) in a file with no consent column.

    Each names the personalization fields (`fields`) and what they may be (`suggested_mapping`,
    header -> canonical column) when the fix may be a mapping."""
    warnings: list[dict[str, Any]] = []
    columns, fields, facts = summary.columns, summary.fields, summary.facts
    consents = facts["consent"]
    details = [c for c in _CONSENT_DETAILS if c in columns]
    if details and "consent" not in columns:
        warnings.append({
            "code": "column_without_effect",
            "message": (
                f"column(s) {_quoted([columns[c] for c in details])} (read as "
                f"{', '.join(details)}) state nothing without a consent column saying yes or "
                "no: nothing of them was recorded"
            ),
            "columns": {columns[c]: c for c in details},
            "needs": "consent",
            "fields": list(fields),
            "suggested_mapping": _suggestions(fields, ("consent",)),
        })  # fmt: skip
    # Only when it created contacts: a file that updates some (tags, names) may rely on the
    # facts recorded before.
    if summary.created and not any(facts[name] for name in _GROUNDS):
        if "consent" in columns:
            why = f"the consent column {columns['consent']!r} holds no yes"
        else:
            why = "the file has no consent column"
        warnings.append({
            "code": "no_legal_basis_fact",
            "message": (
                "no legal basis: no row states a fact a legal basis can rest on (a consent "
                f"given, a purchase, a collection, a membership, a professional contact; {why}): "
                f"the {summary.created:,} contact(s) it created cannot receive a marketing SMS"
            ),
            "fields": list(fields),
            "suggested_mapping": _suggestions(fields),
            "basis_columns": [c for c in BASIS_COLUMNS if c not in columns],
        })  # fmt: skip
    undated = facts["consent_undated"]
    if undated:
        where = (
            f"the column {columns['consent_at']!r} (consent_at) is empty on these rows"
            if "consent_at" in columns
            else "the file has no consent_at column"
        )
        warnings.append({
            "code": "consent_not_dated",
            "message": (
                f"consent not dated: {undated:,} row(s) of the {consents:,} giving a consent "
                f"have no date ({where}), and an undated consent is no legal basis"
            ),
            "rows": undated,
            "consents": consents,
            "date_column": columns.get("consent_at"),
            "fields": list(fields),
            "suggested_mapping": _suggestions(fields, ("consent_at",)),
        })  # fmt: skip
    unproven = facts["consent_unproven"]
    if unproven:
        warnings.append({
            "code": "consent_unproven",
            "message": (
                f"consent without proof: {unproven:,} row(s) of the {consents:,} giving a "
                "consent have neither method nor wording (consent_method, consent_wording), "
                "and a consent with nothing to show is no legal basis (consent_unproven)"
            ),
            "rows": unproven,
            "consents": consents,
            "fields": list(fields),
            "suggested_mapping": {},
        })  # fmt: skip
    return warnings


ANALYZE_FROM = 10_000  # rows from which an import refreshes PostgreSQL's statistics


def default_workers(path: Path) -> int:
    """Reading processes for a file: none for a small one, else one per core."""
    if path.stat().st_size < PARALLEL_FROM_BYTES:
        return 0
    return os.cpu_count() or 1


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
    excel: bool = False,
) -> ImportSummary:
    """Import a contact file for one advertiser; returns what happened to every row.
    `excel`: the rejects file in French Excel's form (`;`-separated). Refused: a mapping file or
    a contact file that cannot be read as one (InvalidInputError about `mapping_path` or
    `path`: the rows before the problem stay imported), a rejects file that cannot be made
    (about `rejects_path`), an unknown advertiser (NotFoundError)."""
    mapping = None
    if mapping_path is not None:
        with _unreadable("mapping_path", "unreadable_mapping"):
            mapping = load_mapping(mapping_path)
    with _unreadable("path", "unreadable_file"):
        return _import(
            ctx, slug, path, mapping, mapping_path, dry_run, rejects_path, progress, workers, excel
        )


@contextmanager
def _unreadable(field: str, code: str) -> Iterator[None]:
    """A file that cannot be read as what it should be, as a refusal about `field` (once the
    import has recorded how far it got, by the error's own name)."""
    try:
        yield
    except ContactFileError as error:
        raise InvalidInputError(field, code, str(error)) from None


def _import(
    ctx: Context,
    slug: str,
    path: Path,
    mapping: Mapping[str, str] | None,
    mapping_path: Path | None,
    dry_run: bool,
    rejects_path: Path | None,
    progress: Callable[[int], None] | None,
    workers: int | None,
    excel: bool,
) -> ImportSummary:
    started = time.perf_counter()
    fmt = sniff(path, mapping, mapping_source=mapping_path)
    summary = ImportTally(
        file=path.name, dry_run=dry_run, encoding=fmt.encoding, delimiter=fmt.delimiter
    )
    for header, column in zip(fmt.header, fmt.columns, strict=True):
        if column in CANONICAL:
            summary.columns[column] = header.strip()
        elif column is not None:
            summary.fields.append(column)
    rejects_target = rejects_path or default_rejects_path(path)

    def refused(code: str, **values: object) -> InvalidInputError:
        said = TEXTS[code].format(target=rejects_target, **values)
        return InvalidInputError("rejects_path", code, said)

    if rejects_target.resolve() == path.resolve():
        raise refused("rejects_is_input")
    if not rejects_target.parent.is_dir():
        raise refused("folder_not_found", folder=rejects_target.parent)
    try:  # never over another file: a rejects path given must be new, the default takes a free name
        rejects = RejectsWriter(rejects_target, fmt, fresh=rejects_path is None, excel=excel)
    except FileExistsError:
        raise refused("file_exists") from None
    except OSError as error:
        raise refused("cannot_create", error=error.strerror) from None
    source = f"import:{audit.without_phones(path.name)}"
    now = ctx.now()
    workers = default_workers(path) if workers is None else workers
    if ctx.engine.dialect.name == "sqlite":
        bind_as_is()  # evidence rows bind NULLs and bytes by the million
    with (
        rejects,
        _few_collections(),
        ctx.engine.connect() as conn,
    ):
        dry = conn.begin() if dry_run else None  # one transaction, rolled back at the end

        def step() -> Any:
            return nullcontext() if dry_run else conn.begin()

        with step():
            advertiser = advertisers.get(conn, slug)
        try:
            batches = (
                _batches_beside(path, fmt, conn.dialect.name, now, workers)
                if workers > 0
                else _batches_here(path, fmt, conn.dialect.name, now)
            )
            for prepared in batches:
                for problems in prepared.rejects:
                    rejects.write(problems)
                with step():
                    write_batch(
                        conn, advertiser, prepared.rows, summary, source=source,
                        actor=ctx.actor, now=now,
                    )  # fmt: skip
                summary.rows += len(prepared.rows) + len(prepared.rejects)
                for name, count in zip(FACTS, prepared.facts, strict=True):
                    summary.facts[name] += count
                if progress:
                    progress(prepared.records)
        except BaseException as error:
            summary.interrupted = type(error).__name__
            raise
        finally:
            summary.rejected = rejects.count
            summary.rejected_by_reason = Counter(rejects.by_reason)
            summary.rejects_path = str(rejects.path) if rejects.count else None
            summary.seconds = time.perf_counter() - started
            if summary.interrupted is None:
                summary.warnings = import_warnings(summary)
            result = summary.summary()
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
                        details=_audited(result),
                        at=now,
                    )
    if not dry_run and result.rows >= ANALYZE_FROM:
        # A large import changes the tables' statistics by as much: without fresh ones the
        # server scanned the whole evidence table for each batch of a worker's opt-out check.
        with ctx.engine.begin() as conn:
            refresh_statistics(conn, "contacts", "evidence", "suppressions")
    return result
