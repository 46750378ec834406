"""An advertiser's contact file (rules.md section 2), streamed into canonical rows.

The file is never loaded whole: a first cheap pass over the bytes (1 MiB chunks) settles the
encoding, then one `csv.reader` over the text yields the rows one by one, so memory does not grow
with the file. `sniff` tells the encoding, delimiter and what each column means; `read_contacts`
yields every record after the header with its physical line number, as a canonical row or as
rejects (a row is rejected whole, one `Reject` per problem); `RejectsWriter` writes the rejects
file the advertiser opens in Excel to fix them.

A cell holding a control character (NUL and the other C0 controls but tab, line feed and carriage
return, DEL, the C1 controls, the Unicode line and paragraph separators) rejects its row: it is
invisible in a spreadsheet, and PostgreSQL cannot store a NUL. A cell the rejects file or an
export wrote as `'=...` (`outfiles.spreadsheet_cell`) is read back without that quote.
"""

import codecs
import csv
import itertools
import json
import re
import stat
import tomllib
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Final, Self

from tambour.contacts.headers import header_key, lookup
from tambour.contacts.row import CANONICAL_COLUMNS, SCIENTIFIC, CanonicalRow, parse_row
from tambour.outfiles import (
    EXCEL,
    create_fresh,
    create_private,
    spreadsheet_row,
    unquote_cell,
)
from tambour.rules.template import field_key
from tambour.sms.phone import parse_phone

if TYPE_CHECKING:
    from _csv import Writer

__all__ = [
    "ContactFileError",
    "FileFormat",
    "Reject",
    "RejectsWriter",
    "control_character",
    "default_rejects_path",
    "head",
    "invalid_phone_reason",
    "load_mapping",
    "read_contacts",
    "sniff",
]

_CHUNK: Final = 1 << 20  # bytes per read of the encoding pass
_MAX_LINE: Final = 1 << 20  # characters in one physical line: more is not a contact file
_RECENT: Final = 8  # physical lines kept to show an unreadable record in the rejects file
_DELIMITERS: Final = (";", "\t", ",")  # on a tie the first wins: French exports use `;`
_CANONICAL: Final = frozenset(CANONICAL_COLUMNS)
_CANONICAL_KEYS: Final = frozenset(map(header_key, CANONICAL_COLUMNS))
_INVALID_PHONE: Final = "not a valid phone number"


def invalid_phone_reason(raw: str) -> str:
    """Why a cell is no phone number, with a hint when a spreadsheet wrote it as a number in
    scientific notation (`6.12346E+08`, or `6,12346E+08` with a French decimal comma)."""
    if SCIENTIFIC.fullmatch(raw):
        return (
            f"{_INVALID_PHONE}: {raw.strip()!r} is how a spreadsheet writes a number it stored "
            "as a number; format the column as text and export again"
        )
    return _INVALID_PHONE


_MAGIC: Final = (
    (b"\xff\xfe", "a UTF-16 text file (Excel 'Unicode text'): save it as 'CSV UTF-8'"),
    (b"\xfe\xff", "a UTF-16 text file: save it as 'CSV UTF-8'"),
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file: save it as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls): save it as 'CSV UTF-8'"),
)
_WORD: Final = re.compile(r"\w")
_PUNCTUATION: Final = re.compile(r"[\W_]+")
_REPR: Final = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_COLUMN_COUNT: Final = re.compile(r"\d+ fields?, the header has \d+")
# Characters no cell may hold (tab, line feed and carriage return may: a quoted cell can hold
# line breaks), and a quoted formula (`'=`, see `unquote_cell`): a record holding either goes
# through `_clean_record`. (Two searches, each behind a cheaper test: one costs 3 us a row.)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_QUOTED_FORMULA: Final = re.compile(r"'[=+\-@\t\r]")
_CONTROL_REASON: Final = "holds the control character"
_CONTROL_NAMES: Final = {0: " (NUL)", 0x7F: " (DEL)", 0x2028: " (line separator)",
                         0x2029: " (paragraph separator)"}  # fmt: skip


