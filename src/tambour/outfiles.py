"""Files Tambour writes for people (rejects, exports, plan CSV): readable by their owner only,
never written over another file, and without a cell a spreadsheet would run as a formula.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel and
LibreOffice (OWASP, "CSV injection"): `=HYPERLINK(...)` in a first name would run when the
marketer opens the export. `spreadsheet_cell` writes it after a single quote, which the
spreadsheet shows as text; an E.164 number (`+33612345678`) is left as is. The contact reader
takes that quote away again (`unquote_cell`), so an export imports back unchanged.
"""

import csv
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

from tambour.contacts.values import paris_time

__all__ = [
    "EXCEL",
    "OWNER_ONLY",
    "PLAIN",
    "TableStyle",
    "TableWriter",
    "create_fresh",
    "create_private",
    "spreadsheet_cell",
    "spreadsheet_row",
    "unquote_cell",
]

OWNER_ONLY: Final = 0o600
_FORMULA_START: Final = frozenset("=+-@\t\r")
# A value `spreadsheet_cell` quotes: a formula start, after any number of quotes (so that a
# value which itself starts with quotes comes back from `unquote_cell` as it was).
_QUOTED: Final = re.compile(r"'*[=+\-@\t\r]")
_E164: Final = re.compile(r"\+[1-9]\d{1,14}")
_MAYBE_QUOTED: Final = _FORMULA_START | {"'"}  # the first characters `_QUOTED` may match
_FRESH_TRIES: Final = 1000


def spreadsheet_cell(value: str) -> str:
    """`value` as a CSV cell no spreadsheet runs: a formula start gets a leading `'`."""
    # The first character first: most cells start with none of these (a third of the cost of
    # a million-row export went to the pattern before this test).
    if value[:1] in _MAYBE_QUOTED and _QUOTED.match(value) and not _E164.fullmatch(value):
        return "'" + value
    return value


def unquote_cell(value: str) -> str:
    """The value `spreadsheet_cell` was given: its leading `'` removed, if it added one."""
    if value[:1] == "'" and _QUOTED.match(value, 1):
        return value[1:]
    return value


def spreadsheet_row(cells: Iterable[object]) -> list[object]:
    """A row for `csv.writer`, its text cells through `spreadsheet_cell` (numbers as they are)."""
    maybe, quoted = _MAYBE_QUOTED, spreadsheet_cell
    return [quoted(c) if isinstance(c, str) and c[:1] in maybe else c for c in cells]


def create_private(path: Path, encoding: str = "utf-8") -> IO[str]:
    """A new text file for writing, readable by its owner only (created so, never chmod-ed
    after). Raises FileExistsError when anything is there already: no file is written over."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, OWNER_ONLY)
    try:
        return os.fdopen(fd, "w", encoding=encoding, newline="")
    except BaseException:
        os.close(fd)
        raise


def create_fresh(path: Path, encoding: str = "utf-8") -> tuple[Path, IO[str]]:
    """Like `create_private`, at `path` or, when something is there, at the first free one of
    `name-2.ext`, `name-3.ext`...; returns the path taken with the open file."""
    candidate = path
    for n in range(2, _FRESH_TRIES + 2):
        try:
            return candidate, create_private(candidate, encoding)
        except FileExistsError:
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    raise FileExistsError(f"{path} and {_FRESH_TRIES} numbered files beside it exist already")


_EXCEL_TIME: Final = "%d/%m/%Y %H:%M:%S"


@dataclass(frozen=True)
class TableStyle:
    """How a CSV for people is written: `PLAIN` (commas, UTF-8 with a BOM, ISO 8601 times with
    their offset) or `EXCEL` (what French Excel opens in columns by a double click: semicolons,
    UTF-8 with a BOM, times as `09/12/2026 10:00:00` in Paris time)."""

    delimiter: str
    encoding: str
    excel: bool

    def time(self, value: datetime | str | None) -> str:
        """A time cell: ISO 8601 as given, or Paris local time for Excel. A string that is
        not an ISO 8601 time with an offset is left as it is."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            if not self.excel:
                return value
            try:
                instant = datetime.fromisoformat(value)
            except ValueError:
                return value
        else:
            instant = value
        if not self.excel:
            return instant.isoformat()
        if instant.tzinfo is None:  # a wall-clock time as given: nothing to convert
            return instant.strftime(_EXCEL_TIME)
        return paris_time(instant, seconds=True)  # what the importer reads back


PLAIN: Final = TableStyle(delimiter=",", encoding="utf-8-sig", excel=False)
EXCEL: Final = TableStyle(delimiter=";", encoding="utf-8-sig", excel=True)


class TableWriter:
    """Rows of a CSV for people in a `TableStyle`: no cell a spreadsheet would run
    (`spreadsheet_cell`), the cells of `time_columns` (by header name) written by
    `TableStyle.time`. Give it a file opened with `style.encoding` and `newline=""`.

    `own_columns`: columns that only ever hold Tambour's own values (codes, numbers, times it
    formats), never a text that came from outside: not checked for a formula start, which
    spares a million-row export most of that work. Every other column is checked."""

    def __init__(
        self,
        handle: IO[str],
        style: TableStyle,
        header: Sequence[str],
        time_columns: Iterable[str] = (),
        own_columns: Iterable[str] = (),
    ) -> None:
        self._writer = csv.writer(handle, delimiter=style.delimiter)
        self._style = style
        wanted, own = frozenset(time_columns), frozenset(own_columns)
        self._times = [i for i, name in enumerate(header) if name in wanted]
        self._checked = [i for i, name in enumerate(header) if name not in own]
        self._everything = len(self._checked) == len(header)
        self._writer.writerow(spreadsheet_row(header))

    def row(self, cells: Sequence[Any]) -> None:
        values = list(cells)
        time = self._style.time
        for i in self._times:
            values[i] = time(values[i])
        if self._everything:
            self._writer.writerow(spreadsheet_row(values))
            return
        maybe = _MAYBE_QUOTED
        for i in self._checked:
            value = values[i]
            if isinstance(value, str) and value[:1] in maybe:
                values[i] = spreadsheet_cell(value)
        self._writer.writerow(values)
