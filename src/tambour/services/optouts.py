"""Opt-outs: effective at once, stored as evidence (when the contact is known) and always as a
suppression hash, which survives erasure so the person is never contacted again."""

import codecs
import csv
import itertools
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, select

from tambour.contacts.headers import lookup
from tambour.contacts.ledger import Evidence, EvidenceKind
from tambour.contacts.reader import (
    ContactFileError,
    control_character,
    invalid_phone_reason,
    regular_file,
)
from tambour.contacts.values import parse_datetime
from tambour.rules.codes import OptOutSource
from tambour.services import advertisers, audit
from tambour.services.advertisers import Advertiser
from tambour.services.contacts import valid_number
from tambour.services.context import Context, InvalidInputError, ServiceError
from tambour.services.ledger_writes import insert_evidence
from tambour.services.seals import Written, with_rows
from tambour.services.suppression import entries as suppression_entries
from tambour.services.suppression import phone_hash, record_suppressions
from tambour.services.views import View
from tambour.services.webhooks import Event, emit
from tambour.sms.phone import parse_phone
from tambour.store.bulk import copy_time
from tambour.store.engine import reader
from tambour.store.tables import contacts, evidence

if TYPE_CHECKING:
    from _csv import Reader


# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "invalid_source": "{value!r} is not one of {choices}",
    "unreadable_line": "{path}: line {line}: {error}",
    "duplicate_column": (
        "{path}: line 1: columns {first!r} and {second!r} are both {column}: keep one of them"
    ),
    "control_character": "{path}: line 1: the header's column {index} ({name!r}) {problem}",
    "no_phone_number": "{name}: no phone number found",
    "unreadable_file": "{path}: {error}",
}


def parse_source(value: str, field: str = "source") -> OptOutSource:
    """An opt-out source named in words (any case), or InvalidInputError for `field`."""
    try:
        return OptOutSource(value.strip().casefold())
    except ValueError:
        choices = ", ".join(s.value for s in OptOutSource)
        said = TEXTS["invalid_source"].format(value=value, choices=choices)
        raise InvalidInputError(field, "invalid_source", said) from None


def record_optouts(
    conn: Connection,
    advertiser: Advertiser,
    entries: list[tuple[str, OptOutSource, datetime]],
    *,
    origin: str,
    actor: str,
    now: datetime,
    written: Written | None = None,
    facts: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Record (e164, source, at) opt-outs of one advertiser: evidence for the known contacts
    among `entries` (a fact already in the ledger is not written twice), suppression hashes for
    all of them. Returns the number of evidence rows written; the rows written are added to
    `written`, which the caller's audit entry must list (`seals.with_rows`). `facts`: what a
    number's evidence says besides its source (a 33700 report: the message it is about)."""
    numbers = [e164 for e164, _, _ in entries]
    known = dict(
        conn.execute(
            select(contacts.c.e164, contacts.c.id).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.e164.in_(numbers)
            )
        ).all()
    )
    recorded: set[tuple[int, bytes]] = set()  # facts already in the ledger, or earlier in the list
    if known:
        recorded.update(
            (contact_id, bytes(print_))
            for contact_id, print_ in conn.execute(
                select(evidence.c.contact_id, evidence.c.fingerprint).where(
                    evidence.c.advertiser_id == advertiser.id,
                    evidence.c.contact_id.in_(list(known.values())),
                    evidence.c.kind.in_([EvidenceKind.OPT_OUT.value, EvidenceKind.COMPLAINT.value]),
                )
            )
        )
    dialect = conn.dialect.name
    recorded_at = copy_time(dialect, now)
    rows = []
    for e164, source, at in entries:
        if e164 not in known:
            continue
        kind = (
            EvidenceKind.COMPLAINT
            if source is OptOutSource.COMPLAINT_33700
            else EvidenceKind.OPT_OUT
        )
        said = {**(facts or {}).get(e164, {}), "source": source.value}
        event = Evidence(kind, at, said)
        if (known[e164], event.fingerprint) in recorded:
            continue
        recorded.add((known[e164], event.fingerprint))
        rows.append(
            (advertiser.id, known[e164], kind.value, copy_time(dialect, at), event.data_json,
             event.fingerprint, origin, recorded_at, actor)
        )  # fmt: skip
    done = Written(evidence=insert_evidence(conn, rows))
    done.add(record_suppressions(conn, advertiser, [(e, s.value, at) for e, s, at in entries], now))
    if written is not None:
        written.add(done)
    return len(rows)