class ContactFileError(Exception):
    """The whole file cannot be read; the message says what and where (file, line)."""


@dataclass(frozen=True, slots=True)
class FileFormat:
    encoding: str  # "utf-8-sig" (BOM), "utf-8" or "cp1252"
    delimiter: str  # "," ";" or "\t"
    header: tuple[str, ...]  # as written in the file
    # Canonical name per header column; the header itself (stripped) for an unknown column kept
    # as a personalization field; None for a column the mapping ignores or with an empty header.
    columns: tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Reject:
    line: int  # physical line where the record starts (the header is line 1)
    field: str  # canonical field name, or "" for a row-level problem
    reason: str  # what is wrong, in words
    cells: tuple[str, ...]  # the raw cells as read


def regular_file(path: Path, what: str = "file") -> None:
    """Refuse what is not a regular file: a folder, a device (`/dev/zero` never ends), a pipe
    (opening it waits for a writer)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise ContactFileError(f"{path}: cannot open the {what}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = (
            "a folder" if stat.S_ISDIR(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a pipe" if stat.S_ISFIFO(mode)
            else "not a regular file"
        )  # fmt: skip
        raise ContactFileError(f"{path}: this is {kind}, not a {what}: give the path of a file")


def control_character(value: str) -> str | None:
    """Why `value` cannot be imported (the first control character in it, and where), or None."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    code = ord(found.group())
    return (
        f"{_CONTROL_REASON} U+{code:04X}{_CONTROL_NAMES.get(code, '')} at character "
        f"{found.start() + 1}, invisible in a spreadsheet: remove it"
    )


# -- encoding -----------------------------------------------------------------------------------


def _line_at(path: Path, offset: int) -> int:
    """The physical line holding byte `offset` (a rare error path: reads the file again)."""
    newlines = 0
    with path.open("rb") as f:
        while offset > 0:
            chunk = f.read(min(_CHUNK, offset))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            offset -= len(chunk)
    return newlines + 1


def _detect_encoding(path: Path) -> str:
    """utf-8-sig with a BOM; else utf-8 when the whole file decodes; else cp1252.

    One pass over the bytes in 1 MiB chunks (ASCII chunks are not even decoded). A file that is
    UTF-8 at first (a BOM, or accents that decode) and then is not is refused, with the line:
    read as cp1252 its accented names would come out as "HÃ©lÃ¨ne".
    """
    regular_file(path)
    try:
        f = path.open("rb")
    except OSError as error:
        raise ContactFileError(f"{path}: cannot open the file: {error.strerror}") from None
    with f:
        start = f.read(4)
        bom = start.startswith(codecs.BOM_UTF8)
        for magic, what in _MAGIC:
            if start.startswith(magic):
                raise ContactFileError(f"{path}: not a CSV file but {what}")
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0  # of the current chunk in the file
        utf8_seen = bom  # some non-ASCII text decoded as UTF-8
        utf8 = True
        while chunk := f.read(_CHUNK):
            if utf8:
                if chunk.isascii() and not decoder.getstate()[0]:
                    offset += len(chunk)
                    continue
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    if utf8_seen or not chunk[: error.start].isascii():
                        line = _line_at(path, offset + max(error.start, 0))
                        since = "the file starts with a UTF-8 BOM" if bom else "lines before are"
                        raise ContactFileError(
                            f"{path}: line {line}: mixed encodings, this line is not UTF-8 but "
                            f"{since}: save the file again as 'CSV UTF-8'"
                        ) from None
                    utf8 = False
                else:
                    utf8_seen = True
                    offset += len(chunk)
                    continue
            # cp1252 leaves five bytes undefined: a file holding one is neither encoding.
            for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D):
                at = chunk.find(byte)
                if at >= 0:
                    line = _line_at(path, offset + at)
                    raise ContactFileError(
                        f"{path}: line {line}: byte 0x{byte:02X} is neither UTF-8 nor "
                        "Windows-1252 text: save the file as 'CSV UTF-8'"
                    )
            offset += len(chunk)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ContactFileError(
                    f"{path}: the file ends in the middle of a UTF-8 character (truncated?)"
                ) from None
    if bom:
        return "utf-8-sig"
    return "utf-8" if utf8 else "cp1252"


