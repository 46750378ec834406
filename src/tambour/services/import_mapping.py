"""Importing a contact file from the web app: the upload kept in the advertiser's folder, its
first rows shown with what each column means (what Tambour reads by itself, or what the
advertiser said last time for the same header), the meanings confirmed by a person, saved as the
advertiser's mapping, and the import queued as a `contacts.import` job with a mapping file, as
`tambour contacts import --mapping` reads one.

A column means a canonical column (rules.md section 2), `field` (kept as a personalization
field, the `{Ville}` of a message) or `ignore`. The mapping file says so in the importer's terms:
a canonical column or "" (ignore) per header; a personalization field is a header the mapping
leaves out, which the importer keeps as such unless it reads the header as a canonical column by
itself (then another column must take that one: see `check_meanings`).

The advertiser's mapping keeps only what differs from what Tambour reads by itself, by header
(folded as `contacts.headers.header_key` folds it); choosing the detected meaning again forgets
the entry. Uploads, mapping files and rejects files stay in the advertiser's uploads folder
(jobs/files.py), readable by their owner only; a rejects file is served to the advertiser's
users only, through `rejects_file`.
"""

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Final

from sqlalchemy import Connection, delete, select, update

from tambour.contacts.headers import header_key, lookup, suggest
from tambour.contacts.reader import ContactFileError, FileFormat, head, sniff
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.jobs import files
from tambour.jobs.kinds import contacts_import
from tambour.rules.template import field_key
from tambour.services import advertisers, audit, jobs
from tambour.services.advertisers import Advertiser
from tambour.services.context import Context, InvalidInputError, NotFoundError, Problem
from tambour.services.jobs import Job
from tambour.sms.phone import parse_phone
from tambour.store.engine import reader
from tambour.store.tables import import_mappings

FIELD: Final = "field"  # kept as a personalization field
IGNORE: Final = "ignore"  # not imported
MEANINGS: Final = (*CANONICAL_COLUMNS, FIELD, IGNORE)
PREVIEW_ROWS: Final = 5
SHOWN_CELL: Final = 80  # characters of a cell shown in the preview
RECENT_IMPORTS: Final = 10
_STEM: Final = "contacts"
_UPLOAD: Final = re.compile(r"contacts-\d{8}-\d{6}-[0-9a-f]{12}")
_CHUNK: Final = 1 << 20
_CANONICAL: Final = frozenset(CANONICAL_COLUMNS)
_CANONICAL_KEYS: Final = frozenset(header_key(c) for c in CANONICAL_COLUMNS)
_PUNCTUATION: Final = re.compile(r"[\W_]+")

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "empty_upload": "the file sent is empty",
    "upload_too_large": "the file is larger than {most:,} bytes",
    "upload_not_found": "there is no uploaded file {upload}",
    "unreadable_file": "{error}",
    "header_is_contact": (
        "the first line holds a phone number ({column}): it must name the columns "
        "(Téléphone;Prénom;...)"
    ),
    "invalid_meaning": "{meaning!r} is not a column Tambour knows",
    "wrong_column_count": "{given} meanings for a file of {columns} columns",
    "no_phone_column": "no column is the phone number: say which one is",
    "column_taken": "{meaning} is given to the columns {first!r} and {second!r}: keep one",
    "field_not_possible": (
        "{header!r} is read as {meaning} whatever the mapping says: to keep it as a "
        "personalization field, give {meaning} to another column, or ignore it"
    ),
    "invalid_mapping": "{error}",
    "not_an_import": "job {job_id} is not a contacts import",
    "no_rejects": "job {job_id} rejected no row: there is no rejects file",
    "mapping_not_found": "no saved meaning for this header",
}


