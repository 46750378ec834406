"""`campaign export`: the proof of a launched campaign handed over, one row a recipient.

Each row is the recipient's frozen plan row (decision, legal basis or reason code, send time,
the exact text and its parts) with what became of the message in the outbox: its state and why,
when it was handed to the carrier and when its fate was known, the carrier's error code and the
carrier's id of each part. Excluded recipients have no message: their outcome cells are empty.

One query joins the launched plan generation with the outbox (and each message's parts), in
contact order; its rows are streamed (a server-side cursor on PostgreSQL, read ahead by a
thread while this process writes; `fetchmany` on SQLite), so a million rows never sit in
memory. Plain SQL to the driver, as services/ledger_proof.py: through SQLAlchemy's result
processing the export spent more time building rows than the database spent reading them.

Writing a row costs more than reading it (times in the recipient's zone, a CSV cell no
spreadsheet runs): a large campaign is cut into ranges of contacts, one a process. This process
writes the first range to the output while worker processes (forked, as the planner's) write
the others to temporary files, which are appended in order: the same rows, in the same order.
On PostgreSQL every process reads the snapshot of this one (`pg_export_snapshot`); on SQLite
each reads its own, taken within moments of the others.
"""

import itertools
import multiprocessing
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from queue import Empty, Full, Queue
from typing import IO, Any, Final, NamedTuple

from sqlalchemy import Connection

from tambour.outfiles import create_private
from tambour.redaction import redact
from tambour.rules.labels import LABELS_FR
from tambour.services import campaigns
from tambour.services.campaigns import Campaign
from tambour.services.context import ConflictError, Context, ServiceError
from tambour.store.bulk import driver_cursor
from tambour.store.engine import make_engine, snapshot

FETCH: Final = 5000  # rows read from the database at a time
PREFETCH: Final = 2  # batches read ahead by a thread
PARALLEL_FROM: Final = 50_000  # recipients from which worker processes write ranges
ALL_CONTACTS: Final = (0, 1 << 62)
_POLL_SECONDS: Final = 0.5  # how often the coordinator checks that its workers are alive

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "not_launched": "{name!r} is not launched yet: there is no frozen plan to export",
    "cancelled": "{name!r} is cancelled and was never launched: there is no frozen plan to export",
    "worker_stopped": "the export failed: a worker stopped (exit code {exitcode})",
    "worker_failed": "the export failed in a worker: {error}",
}

# The columns of an export, in order (CSV header, JSON keys).
FIELDS: Final = (
    "phone", "decision", "basis", "reason", "label", "deferral", "territory", "timezone",
    "send_at", "segments", "encoding", "text", "state", "state_reason", "attempts",
    "submitted_at", "valid_until", "delivered_at", "done_at", "error_code", "error",
    "message_ids",
)  # fmt: skip


class ExportRow(NamedTuple):
    """One recipient of a launched campaign: the plan row and the message's outcome. Instants
    are aware; `timezone` is the recipient's own zone, in which the plan shows them."""

    phone: str
    decision: str  # send, exclude
    basis: str | None  # the legal basis of a send
    reason: str | None  # the reason code of an exclusion
    label: str  # the French label of the basis or the reason (rules/labels.py)
    deferral: str | None  # why the send time is later than the campaign's start
    territory: str | None
    timezone: str | None
    send_at: datetime | None  # the earliest allowed instant, as planned
    segments: int | None
    encoding: str | None
    text: str | None  # the exact message: personalized, STOP mention included
    state: str | None  # the message's state (tables.OUTBOX_STATES); None: no message
    state_reason: str | None  # why held, cancelled, expired or unknown (a rules.md code)
    attempts: int | None  # claims by a worker
    submitted_at: datetime | None  # when the carrier took it
    valid_until: datetime | None  # the validity the carrier was given
    delivered_at: datetime | None  # when its last part's delivery receipt came
    done_at: datetime | None  # when its fate was known: delivered, failed, expired, cancelled
    error_code: int | None  # the carrier's: SMPP command status or the receipt's err:
    error: str | None  # the carrier's or the worker's words (never a number or a text)
    message_ids: tuple[str, ...]  # the carrier's id of each part, in order


# Writes rows to a text file (its header first, if it has one); returns how many it wrote.
RowWriter = Callable[[Iterator[ExportRow], IO[str]], int]


@dataclass(frozen=True, slots=True)
class Exported:
    """What an export wrote: the campaign, the plan generation frozen at launch, the rows, and
    the processes that wrote them (1: this one alone)."""

    campaign: Campaign
    generation: int
    launched_at: datetime
    rows: int
    processes: int