# -- header -------------------------------------------------------------------------------------


class _LineTooLongError(Exception):
    pass


def _lines(f: IO[str], recent: deque[str]) -> Iterator[str]:
    """The file's physical lines, each at most _MAX_LINE characters; the last few kept."""
    readline = f.readline
    keep = recent.append
    while line := readline(_MAX_LINE):
        if len(line) == _MAX_LINE and line[-1] not in "\r\n":
            raise _LineTooLongError
        keep(line)
        yield line


def _open(path: Path, encoding: str) -> IO[str]:
    try:
        return path.open(encoding=encoding, newline="")
    except OSError as error:
        raise ContactFileError(f"{path}: cannot open the file: {error.strerror}") from None


def _sniff_delimiter(lines: Iterator[str]) -> str:
    """The candidate found most often outside quotes in the first line with any text."""
    text = ""
    for line in lines:
        if text or _WORD.search(line):
            text += line
            if text.count('"') % 2 == 0 or text.count("\n") > 20:
                break
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


def _read_header(reader: Iterator[list[str]]) -> list[str] | None:
    """The first record with any text: the records before it are blank."""
    for cells in reader:
        if any(_WORD.search(cell) for cell in cells):
            return cells
    return None


def _header_key(name: str) -> str:
    """Headers compare folded (`field_key`), any run of punctuation as one underscore:
    "Tél. portable" = "tel_portable", "Consent-At" = "consent_at"."""
    return _PUNCTUATION.sub("_", field_key(name)).strip("_")


def _canonical_target(target: str) -> str | None:
    """A mapping target as a canonical name, "" to ignore the column; None if unknown."""
    if not target.strip():
        return ""
    key = _header_key(target)
    return key if key in _CANONICAL else None


def _unknown_targets(mapping: Mapping[str, str]) -> list[str]:
    return [
        f"{header!r} = {target!r}"
        for header, target in mapping.items()
        if _canonical_target(target) is None
    ]


def _toml(text: str) -> str:
    """A header as a TOML string (JSON's escapes are TOML's), for a mapping line to copy."""
    return json.dumps(text, ensure_ascii=False)


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _mapped(
    path: Path, header: Sequence[str], mapping: Mapping[str, str], source: Path | None
) -> dict[str, str]:
    """The mapping by header key, checked against the file: each of its keys must name one of
    the file's columns (else the mapping was written for another file, or has a typo)."""
    unknown = _unknown_targets(mapping)
    if unknown:
        raise ContactFileError(
            f"{path}: the mapping names columns that do not exist: {', '.join(unknown)} "
            f"(canonical columns: {', '.join(CANONICAL_COLUMNS)})"
        )
    where = f"{source}: " if source is not None else f"{path}: the mapping's "
    mapped: dict[str, str] = {}
    written: dict[str, str] = {}  # key -> the mapping's key as written
    for name, target in mapping.items():
        key = header_key(name)
        column = _canonical_target(target) or ""
        if key in mapped and mapped[key] != column:
            raise ContactFileError(
                f"{where}keys {written[key]!r} and {name!r} name one column of the file but map "
                f"it to {mapped[key] or 'nothing'} and {column or 'nothing'}: keep one"
            )
        mapped[key], written[key] = column, name
    keys = {header_key(name) for name in header}
    missing = [name for name in mapping if header_key(name) not in keys]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise ContactFileError(
            f"{where}key{s} {_listed(missing)} match{'' if s else 'es'} no column of "
            f"{path.name}, whose columns are: {_listed([h for h in header if h.strip()])}"
        )
    return mapped


