"""`contacts.export`: an advertiser's contacts as the canonical CSV (services/contacts.export,
as `tambour contacts export` writes it), to a new file under files_dir that the job's result
names (`file`, relative to files_dir) for `GET /api/v1/jobs/{id}/file`.

The rows go to a hidden file beside the one named, owner-only, which takes its name only once
complete (a link: never over another file); a cancelled, failed or killed export leaves no
half-written file under that name, and a retry removes its earlier attempt's. Progress: the
contacts written."""

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from tambour.jobs import files
from tambour.jobs.control import JobControl
from tambour.jobs.kinds import advertiser_slug, argument
from tambour.outfiles import EXCEL, PLAIN, create_private
from tambour.services import advertisers, contacts
from tambour.services.context import Context, InvalidInput
from tambour.services.jobs import Job, JobRequest
from tambour.store.engine import reader

KIND: Final = "contacts.export"
PHASE: Final = "contacts"

TEXTS: Final = {
    "taken": "{path} exists already: name a new file",
    "bad_form": "the form is one of csv, excel",
}


class ExportForm(StrEnum):
    CSV = "csv"  # commas, UTF-8 with a BOM, ISO 8601 times
    EXCEL = "excel"  # what French Excel opens by a double click (semicolons, Paris times)


def request(
    ctx: Context, *, advertiser: str, files_dir: str | Path, form: ExportForm = ExportForm.CSV
) -> JobRequest:
    """An export job of advertiser `advertiser`'s contacts to a new file under `files_dir`."""
    with reader(ctx.engine) as conn:
        owner = advertisers.get(conn, advertiser)
    folder = files.advertiser_folder(files_dir, files.EXPORTS, owner.id)
    path = folder / files.new_name("contacts", ".csv", ctx.now())
    arguments = {
        "path": str(path),
        files.OUTPUT_KEY: files.relative(files_dir, path),
        "form": ExportForm(form).value,
    }
    return JobRequest(KIND, owner.id, arguments)


def run(ctx: Context, job: Job, control: JobControl) -> dict[str, Any]:
    slug = advertiser_slug(ctx, job)
    path = Path(argument(job, "path", str))
    output = argument(job, files.OUTPUT_KEY, str)
    try:
        form = ExportForm(argument(job, "form", str))
    except ValueError:
        raise InvalidInput("arguments.form", "invalid_argument", TEXTS["bad_form"]) from None
    if path.exists() or path.is_symlink():
        raise InvalidInput("path", "file_exists", TEXTS["taken"].format(path=path))
    partial = path.with_name(f".{path.name}.job-{job.id}.part")
    partial.unlink(missing_ok=True)  # an earlier attempt's, its runner dead
    style = EXCEL if form == ExportForm.EXCEL else PLAIN
    control.phase(PHASE)
    try:
        with create_private(partial, style.encoding) as out:
            rows = contacts.export(ctx, slug=slug, out=out, style=style, progress=control.advance)
        try:
            os.link(partial, path)  # the whole file under its name at once, never over another
        except FileExistsError:
            raise InvalidInput("path", "file_exists", TEXTS["taken"].format(path=path)) from None
    finally:
        partial.unlink(missing_ok=True)
    control.phase(PHASE, rows, rows)
    return {files.OUTPUT_KEY: output, "form": form.value, "rows": rows}