@dataclass(frozen=True, slots=True)
class PreviewColumn:
    """One column of an uploaded file, as the mapping page shows it."""

    index: int
    header: str  # as written
    key: str  # folded (headers.header_key): "" for an empty header, always ignored
    detected: str  # what Tambour reads it as by itself: a canonical column, FIELD or IGNORE
    meaning: str  # what is proposed: the advertiser's saved meaning, else `detected`
    saved: bool  # `meaning` is the advertiser's saved one
    suggestion: str | None  # for a personalization field, what its header suggests it may be


@dataclass(frozen=True, slots=True)
class ImportPreview:
    upload: str
    encoding: str
    delimiter: str
    size: int  # bytes
    columns: tuple[PreviewColumn, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line, cells), the first few records


@dataclass(frozen=True, slots=True)
class SavedMeaning:
    """One entry of the advertiser's mapping."""

    key: str
    header: str
    meaning: str
    detected: str  # what Tambour would read the header as without it
    updated_at: datetime
    updated_by: str


# --- uploads ----------------------------------------------------------------------------------


def _advertiser(ctx: Context, slug: str) -> Advertiser:
    with reader(ctx.engine) as conn:
        return advertisers.get(conn, slug)


def _folder(files_dir: str | Path, advertiser: Advertiser) -> Path:
    return files.advertiser_folder(files_dir, files.UPLOADS, advertiser.id)


def save_upload(
    ctx: Context, *, slug: str, files_dir: str | Path, source: BinaryIO, most: int
) -> str:
    """Copy an uploaded file (`source`, read a chunk at a time) to a new owner-only file of the
    advertiser's uploads folder; its reference (the name the mapping page is at). Refused: an
    empty file, one larger than `most` bytes (nothing is kept)."""
    advertiser = _advertiser(ctx, slug)
    path = _folder(files_dir, advertiser) / files.new_name(_STEM, ".csv", ctx.now())
    fd = files.create_owner_only(path)
    size = 0
    try:
        try:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > most:
                    said = TEXTS["upload_too_large"].format(most=most)
                    raise InvalidInputError("file", "upload_too_large", said)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        if not size:
            raise InvalidInputError("file", "empty_upload", TEXTS["empty_upload"])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path.stem


def _upload_path(files_dir: str | Path, advertiser: Advertiser, upload: str) -> Path:
    path = _folder(files_dir, advertiser) / f"{upload}.csv"
    if not _UPLOAD.fullmatch(upload) or not path.is_file():
        said = TEXTS["upload_not_found"].format(upload=upload[:60])
        raise NotFoundError(said, code="upload_not_found", field="upload")
    return path


def upload_path(ctx: Context, *, slug: str, files_dir: str | Path, upload: str) -> Path:
    """The file of the advertiser's upload `upload` (NotFoundError for any other name)."""
    return _upload_path(files_dir, _advertiser(ctx, slug), upload)


def upload_of(ctx: Context, *, slug: str, files_dir: str | Path, job: Job) -> str | None:
    """The upload an import job of the web app read (to map it again), None for another
    import (a file the API or the command line gave) or one no longer there."""
    named = job.arguments.get("path")
    if job.kind != contacts_import.KIND or not isinstance(named, str):
        return None
    path = Path(named)
    folder = _folder(files_dir, _advertiser(ctx, slug))
    if path.parent != folder or not _UPLOAD.fullmatch(path.stem) or not path.is_file():
        return None
    return path.stem


# --- what each column means --------------------------------------------------------------------


def detected(header: str) -> str:
    """What Tambour reads a column as by itself, without a mapping: the canonical column its
    header stands for, else a personalization field (IGNORE for an empty header)."""
    if not header_key(header):
        return IGNORE
    return lookup(header) or FIELD


def _saved(conn: Connection, advertiser: Advertiser) -> dict[str, tuple[str, str]]:
    """The advertiser's mapping: header key -> (meaning, header as written)."""
    rows = conn.execute(
        select(
            import_mappings.c.header_key, import_mappings.c.meaning, import_mappings.c.header
        ).where(import_mappings.c.advertiser_id == advertiser.id)
    )
    return {key: (meaning, header) for key, meaning, header in rows}