def _columns(
    path: Path,
    header: Sequence[str],
    mapping: Mapping[str, str] | None,
    source: Path | None = None,
) -> tuple[str | None, ...]:
    """The canonical column of each header: the mapping's, else the one the header stands for
    (`headers.lookup`), else the header itself, a personalization field. A column the mapping
    gives to a header is not also guessed for another: with `"Portable" = "phone"`, a
    `Téléphone` column stays a personalization field (one named `phone` is an error)."""
    mapped = _mapped(path, header, mapping, source) if mapping else {}
    claimed = {column for column in mapped.values() if column}
    columns: list[str | None] = []
    seen: dict[str, str] = {}  # key -> header as written
    for name in header:
        key = header_key(name)
        column: str | None
        if key in mapped:
            column = mapped[key] or None
        elif not key:
            column = None  # empty header: trailing columns of a spreadsheet export
        else:
            column = lookup(name)
            if column is None or (column in claimed and key not in _CANONICAL_KEYS):
                column = name.strip()  # a personalization field
        if column is not None:
            seen_key = column if column in _CANONICAL else _header_key(column)
            if seen_key in seen:
                raise ContactFileError(
                    f"{path}: columns {seen[seen_key]!r} and {name!r} are both {seen_key}: "
                    "keep one, or say which in a mapping file ([columns] with a line "
                    f'{_toml(name)} = "" to ignore one, or {_toml(name)} = "other_column")'
                )
            seen[seen_key] = name
        columns.append(column)
    if "phone" not in columns:
        raise ContactFileError(
            f"{path}: no phone column; the header has {_listed(header)}. Name the column "
            "'phone' (or téléphone, mobile, portable, numéro de mobile...) or map it in a "
            'mapping file ([columns] with a line "Your column" = "phone")'
        )
    return tuple(columns)


def sniff(
    path: Path, mapping: Mapping[str, str] | None = None, *, mapping_source: Path | None = None
) -> FileFormat:
    """Encoding, delimiter, header and the canonical name of each column of a contact file.

    `mapping_source`, the mapping file the mapping was read from, is named in its errors."""
    encoding, delimiter, header = _format(path)
    columns = _columns(path, header, mapping, mapping_source)
    return FileFormat(encoding, delimiter, tuple(header), columns)


def head(path: Path, rows: int) -> tuple[FileFormat, list[tuple[int, list[str]]]]:
    """A contact file's format, its columns not decided yet (all None), and the (line, cells)
    of its first `rows` records of the header's width: what a person is shown to say what each
    column means before the import (`sniff` then decides the columns, with their mapping)."""
    encoding, delimiter, header = _format(path)
    fmt = FileFormat(encoding, delimiter, tuple(header), (None,) * len(header))
    first: list[Record] = []
    for batch in read_batches(path, fmt, rows):  # the first batch only: the file is closed
        first = batch
        break
    return fmt, [(line, cells) for line, cells, _ in first if cells is not None]


def _format(path: Path) -> tuple[str, str, list[str]]:
    """A contact file's encoding, delimiter and header (its first record with any text)."""
    encoding = _detect_encoding(path)
    recent: deque[str] = deque(maxlen=_RECENT)
    with _open(path, encoding) as f:
        try:
            delimiter = _sniff_delimiter(_lines(f, recent))
            f.seek(0)
            reader = csv.reader(_lines(f, recent), delimiter=delimiter, strict=True)
            try:
                header = _read_header(reader)
            except csv.Error as error:
                raise ContactFileError(f"{path}: line {reader.line_num}: {error}") from None
            header_line = reader.line_num
        except _LineTooLongError:
            raise ContactFileError(
                f"{path}: the first line is longer than {_MAX_LINE} characters: not a CSV file"
            ) from None
    if header is None:
        raise ContactFileError(f"{path}: the file is empty")
    for index, name in enumerate(header):
        problem = control_character(name)
        if problem:
            raise ContactFileError(
                f"{path}: line {header_line}: the header's column {index + 1} ({name!r}) {problem}"
            )
    return encoding, delimiter, [unquote_cell(name) for name in header]


# -- rows ---------------------------------------------------------------------------------------


