"""`tambour campaign export`: a launched campaign's proof handed over, one row a recipient."""

import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any, Final
from zoneinfo import ZoneInfo

import orjson
import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import create_file, fail, progress
from tambour.outfiles import EXCEL, PLAIN, TableStyle, TableWriter
from tambour.services import campaign_export
from tambour.services.campaign_export import FIELDS, ExportRow

_SEND_AT, _SUBMITTED_AT, _VALID_UNTIL, _DELIVERED_AT, _DONE_AT = (
    FIELDS.index(name)
    for name in ("send_at", "submitted_at", "valid_until", "delivered_at", "done_at")
)
_REPEATED: Final = 10_000  # formatted send times and validities kept
_IDS: Final = FIELDS.index("message_ids")
# The columns of an export that hold only Tambour's own codes, numbers and formatted times.
OWN_COLUMNS: Final = frozenset(FIELDS) - {"phone", "text", "error", "message_ids"}
_JSON_BLOCK: Final = 1000  # lines written at a time
OPTIONS: Final = {"slug": "--advertiser"}  # the use case's parameters, as the command says
HINTS: Final = {
    "campaign_not_launched": (
        " (its plan is read with `campaign plan`, and frozen by `campaign launch`)"
    ),
}


def _cells(style: TableStyle) -> Callable[[ExportRow], list[Any]]:
    """A row's cells: its instants written by `style.time` (PLAIN in the recipient's own time,
    ISO 8601 with its offset, as `campaign plan` shows send times; EXCEL in Paris time), its
    parts' ids joined by spaces. Send times and validities repeat across recipients: each is
    formatted once (a few thousand kept); when the carrier took and settled each message is
    its own."""
    write = style.time
    local = not style.excel
    zones: dict[str, ZoneInfo] = {}
    seen: dict[tuple[datetime, str | None], str] = {}

    def zone_of(name: str | None) -> ZoneInfo | None:
        if not local or not name:
            return None
        found = zones.get(name)
        if found is None:
            found = zones[name] = ZoneInfo(name)
        return found

    def once(instant: datetime, name: str | None) -> str:
        key = (instant, name)
        found = seen.get(key)
        if found is None:
            tz = zone_of(name)
            found = write(instant if tz is None else instant.astimezone(tz))
            if len(seen) >= _REPEATED:
                seen.clear()
            seen[key] = found
        return found

    def cells(row: ExportRow) -> list[Any]:
        values: list[Any] = list(row)
        name = row.timezone
        if row.send_at is not None:
            values[_SEND_AT] = once(row.send_at, name)
        if row.state is not None:  # a message: when it left, and its fate
            tz = zone_of(name)
            if row.submitted_at is not None:
                at = row.submitted_at
                values[_SUBMITTED_AT] = write(at if tz is None else at.astimezone(tz))
            if row.valid_until is not None:
                values[_VALID_UNTIL] = once(row.valid_until, name)
            if row.done_at is not None:
                at = row.done_at
                done = values[_DONE_AT] = write(at if tz is None else at.astimezone(tz))
                if row.delivered_at is not None:
                    values[_DELIVERED_AT] = done
        values[_IDS] = " ".join(row.message_ids)
        return values

    return cells


def _table(style: TableStyle) -> campaign_export.RowWriter:
    """Rows as a CSV for people (`TableWriter`: no cell a spreadsheet would run), its header
    first."""

    def write(rows: Iterator[ExportRow], handle: IO[str]) -> int:
        # Instants formatted by _cells; only the text, the carrier's words and ids, and the
        # number (E.164, from the plan) can hold what a spreadsheet would run.
        table = TableWriter(handle, style, FIELDS, own_columns=OWN_COLUMNS)
        cells = _cells(style)
        count = 0
        for row in rows:
            table.row(cells(row))
            count += 1
        return count

    return write


def _json_lines(rows: Iterator[ExportRow], out: IO[str]) -> int:
    """One JSON object a line, keys in FIELDS order, instants in the recipients' own time."""
    cells = _cells(PLAIN)
    dumps = orjson.dumps
    count = 0
    lines: list[bytes] = []
    for row in rows:
        values = cells(row)
        values[_IDS] = list(row.message_ids)
        lines.append(dumps(dict(zip(FIELDS, values, strict=True))))
        count += 1
        if len(lines) >= _JSON_BLOCK:
            _write_lines(out, lines)
    _write_lines(out, lines)
    out.flush()
    return count


def _write_lines(out: IO[str], lines: list[bytes]) -> None:
    if lines:
        out.write(b"\n".join(lines).decode() + "\n")
        lines.clear()


def export(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    advertiser: Annotated[
        str | None,
        typer.Option(
            "--advertiser", help="The advertiser's slug (needed when two share the name)."
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Write the rows to this new CSV file, readable by you only (UTF-8 with a BOM, "
            "commas, times in each recipient's own time with their offset).",
        ),
    ] = None,
    excel: Annotated[
        bool,
        typer.Option(
            "--excel",
            help="With --csv: the CSV French Excel opens by a double click (semicolons, times "
            "as dd/mm/yyyy hh:mm:ss in Paris time).",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print JSON lines: one object a recipient, keys as the CSV."),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            help="Processes writing ranges of recipients beside this one (default: for "
            "50,000 recipients or more, one per core but one, one more on PostgreSQL; 0: none).",
        ),
    ] = None,
) -> None:
    """Every recipient of a launched campaign with the proof of its message: the frozen plan
    row (decision, basis or reason with its French label, deferral, territory, send time, the
    exact text and its parts) and the message's outcome (state and why, attempts, when the
    carrier took it, its validity, when it was delivered or its fate known, the carrier's error
    code and words, the carrier's id of each part). Excluded recipients have no message.

    Without --csv or --json, prints the CSV (commas, no BOM) on stdout. Columns: phone,
    decision, basis, reason, label, deferral, territory, timezone, send_at, segments, encoding,
    text, state, state_reason, attempts, submitted_at, valid_until, delivered_at, done_at,
    error_code, error, message_ids (space-separated). Rows in contact order, streamed. Refused
    before the campaign is launched: only a launched plan is frozen proof."""
    if excel and csv_path is None:
        fail("--excel: only with --csv FILE (the Excel form is a file)")
    if as_json and csv_path is not None:
        fail("--json and --csv: choose one")
    ctx = open_context()
    if csv_path is None:
        with refusals(OPTIONS, hints=HINTS):
            campaign_export.export(
                ctx, name=name, slug=advertiser, out=sys.stdout, workers=workers,
                write=_json_lines if as_json else _table(PLAIN),  # on stdout: no BOM
                form="json" if as_json else "csv", header_lines=0 if as_json else 1,
            )  # fmt: skip
        return
    handle = create_file(csv_path, "--csv")
    try:
        with (
            refusals(OPTIONS, hints=HINTS),
            handle,
            progress(f"exporting {name}", "rows", quiet=False) as advance,
        ):
            done = campaign_export.export(
                ctx, name=name, slug=advertiser, out=handle, workers=workers,
                write=_table(EXCEL if excel else PLAIN), form="excel" if excel else "csv",
                header_lines=1, progress=advance,
            )  # fmt: skip
    except BaseException:  # nothing half-written is left behind
        csv_path.unlink(missing_ok=True)
        raise
    typer.echo(f"exported {done.rows:,} recipient(s) of {done.campaign.name!r} to {csv_path}")