def _unreadable(error: ContactFileError) -> InvalidInputError:
    return InvalidInputError(
        "file", "unreadable_file", TEXTS["unreadable_file"].format(error=error)
    )


def _header_checked(header: Sequence[str]) -> None:
    """A first line holding a phone number is a contact, not a header (and the advertiser's
    mapping would keep the number)."""
    for name in header:
        phone = parse_phone(name)
        if any(c.isdigit() for c in name) and phone.e164 is not None and phone.valid:
            said = TEXTS["header_is_contact"].format(column=len(header))
            raise InvalidInputError("file", "header_is_contact", said)


def preview(
    ctx: Context, *, slug: str, files_dir: str | Path, upload: str, rows: int = PREVIEW_ROWS
) -> ImportPreview:
    """The uploaded file's first `rows` records and what each column is proposed to mean.
    Refused: an upload that is not the advertiser's (NotFoundError), a file that cannot be read
    as a contact file (InvalidInputError about `file`)."""
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        saved = _saved(conn, advertiser)
    path = _upload_path(files_dir, advertiser, upload)
    try:
        fmt, first = head(path, rows)
    except ContactFileError as error:
        raise _unreadable(error) from None
    _header_checked(fmt.header)
    columns = []
    taken: set[str] = set()
    for index, name in enumerate(fmt.header):
        key = header_key(name)
        found = detected(name)
        meaning, from_saved = found, False
        if key and key in saved:
            meaning, from_saved = saved[key][0], True
        if meaning in _CANONICAL:
            if meaning in taken:  # a second column of one meaning: proposed as a field
                meaning, from_saved = FIELD, False
            taken.add(meaning)
        columns.append(
            PreviewColumn(
                index, name, key, found, meaning, from_saved,
                suggest(name) if meaning == FIELD else None,
            )
        )  # fmt: skip
    shown = tuple((line, tuple(_shown(cell) for cell in cells)) for line, cells in first)
    return ImportPreview(
        upload, fmt.encoding, fmt.delimiter, path.stat().st_size, tuple(columns), shown
    )


def _shown(cell: str) -> str:
    cell = " ".join(cell.split())
    return cell if len(cell) <= SHOWN_CELL else cell[: SHOWN_CELL - 1] + "…"


def _field_key(name: str) -> str:
    """How the importer tells two personalization fields apart (reader._header_key)."""
    return _PUNCTUATION.sub("_", field_key(name)).strip("_")


def check_meanings(header: Sequence[str], meanings: Sequence[str]) -> dict[str, str]:
    """The mapping file's `[columns]` for these meanings of the file's columns (header as
    written -> canonical column, "" to ignore), once checked: every meaning known, one phone
    column, no meaning given twice, and each personalization field one the importer keeps as
    such. InvalidInputError with one problem per column at fault (`columns[i]`)."""
    if len(meanings) != len(header):
        said = TEXTS["wrong_column_count"].format(given=len(meanings), columns=len(header))
        raise InvalidInputError("columns", "wrong_column_count", said)
    problems: list[Problem] = []
    mapping: dict[str, str] = {}
    owner: dict[str, str] = {}  # a canonical column or a field's key -> the header having it
    for index, (name, meaning) in enumerate(zip(header, meanings, strict=True)):
        at = f"columns[{index}]"
        if meaning not in MEANINGS:
            said = TEXTS["invalid_meaning"].format(meaning=meaning[:40])
            problems.append(Problem(at, "invalid_meaning", said))
            continue
        if not header_key(name):
            continue  # an empty header: ignored whatever was said
        if meaning == IGNORE:
            mapping[name] = ""
            continue
        taken = meaning if meaning in _CANONICAL else _field_key(name)
        if taken in owner:
            said = TEXTS["column_taken"].format(meaning=taken, first=owner[taken], second=name)
            problems.append(Problem(at, "column_taken", said))
            continue
        owner[taken] = name
        if meaning != FIELD:
            mapping[name] = meaning
    claimed = set(mapping.values())
    for index, (name, meaning) in enumerate(zip(header, meanings, strict=True)):
        found = lookup(name)
        if meaning != FIELD or found is None or not header_key(name):
            continue
        if found not in claimed or header_key(name) in _CANONICAL_KEYS:
            said = TEXTS["field_not_possible"].format(header=name, meaning=found)
            problems.append(Problem(f"columns[{index}]", "field_not_possible", said))
    if "phone" not in claimed and not any(p.code == "invalid_meaning" for p in problems):
        problems.append(Problem("columns", "no_phone_column", TEXTS["no_phone_column"]))
    if problems:
        raise InvalidInputError.many(problems)
    return mapping