def _csv_reason(error: csv.Error, start: int, end: int) -> str:
    message = str(error)
    if message == "unexpected end of data":
        return f"unterminated quote: the quoted cell runs to the end of the file (line {end})"
    if message.startswith("field larger than field limit"):
        return (
            f"cell too long: more than {csv.field_size_limit()} characters, lines {start} to "
            f"{end} (a quote that never closes?)"
        )
    if "expected after" in message:
        return 'text after a closing quote: a quote inside a quoted cell is written ""'
    return f"unreadable record: {message}"


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _selector(
    columns: Sequence[str | None],
) -> tuple[tuple[str, ...], Callable[[list[str]], Sequence[str]] | None]:
    """The names of the kept columns, and how to pick their cells (None: every cell)."""
    kept = [i for i, column in enumerate(columns) if column is not None]
    names = tuple(columns[i] or "" for i in kept)
    if len(kept) == len(columns):
        return names, None
    if len(kept) == 1:
        only = kept[0]
        return names, lambda cells: (cells[only],)
    return names, itemgetter(*kept)


@dataclass(frozen=True, slots=True)
class RecordShape:
    """How a record's cells become a row: the kept columns' names and how to pick them."""

    names: tuple[str, ...]
    select: Callable[[list[str]], Sequence[str]] | None

    @classmethod
    def of(cls, fmt: FileFormat) -> "RecordShape":
        names, select = _selector(fmt.columns)
        return cls(names, select)


Record = tuple[int, list[str] | None, list[Reject]]  # (line, cells or None, why unreadable)


def read_records(path: Path, fmt: FileFormat) -> Iterator[Record]:
    """Yield (line, cells, rejects) for each record after the header: the raw cells of a record
    of the header's width, or None with the reason it cannot be read (broken quoting, wrong
    number of cells). Blank lines are skipped. Only the csv module's work: cheap, in order."""
    for batch in read_batches(path, fmt, 1000):
        yield from batch


def _unreadable(path: Path, error: csv.Error, start: int, end: int, recent: deque[str]) -> Record:
    """The record the csv module could not read, lines `start` to `end`, as a reject."""
    if end < start:  # pragma: no cover - the csv module always consumes a line
        raise ContactFileError(f"{path}: line {start}: {error}")
    span = end - start + 1
    raw = tuple(r.rstrip("\r\n") for r in recent)[-span:] if span <= _RECENT else ()
    return (start, None, [Reject(start, "", _csv_reason(error, start, end), raw)])


def _clean_record(line: int, cells: list[str], columns: Sequence[str | None]) -> list[Reject]:
    """A record holding a control character or a quoted formula: its quoted formulas unquoted
    (in place), and one `Reject` per imported cell holding a control character (a column the
    import ignores is not looked at)."""
    problems: list[tuple[str, str]] = []
    for index, cell in enumerate(cells):
        problem = control_character(cell)
        if problem is not None:
            column = columns[index]
            if column is not None:
                problems.append((column, problem))
        elif cell[:1] == "'":
            cells[index] = unquote_cell(cell)
    raw = tuple(cells)
    return [Reject(line, column, problem, raw) for column, problem in problems]