def _refusal(campaign: Campaign) -> ServiceError | None:
    if campaign.launched_at is None or campaign.plan_generation is None:
        said = TEXTS["cancelled" if campaign.status == "cancelled" else "not_launched"]
        return ConflictError(said.format(name=campaign.name), code="campaign_not_launched")
    return None


def export(
    ctx: Context,
    *,
    name: str,
    write: RowWriter,
    out: IO[str],
    form: str,
    slug: str | None = None,
    header_lines: int = 0,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Exported:
    """Write every recipient of the launched campaign `name` (of advertiser `slug`) to `out`
    through `write`, and audit it (its size and `form`, never a number). `header_lines`: the
    lines `write` puts before the rows (a CSV header), written once. `workers`: processes
    writing ranges beside this one; None chooses (none under PARALLEL_FROM recipients, else
    one per core but the one this process uses, and one more on PostgreSQL). Raises
    NotFoundError for an unknown campaign or advertiser, ConflictError for a campaign not
    launched (before anything is written)."""
    report = progress or (lambda _n: None)
    with snapshot(ctx.engine) as conn:
        campaign = campaigns.resolve(conn, name, slug)
        refusal = _refusal(campaign)
        if refusal is not None:
            raise refusal
        assert campaign.plan_generation is not None and campaign.launched_at is not None
        recipients = _recipients(conn, campaign)
        if workers is None:  # PostgreSQL's workers wait for the server part of the time
            beside = (os.cpu_count() or 1) - 1 + (conn.dialect.name == "postgresql")
            workers = 0 if recipients < PARALLEL_FROM else beside
        bounds = _bounds(conn, campaign, workers + 1, recipients) if workers else [ALL_CONTACTS]
        if len(bounds) == 1:
            with closing(rows(conn, campaign)) as found:  # its cursor, before the connection
                count = write(_counted(found, report), out)
        else:
            count = _in_parallel(ctx, conn, campaign, bounds, write, out, header_lines, report)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaigns.record(
            conn, ctx, campaign, "export", now, generation=campaign.plan_generation,
            rows=count, form=form,
        )  # fmt: skip
    return Exported(campaign, campaign.plan_generation, campaign.launched_at, count, len(bounds))


def _recipients(conn: Connection, campaign: Campaign) -> int:
    """The plan's rows: as its summary counted them, else counted now."""
    targeted = (campaign.plan_summary or {}).get("targeted")
    if isinstance(targeted, int):
        return targeted
    q = "%s" if conn.dialect.name == "postgresql" else "?"
    cursor = driver_cursor(conn)
    cursor.execute(
        f"SELECT count(*) FROM plan_rows WHERE campaign_id = {q} AND generation = {q}",
        (campaign.id, campaign.plan_generation),
    )
    return int(cursor.fetchone()[0])


def _counted(found: Iterator[ExportRow], progress: Callable[[int], None]) -> Iterator[ExportRow]:
    count = 0
    for row in found:
        yield row
        count += 1
        if count % 10_000 == 0:
            progress(10_000)
    progress(count % 10_000)


def _bounds(
    conn: Connection, campaign: Campaign, parts: int, recipients: int
) -> list[tuple[int, int]]:
    """[lo, hi) ranges of contact ids holding about as many recipients each."""
    q = "%s" if conn.dialect.name == "postgresql" else "?"
    cursor = driver_cursor(conn)
    edges = [ALL_CONTACTS[0]]
    for k in range(1, parts):
        cursor.execute(
            f"SELECT contact_id FROM plan_rows WHERE campaign_id = {q} AND generation = {q}"
            f" ORDER BY contact_id LIMIT 1 OFFSET {q}",
            (campaign.id, campaign.plan_generation, recipients * k // parts),
        )
        found = cursor.fetchone()
        if found is not None and found[0] > edges[-1]:
            edges.append(int(found[0]))
    edges.append(ALL_CONTACTS[1])
    return list(itertools.pairwise(edges))


_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]{1,64}")


def _in_parallel(
    ctx: Context,
    conn: Connection,
    campaign: Campaign,
    bounds: list[tuple[int, int]],
    write: RowWriter,
    out: IO[str],
    header_lines: int,
    progress: Callable[[int], None],
) -> int:
    """The first range written here, the others by forked workers into owner-only temporary
    files, appended to `out` in order (without their header)."""
    shared = None
    if conn.dialect.name == "postgresql":
        shared = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
    url = ctx.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("fork")
    done: Any = context.Queue()
    with tempfile.TemporaryDirectory(prefix="tambour-export-") as folder:
        paths = [Path(folder) / f"part-{k}" for k in range(len(bounds))]
        workers = [
            context.Process(
                target=_part,
                args=(url, shared, campaign, bounds[k], paths[k], write, done, k),
                daemon=True,
            )
            for k in range(1, len(bounds))
        ]
        for process in workers:
            process.start()
        try:
            with closing(rows(conn, campaign, bounds[0])) as found:
                count = write(_counted(found, progress), out)
            written: dict[int, int] = {}
            for k in range(1, len(bounds)):
                while k not in written:
                    written.update(_next_part(done, workers))
                _append(paths[k], out, header_lines)
                count += written[k]
                progress(written[k])
        finally:
            for process in workers:
                if process.is_alive():
                    process.terminate()
                process.join()
            done.close()
            done.cancel_join_thread()
    return count


def _next_part(done: Any, workers: list[Any]) -> dict[int, int]:
    """The next range a worker finished: {range: rows}; raises what stopped a worker."""
    while True:
        try:
            index, result = done.get(timeout=_POLL_SECONDS)
        except Empty:
            dead = [p for p in workers if not p.is_alive() and p.exitcode]
            if dead:
                said = TEXTS["worker_stopped"].format(exitcode=dead[0].exitcode)
                raise ServiceError(said, code="export_failed") from None
            continue
        if isinstance(result, str):
            said = TEXTS["worker_failed"].format(error=result)
            raise ServiceError(said, code="export_failed")
        return {int(index): int(result)}


def _part(
    url: str,
    shared: str | None,
    campaign: Campaign,
    contacts: tuple[int, int],
    path: Path,
    write: RowWriter,
    done: Any,
    index: int,
) -> None:
    """A worker process: the rows of one range of contacts, written to `path`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    engine = make_engine(url, pooled=False)
    try:
        with snapshot(engine) as conn:
            if shared is not None and _SNAPSHOT_ID.fullmatch(shared):
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{shared}'")
            with (
                create_private(path, "utf-8") as handle,
                closing(rows(conn, campaign, contacts)) as found,
            ):
                count = write(found, handle)
        done.put((index, count))
    except Exception as error:  # handed to the coordinator, which reports it (URL masked)
        done.put((index, redact(f"{type(error).__name__}: {error}", url)))
    finally:
        engine.dispose()
        done.close()
        done.join_thread()


def _append(path: Path, out: IO[str], header_lines: int) -> None:
    """A range's file after its header lines, copied to `out` as bytes when it has a buffer
    (its own encoding wrote the BOM, at the start of the file, already)."""
    with path.open("rb") as part:
        for _ in range(header_lines):
            part.readline()
        buffer = getattr(out, "buffer", None)
        encoding = str(getattr(out, "encoding", "")).lower().replace("-", "").replace("_", "")
        if buffer is not None and encoding in ("utf8", "utf8sig"):
            out.flush()
            shutil.copyfileobj(part, buffer, 1 << 20)
            buffer.flush()
        else:
            while chunk := part.read(1 << 20):
                out.write(chunk.decode("utf-8"))


# One row a recipient, in contact order (the plan's primary key: no sort), its parts' carrier
# ids gathered in part order, separated by a control character no id holds.
_PARTS_SEPARATOR: Final = "\x1f"
# Looked for only where the carrier may have taken parts: never for an excluded recipient, a
# message still queued, or one cancelled before it left.
_PARTS = {
    "postgresql": "CASE WHEN o.state NOT IN ('queued', 'cancelled') THEN"
    " (SELECT string_agg(x.carrier_key, chr(31) ORDER BY x.part)"
    " FROM outbox_parts x WHERE x.outbox_id = o.id) END",
    "sqlite": "CASE WHEN o.state NOT IN ('queued', 'cancelled') THEN"
    " (SELECT group_concat(carrier_key, char(31)) FROM (SELECT x.carrier_key"
    " FROM outbox_parts x WHERE x.outbox_id = o.id ORDER BY x.part)) END",
}
# Instants: PostgreSQL's are aware; SQLite's naive UTC text gets its offset, so that
# `datetime.fromisoformat` alone reads it (a `.replace(tzinfo=...)` a value cost more).
_INSTANT = {"postgresql": "{column}", "sqlite": "{column} || '+00:00'"}
_QUERY = (
    "SELECT p.e164, p.decision, p.basis, p.reason, p.deferral, p.territory, p.timezone,"
    " {send_at}, p.segments, p.encoding, p.text, o.state, o.reason, o.attempts,"
    " {submitted_at}, {valid_until}, {done_at}, o.error_code, o.last_error, {parts}"
    " FROM plan_rows p"
    " LEFT JOIN outbox o ON o.campaign_id = p.campaign_id AND o.contact_id = p.contact_id"
    " AND o.advertiser_id = p.advertiser_id"
    " WHERE p.campaign_id = {q} AND p.generation = {q} AND p.advertiser_id = {q}"
    " AND p.contact_id >= {q} AND p.contact_id < {q} ORDER BY p.contact_id"
)
_DONE: Final = object()  # the end of the rows, on the prefetch queue


def _batches(conn: Connection, params: tuple[Any, ...]) -> Generator[list[Any]]:
    """The query's rows, FETCH at a time (a server-side cursor on PostgreSQL)."""
    dialect = conn.dialect.name
    instants = {
        name: _INSTANT[dialect].format(column=f"{table}.{name}")
        for table, name in (
            ("p", "send_at"), ("o", "submitted_at"), ("o", "valid_until"), ("o", "done_at"),
        )
    }  # fmt: skip
    sql = _QUERY.format(
        parts=_PARTS[dialect], q="%s" if dialect == "postgresql" else "?", **instants
    )
    if dialect == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor(name="tambour_campaign_export") as cursor:  # type: ignore[union-attr]
            cursor.itersize = FETCH
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(FETCH):
                yield batch
        return
    cursor = driver_cursor(conn)
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH):
            yield batch
    finally:
        cursor.close()