def _toml(mapping: dict[str, str]) -> str:
    lines = ["# Saved by the web app's mapping page: header as written = canonical column", ""]
    lines.append("[columns]")
    lines.extend(
        f"{json.dumps(name, ensure_ascii=False)} = {json.dumps(column)}"
        for name, column in mapping.items()
    )
    return "\n".join(lines) + "\n"


def _write_new(path: Path, text: str) -> None:
    fd = files.create_owner_only(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def start_import(
    ctx: Context,
    *,
    slug: str,
    files_dir: str | Path,
    upload: str,
    meanings: Sequence[str],
) -> Job:
    """Import the upload with these meanings of its columns (in the file's order): the mapping
    checked (`check_meanings`, then the importer's own reading of the header with it), written
    beside the upload, saved as the advertiser's mapping, and a `contacts.import` job queued
    (its rejects in French Excel's form, in the same folder)."""
    advertiser = _advertiser(ctx, slug)
    path = _upload_path(files_dir, advertiser, upload)
    try:
        fmt, _ = head(path, 1)
    except ContactFileError as error:
        raise _unreadable(error) from None
    _header_checked(fmt.header)
    mapping = check_meanings(fmt.header, meanings)
    now = ctx.now()
    mapping_path = path.with_name(files.new_name(f"{upload}.mapping", ".toml", now))
    _write_new(mapping_path, _toml(mapping))
    try:
        try:
            sniff(path, mapping, mapping_source=mapping_path)
        except ContactFileError as error:
            said = TEXTS["invalid_mapping"].format(error=error)
            raise InvalidInputError("columns", "invalid_mapping", said) from None
        rejects = path.with_name(files.new_name(f"{upload}.rejects", ".csv", now))
        asked = contacts_import.request(
            ctx, advertiser=slug, path=path, mapping_path=mapping_path, rejects_path=rejects,
            excel=True,
        )  # fmt: skip
        _save_mapping(ctx, advertiser, fmt, meanings)
        return jobs.submit(ctx, asked)
    except BaseException:
        mapping_path.unlink(missing_ok=True)
        raise


def _save_mapping(
    ctx: Context, advertiser: Advertiser, fmt: FileFormat, meanings: Sequence[str]
) -> None:
    """Keep what the person said of each header that differs from what Tambour reads by
    itself; forget an entry said back to the detected meaning (audited, without the headers:
    a header may be anything)."""
    now = ctx.now()
    chosen: dict[str, tuple[str, str]] = {}
    for name, meaning in zip(fmt.header, meanings, strict=True):
        key = header_key(name)
        if key and len(key) <= 200:
            chosen[key] = (name.strip()[:200], meaning)
    with ctx.engine.begin() as conn:
        saved = _saved(conn, advertiser)
        kept = forgotten = 0
        for key, (name, meaning) in chosen.items():
            table = import_mappings.c
            if meaning == detected(name):
                if key in saved:
                    conn.execute(
                        delete(import_mappings).where(
                            table.advertiser_id == advertiser.id, table.header_key == key
                        )
                    )
                    forgotten += 1
                continue
            if key in saved:
                if saved[key] == (meaning, name):
                    continue
                conn.execute(
                    update(import_mappings)
                    .where(table.advertiser_id == advertiser.id, table.header_key == key)
                    .values(header=name, meaning=meaning, updated_at=now, updated_by=ctx.actor)
                )
            else:
                conn.execute(
                    import_mappings.insert().values(
                        advertiser_id=advertiser.id, header_key=key, header=name,
                        meaning=meaning, updated_at=now, updated_by=ctx.actor,
                    )
                )  # fmt: skip
            kept += 1
        if kept or forgotten:
            audit.append(
                conn,
                actor=ctx.actor,
                action="contacts.mapping",
                advertiser_id=advertiser.id,
                details={"saved": kept, "forgotten": forgotten},
                at=now,
            )


# --- the advertiser's mapping ---------------------------------------------------------------


def saved_mapping(ctx: Context, *, slug: str) -> tuple[SavedMeaning, ...]:
    """The advertiser's mapping, by header."""
    table = import_mappings.c
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        rows = conn.execute(
            select(import_mappings)
            .where(table.advertiser_id == advertiser.id)
            .order_by(table.header_key)
        ).all()
    return tuple(
        SavedMeaning(r.header_key, r.header, r.meaning, detected(r.header), r.updated_at,
                     r.updated_by)
        for r in rows
    )  # fmt: skip


def forget(ctx: Context, *, slug: str, key: str) -> None:
    """Forget what the advertiser said of one header (audited); NotFoundError when nothing is
    saved for it."""
    table = import_mappings.c
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        gone = conn.execute(
            delete(import_mappings).where(
                table.advertiser_id == advertiser.id, table.header_key == key
            )
        ).rowcount
        if not gone:
            raise NotFoundError(TEXTS["mapping_not_found"], code="mapping_not_found", field="key")
        audit.append(
            conn,
            actor=ctx.actor,
            action="contacts.mapping",
            advertiser_id=advertiser.id,
            details={"saved": 0, "forgotten": 1},
            at=ctx.now(),
        )


# --- import jobs -----------------------------------------------------------------------------


def import_job(ctx: Context, *, slug: str, job_id: int) -> Job:
    """The advertiser's contacts import `job_id` (NotFoundError for another advertiser's job,
    or a job of another kind)."""
    advertiser = _advertiser(ctx, slug)
    job = jobs.get(ctx, job_id, advertiser_id=advertiser.id)
    if job.kind != contacts_import.KIND:
        said = TEXTS["not_an_import"].format(job_id=job_id)
        raise NotFoundError(said, code="job_not_found", field="job_id")
    return job


def recent_imports(ctx: Context, *, slug: str, limit: int = RECENT_IMPORTS) -> tuple[Job, ...]:
    """The advertiser's latest contacts imports, newest first."""
    advertiser = _advertiser(ctx, slug)
    page = jobs.list_jobs(ctx, advertiser_id=advertiser.id, kind=contacts_import.KIND, limit=limit)
    return page.jobs


def rejects_file(ctx: Context, *, slug: str, files_dir: str | Path, job_id: int) -> Path:
    """The rejects file of the advertiser's import `job_id`: a regular file of its uploads
    folder (NotFoundError for anything else, another advertiser's job included)."""
    job = import_job(ctx, slug=slug, job_id=job_id)
    named = (job.result or {}).get("rejects_file")
    folder = _folder(files_dir, _advertiser(ctx, slug)).resolve()
    if isinstance(named, str) and named and "\x00" not in named:
        path = Path(named).resolve()
        if path.is_relative_to(folder) and path.is_file():
            return path
    said = TEXTS["no_rejects"].format(job_id=job_id)
    raise NotFoundError(said, code="rejects_not_found", field="job_id")