@dataclass(frozen=True, slots=True)
class OptedOut(View):
    """An opt-out recorded: the number by the start of its suppression hash (never in clear)."""

    phone_hash: str
    source: str
    known_contact: bool  # a contact of the advertiser (its evidence has the opt-out too)


def add(
    ctx: Context, *, slug: str, number: str, source: OptOutSource, at: datetime | None = None
) -> OptedOut:
    """Opt `number` (any notation) out of advertiser `slug`'s messages, at once (audited)."""
    e164 = valid_number(number)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        return opt_out(conn, ctx, advertiser, e164, source, at or now, now)


def opt_out(
    conn: Connection,
    ctx: Context,
    advertiser: Advertiser,
    e164: str,
    source: OptOutSource,
    at: datetime,
    now: datetime,
    **audited: Any,
) -> OptedOut:
    """`add` inside the caller's transaction, for a number already checked (E.164): evidence,
    suppression entry, the webhook event and the audit entry (with `audited` details)."""
    written = Written()
    recorded = record_optouts(
        conn,
        advertiser,
        [(e164, source, at)],
        origin=f"optout:{source.value}",
        actor=ctx.actor,
        now=now,
        written=written,
    )
    reference = phone_hash(advertiser, e164).hex()[:16]
    if written.suppressions or written.rewritten:  # not an opposition told again
        tell_opted_out(conn, advertiser, e164, source, at, now)
    audit.append(
        conn,
        actor=ctx.actor,
        action="optout.add",
        advertiser_id=advertiser.id,
        details=with_rows(
            {
                "source": source.value,
                "phone_hash": reference,
                "known_contact": bool(recorded),
                **audited,
            },
            written,
        ),
        at=now,
    )
    return OptedOut(reference, source.value, bool(recorded))


def tell_opted_out(
    conn: Connection,
    advertiser: Advertiser,
    e164: str,
    source: OptOutSource,
    at: datetime,
    now: datetime,
) -> None:
    """The webhook event of an opt-out recorded (as replies.py tells a STOP's)."""
    _tell(conn, advertiser, [(e164, source, at)], now)


def _tell(
    conn: Connection,
    advertiser: Advertiser,
    entries: Iterable[tuple[str, OptOutSource, datetime]],
    now: datetime,
) -> None:
    """The webhook events of oppositions recorded: `contact.complained` for a 33700 report,
    `contact.opted_out` for any other."""
    emit(
        conn,
        [
            Event(
                advertiser.id,
                "contact.complained"
                if source is OptOutSource.COMPLAINT_33700
                else "contact.opted_out",
                {"number": e164, "source": source.value, "at": at.isoformat()},
            )
            for e164, source, at in entries
        ],
        now,
    )


def _news(
    conn: Connection, advertiser: Advertiser, chunk: list[tuple[str, OptOutSource, datetime]]
) -> list[tuple[str, OptOutSource, datetime]]:
    """The entries of an opposition list that will change the suppression list: a number not
    on it, or a complaint about a number on it for another reason (each number once)."""
    known = suppression_entries(conn, advertiser, [e164 for e164, _, _ in chunk])
    news: dict[str, tuple[str, OptOutSource, datetime]] = {}
    for entry in chunk:
        e164, source = entry[0], entry[1]
        found = known.get(e164)
        complaint = source is OptOutSource.COMPLAINT_33700
        changes = found is None or (complaint and found.source != source.value)
        if changes and (e164 not in news or complaint):
            news[e164] = entry
    return list(news.values())


@dataclass(frozen=True, slots=True)
class OptOutStatus(View):
    """Whether a number is on the advertiser's suppression list: since when (the latest
    opposition's date) and by what source; the number by the start of its hash."""

    phone_hash: str
    opted_out: bool
    source: str | None
    since: datetime | None
    recorded_at: datetime | None