def read_batches(
    path: Path, fmt: FileFormat, size: int, share: tuple[int, int] = (0, 1)
) -> Iterator[list[Record]]:
    """The records of `read_records` in batches of `size`. With `share` (k, n), only every n-th
    batch from the k-th: the others are read just enough to know where records start (several
    processes can each take a share of one file, and no record is cut in two)."""
    mine, every = share
    width = len(fmt.header)
    control, quoted, join = _CONTROL.search, _QUOTED_FORMULA.search, "".join
    recent: deque[str] = deque(maxlen=_RECENT)
    with _open(path, fmt.encoding) as f:
        reader = csv.reader(_lines(f, recent), delimiter=fmt.delimiter, strict=True)
        next_record = reader.__next__
        end = 0
        try:
            _read_header(reader)
            end = reader.line_num
            for index in itertools.count():
                if index % every != mine:  # counted as below, nothing kept
                    counted = 0
                    while counted < size:
                        try:
                            cells = next_record()
                        except StopIteration:
                            return
                        except csv.Error:
                            counted += 1
                            continue
                        if len(cells) == width or (cells and not _is_blank(cells)):
                            counted += 1
                    end = reader.line_num
                    continue
                batch: list[Record] = []
                while len(batch) < size:
                    try:
                        cells = next_record()
                    except StopIteration:
                        break
                    except csv.Error as error:
                        start, end = end + 1, reader.line_num
                        batch.append(_unreadable(path, error, start, end, recent))
                        continue
                    start, end = end + 1, reader.line_num
                    if len(cells) != width:
                        if cells and not _is_blank(cells):
                            count = f"{len(cells)} field{'s' if len(cells) != 1 else ''}"
                            reason = f"{count}, the header has {width}"
                            batch.append((start, None, [Reject(start, "", reason, tuple(cells))]))
                        continue
                    text = join(cells)
                    if (not text.isprintable() and control(text)) or ("'" in text and quoted(text)):
                        controls = _clean_record(start, cells, fmt.columns)
                        if controls:
                            batch.append((start, None, controls))
                            continue
                    batch.append((start, cells, []))
                if batch:
                    yield batch
                if len(batch) < size:
                    return
        except _LineTooLongError:
            raise ContactFileError(
                f"{path}: line {end + 1} is longer than {_MAX_LINE} characters"
            ) from None
        except UnicodeDecodeError:
            raise ContactFileError(
                f"{path}: line {end + 1}: cannot be decoded as {fmt.encoding} "
                "(has the file changed while it was read?)"
            ) from None


def check_record(
    line: int, cells: list[str], shape: RecordShape
) -> tuple[CanonicalRow | None, list[Reject]]:
    """Parse one record's cells: the row, or None with one `Reject` per problem. A blank row
    (only delimiters) gives (None, []). Pure: it may run in another process."""
    kept = cells if shape.select is None else shape.select(cells)
    # Non-empty cells by column name, all in C; the lengths are equal (checked by the reader).
    values = dict(compress(zip(shape.names, kept, strict=False), kept))
    if not values:
        return None, []
    row, errors = parse_row(values)
    if row is None:
        if _is_blank(kept):
            return None, []
        rejects = [Reject(line, e.field, e.message, tuple(cells)) for e in errors]
        phone = values.get("phone", "")
        if phone.strip() and all(e.field != "phone" for e in errors):
            info = parse_phone(phone.strip())
            if info.e164 is None or not info.valid:
                rejects.insert(0, Reject(line, "phone", invalid_phone_reason(phone), tuple(cells)))
        return None, rejects
    if row.phone.e164 is None or not row.phone.valid:
        return None, [Reject(line, "phone", invalid_phone_reason(row.phone_raw), tuple(cells))]
    return row, []


def read_contacts(
    path: Path, mapping: Mapping[str, str] | None = None
) -> Iterator[tuple[int, CanonicalRow | None, list[Reject]]]:
    """Yield (line, row, rejects) for each record after the header.

    `row` is None when the record is rejected, with one `Reject` per problem; blank lines are
    skipped. Raises ContactFileError when the file as a whole cannot be read.
    """
    fmt = sniff(path, mapping)
    shape = RecordShape.of(fmt)
    for line, cells, rejects in read_records(path, fmt):
        if cells is None:
            yield line, None, rejects
            continue
        row, problems = check_record(line, cells, shape)
        if row is not None or problems:
            yield line, row, problems


# -- mapping file -------------------------------------------------------------------------------