def _prefetched(conn: Connection, params: tuple[Any, ...]) -> Generator[list[Any]]:
    """`_batches`, read ahead by a thread: PostgreSQL works out the next rows, in its own
    process, while this one writes the last ones. At most PREFETCH batches wait: memory stays
    flat."""
    queue: Queue[Any] = Queue(maxsize=PREFETCH)
    stop = threading.Event()

    def read() -> None:
        batches = _batches(conn, params)
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as error:  # handed to the reader, raised there
            queue.put(error)
        finally:
            batches.close()  # the cursor, in this thread

    reader = threading.Thread(target=read, name="tambour-export-read", daemon=True)
    reader.start()
    try:
        while (batch := queue.get()) is not _DONE:
            if isinstance(batch, BaseException):
                raise batch
            yield batch
    finally:
        stop.set()
        while reader.is_alive():  # unblock a put, then wait for its cursor to close
            with suppress(Empty):
                queue.get(timeout=0.1)
        reader.join()


def _aware(value: str | None) -> datetime | None:
    """A SQLite instant as the query gives it: UTC text with its offset appended."""
    return None if value is None else datetime.fromisoformat(value)


def _as_read(value: datetime | None) -> datetime | None:
    """A PostgreSQL instant: aware already (in the session's zone)."""
    return value