def check(ctx: Context, *, slug: str, number: str) -> OptOutStatus:
    """Whether `number` (any notation) is opted out of advertiser `slug`'s messages (on its
    suppression list, which a later consent may outweigh for a plain opt-out, never for a
    33700 complaint). InvalidInputError for what is not a phone number, NotFoundError for an
    unknown advertiser."""
    e164 = valid_number(number)
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        entry = suppression_entries(conn, advertiser, [e164]).get(e164)
    reference = phone_hash(advertiser, e164).hex()[:16]
    if entry is None:
        return OptOutStatus(reference, False, None, None, None)
    return OptOutStatus(reference, True, entry.source, entry.suppressed_at, entry.recorded_at)


@dataclass(frozen=True, slots=True)
class LineProblem(View):
    """A line of an opposition list: rejected (its number unreadable) or recorded with a
    warning (a date or source it could not read: now, and the list's source, instead)."""

    line: int
    field: str  # the column: phone, opted_out_at, opt_out_source
    reason: str


@dataclass(frozen=True, slots=True)
class OptOutImport:
    file: str  # its name
    accepted: int  # numbers opted out
    evidence_added: int  # of them, known contacts whose evidence has it now
    rejected: tuple[LineProblem, ...]
    warnings: tuple[LineProblem, ...]  # recorded, with a problem

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "accepted": self.accepted,
            "evidence_added": self.evidence_added,
            "rejected": len(self.rejected),
            "rejects": [line.as_dict() for line in self.rejected[:100]],
            "warnings": [line.as_dict() for line in self.warnings[:100]],
        }


@dataclass
class _Tally:
    """An opposition list's import as it goes."""

    accepted: int = 0
    evidence_added: int = 0
    rejected: list[LineProblem] = field(default_factory=list)
    warnings: list[LineProblem] = field(default_factory=list)


def file_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes so, else Windows-1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


@contextmanager
def readable(path: Path) -> Iterator[None]:
    """What keeps the file from being read (not a file, not opened, a read failing) as a
    refusal about `path`."""
    try:
        yield
    except ContactFileError as error:
        raise InvalidInputError("path", "unreadable_file", str(error)) from None
    except OSError as error:
        said = TEXTS["unreadable_file"].format(path=path, error=error.strerror or error)
        raise InvalidInputError("path", "unreadable_file", said) from None


def _numbered(path: Path, reader: "Reader", after: int) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of the records of a reader started after line `after`; a record the csv
    module cannot read (a cell over its size limit) stops the import, saying where."""
    try:
        for row in reader:
            yield reader.line_num + after, row
    except csv.Error as error:
        said = TEXTS["unreadable_line"].format(path=path, line=reader.line_num + after, error=error)
        raise InvalidInputError("path", "unreadable_line", said) from None


def records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every record of a list, its first line included (an empty file:
    nothing): UTF-8 when it decodes so, else Windows-1252; cells separated by whichever of
    `;`, tab and `,` its first line holds most. A file it cannot read is a refusal about
    `path` (read it under `readable`)."""
    regular_file(path)  # not a folder, a device (/dev/zero never ends) or a pipe
    with path.open(encoding=file_encoding(path), newline="") as handle:
        first = handle.readline()
        if not first:
            return
        delimiter = max(";\t,", key=first.count) if any(d in first for d in ";\t,") else ","
        yield from _numbered(path, csv.reader([first], delimiter=delimiter), 0)
        yield from _numbered(path, csv.reader(handle, delimiter=delimiter), 1)


def chunk_of(path: Path, items: Iterator[Any], size: int = 5000) -> list[Any]:
    """The next `size` items read from the file `path` (fewer at its end), its problems
    refusals about `path`."""
    with readable(path):
        return list(itertools.islice(items, size))


_READ = ("phone", "opted_out_at", "opt_out_source")  # the columns an opposition list is read for


def _check_header(path: Path, cells: list[str], header: list[str]) -> None:
    """Two columns read as one (`Date` and `Date d'opposition`): which one holds it is not
    sure, and the list must say."""
    seen: dict[str, str] = {}
    for name, column in zip(cells, header, strict=True):
        if column in _READ:
            if column in seen:
                said = TEXTS["duplicate_column"].format(
                    path=path, first=seen[column], second=name, column=column
                )
                raise InvalidInputError("path", "duplicate_column", said)
            seen[column] = name