def load_mapping(path: Path) -> dict[str, str]:
    """A TOML mapping: `[columns]` with `"header as written" = "canonical_name"` lines, an empty
    name ignoring the column. Canonical names are returned as such, "" for ignored columns."""
    regular_file(path, "mapping file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise ContactFileError(f"{path}: cannot read the mapping file: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ContactFileError(f"{path}: the mapping file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ContactFileError(f"{path}: not a valid TOML mapping file: {error}") from None
    columns = data.get("columns")
    if not isinstance(columns, dict):
        raise ContactFileError(
            f'{path}: no [columns] table (expected lines like "Téléphone portable" = "phone")'
        )
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for header, target in columns.items():
        if not isinstance(target, str):
            raise ContactFileError(
                f"{path}: column {header!r} must map to a column name in quotes, not {target!r}"
            )
        canonical = _canonical_target(target)
        if canonical is None:
            unknown.append(f"{header!r} = {target!r}")
        else:
            mapping[header] = canonical
    if unknown:
        raise ContactFileError(
            f"{path}: unknown canonical column in {', '.join(unknown)} "
            f"(canonical columns: {', '.join(CANONICAL_COLUMNS)}; empty to ignore a column)"
        )
    return mapping


# -- rejects file -------------------------------------------------------------------------------


def default_rejects_path(path: Path) -> Path:
    """Beside the input: contacts.csv -> contacts.rejects.csv."""
    return path.with_name(f"{path.stem}.rejects{path.suffix or '.csv'}")


def _category(field: str, reason: str) -> str:
    """A short, value-free key for counting rejects: "consent_at: not a date"."""
    if not field:
        category = "column count" if _COLUMN_COUNT.match(reason) else reason.partition(":")[0]
        return f"row: {category}"
    if reason.startswith(_INVALID_PHONE):
        category = "invalid number"
    elif reason.startswith(_CONTROL_REASON):
        category = "control character"
    elif field == "phone" and reason.endswith("missing"):
        category = "missing"
    else:
        text = _REPR.sub(" ", reason).split(" (")[0]
        category = " ".join(text.split()).removeprefix("is ")[:60] or "invalid"
    return f"{field}: {category}"


class RejectsWriter:
    """Writes the rejects file: `line`, `field`, `reason`, then the input's columns with the raw
    cells; UTF-8 with a BOM (Excel reads it right) and the input's delimiter, no cell a
    spreadsheet would run as a formula (`outfiles.spreadsheet_cell`).

    With `excel`, the delimiter is French Excel's `;` whatever the input's.

    The file is created with the writer, readable by its owner only, and never over another
    file: at `path` (FileExistsError when something is there), or with `fresh` at the first free
    name of `path`, `name-2.ext`, `name-3.ext`... (`self.path` says which). It is removed at
    `close` when no row was rejected, so a clean import leaves none. Call `write` once per
    rejected row."""

    def __init__(
        self, path: Path, fmt: FileFormat, *, fresh: bool = False, excel: bool = False
    ) -> None:
        file: IO[str]
        if fresh:
            self.path, file = create_fresh(path, "utf-8-sig")
        else:
            self.path, file = path, create_private(path, "utf-8-sig")
        self._file: IO[str] | None = file
        self.fmt = fmt
        # French Excel opens a file in columns by a double click when they are `;`-separated.
        self.delimiter = EXCEL.delimiter if excel else fmt.delimiter
        self.count = 0  # rows rejected
        self.by_reason: Counter[str] = Counter()  # field errors by _category
        self._writer: Writer | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, rejects: list[Reject]) -> None:
        """Record one rejected row: one line per problem. An empty list writes nothing."""
        if not rejects:
            return
        writer = self._writer
        if writer is None:
            if self._file is None:
                raise ValueError("the rejects file is closed")
            writer = self._writer = csv.writer(self._file, delimiter=self.delimiter)
            writer.writerow(spreadsheet_row(("line", "field", "reason", *self.fmt.header)))
        self.count += 1
        for reject in rejects:
            writer.writerow(
                spreadsheet_row((reject.line, reject.field, reject.reason, *reject.cells))
            )
            self.by_reason[_category(reject.field, reject.reason)] += 1

    def close(self) -> None:
        """Close the file; remove it when no row was rejected (it is empty, and ours)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None
            if not self.count:
                self.path.unlink(missing_ok=True)