def rows(
    conn: Connection, campaign: Campaign, contacts: tuple[int, int] = ALL_CONTACTS
) -> Generator[ExportRow]:
    """Every recipient of the campaign's launched plan (those of a [lo, hi) range of contact
    ids), in contact order, with its message's outcome; one query, streamed."""
    assert campaign.plan_generation is not None
    instant = _as_read if conn.dialect.name == "postgresql" else _aware
    labels = LABELS_FR
    params = (campaign.id, campaign.plan_generation, campaign.advertiser.id, *contacts)
    split = _PARTS_SEPARATOR
    batches = _prefetched(conn, params) if _threads_allowed(conn) else _batches(conn, params)
    try:
        for batch in batches:
            for (e164, decision, basis, reason, deferral, territory, zone, send_at, segments,
                 encoding, text, state, why, attempts, submitted, valid, done, code, error,
                 parts) in batch:  # fmt: skip
                done_at = instant(done)
                yield ExportRow(
                    e164, decision, basis, reason, labels.get(basis or reason or "", ""),
                    deferral, territory, zone, instant(send_at), segments, encoding, text, state,
                    why, attempts, instant(submitted), instant(valid),
                    done_at if state == "delivered" else None, done_at, code, error,
                    tuple(parts.split(split)) if parts else (),
                )  # fmt: skip
    finally:
        batches.close()


def _threads_allowed(conn: Connection) -> bool:
    """Whether rows are read ahead by a thread: on PostgreSQL, whose server works out the next
    rows while this process writes. SQLite does its work in this process: a thread only
    fights the writer for the interpreter (measured slower)."""
    return conn.dialect.name == "postgresql"