def _entries(
    path: Path, default_source: OptOutSource, now: datetime, result: _Tally
) -> Iterator[tuple[str, OptOutSource, datetime]]:
    rows = records(path)
    cells = next(rows, (1, []))[1]
    # Headers in the list's own words first: there `Date` is when the number was listed.
    header = [lookup(h, opposition_list=True) or h.strip().casefold() for h in cells]
    if "phone" in header:
        for index, name in enumerate(cells):
            if problem := control_character(name):
                said = TEXTS["control_character"].format(
                    path=path, index=index + 1, name=name, problem=problem
                )
                raise InvalidInputError("path", "control_character", said)
        _check_header(path, cells, header)
    else:  # a bare list of numbers: the first line is data
        header = ["phone"]
        rows = itertools.chain([(1, cells)], rows)
    for line, row in rows:
        if not any(c.strip() for c in row):
            continue
        record = dict(zip(header, row, strict=False))
        # A control character (a NUL...) in the number: which number was meant is not
        # sure. In a date or source: recorded now, with the list's source, as below.
        controls = {k: why for k, v in record.items() if (why := control_character(v))}
        if "phone" in controls:
            result.rejected.append(LineProblem(line, "phone", controls["phone"]))
            continue
        for column in ("opted_out_at", "opt_out_source"):
            if column in controls:
                result.warnings.append(LineProblem(line, column, controls[column]))
                record[column] = ""
        phone = parse_phone(record.get("phone", ""))
        if phone.e164 is None or not phone.valid:
            reason = invalid_phone_reason(record.get("phone", ""))
            result.rejected.append(LineProblem(line, "phone", reason))
            continue
        # An opposition is never dropped for a bad date or source: it takes effect now,
        # with the list's source, and the line is reported.
        at, source = now, default_source
        try:
            at = parse_datetime(record.get("opted_out_at", "")) or now
        except ValueError as error:
            result.warnings.append(LineProblem(line, "opted_out_at", str(error)))
        if record.get("opt_out_source", "").strip():
            try:
                source = parse_source(record["opt_out_source"], "opt_out_source")
            except ServiceError as error:
                result.warnings.append(LineProblem(line, "opt_out_source", error.message))
        yield phone.e164, source, at


def import_file(
    ctx: Context, *, slug: str, path: Path, source: OptOutSource = OptOutSource.MANUAL
) -> OptOutImport:
    """An opposition list: one number a line, or a CSV with a `phone` column and optional
    `opted_out_at` and `opt_out_source`. Invalid lines are reported, the rest recorded, in one
    transaction, streamed in chunks. Refused (InvalidInputError about `path`) when the file
    cannot be read as one, or holds no phone number."""
    result = _Tally()
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        entries = _entries(path, source, now, result)
        written = Written()
        while chunk := _next_chunk(path, entries):
            news = _news(conn, advertiser, chunk)
            result.evidence_added += record_optouts(
                conn, advertiser, chunk, origin=f"optout-import:{audit.without_phones(path.name)}",
                actor=ctx.actor, now=now, written=written,
            )  # fmt: skip
            result.accepted += len(chunk)
            _tell(conn, advertiser, news, now)
        if not result.accepted and not result.rejected:
            said = TEXTS["no_phone_number"].format(name=path.name)
            raise InvalidInputError("path", "no_phone_number", said)
        audit.append(
            conn,
            actor=ctx.actor,
            action="optout.import",
            advertiser_id=advertiser.id,
            details=with_rows(
                {"file": audit.without_phones(path.name), "accepted": result.accepted,
                 "rejected": len(result.rejected)},
                written,
            ),
            at=now,
        )  # fmt: skip
    return OptOutImport(
        path.name,
        result.accepted,
        result.evidence_added,
        tuple(result.rejected),
        tuple(result.warnings),
    )


def _next_chunk(
    path: Path, entries: Iterator[tuple[str, OptOutSource, datetime]]
) -> list[tuple[str, OptOutSource, datetime]]:
    return chunk_of(path, entries)
