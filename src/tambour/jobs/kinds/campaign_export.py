"""`campaign.export`: a launched campaign's proof, one row a recipient, written to a new file
by services/campaign_export.py, as `tambour campaign export --csv` does.

The rows go to a hidden file beside the one asked for, owner-only, which takes the asked name
only once complete (a link: never over another file); a cancelled, failed or killed export
leaves no half-written file under that name, and a retry removes its earlier attempt's.
Progress: the recipients written, of the plan's."""

import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from tambour.jobs import files
from tambour.jobs.control import JobControl
from tambour.jobs.kinds import argument
from tambour.jobs.kinds.campaigns import named, of_job
from tambour.outfiles import EXCEL, PLAIN, create_private
from tambour.services import campaign_export
from tambour.services.campaigns import Campaign
from tambour.services.context import Conflict, Context, InvalidInput
from tambour.services.jobs import Job, JobRequest

KIND: Final = "campaign.export"
PHASE: Final = "recipients"


class ExportForm(StrEnum):
    CSV = "csv"  # commas, UTF-8 with a BOM, times in each recipient's own time
    EXCEL = "excel"  # what French Excel opens by a double click
    JSON = "json"  # JSON lines


TEXTS: Final = {
    "not_launched": "{name!r} is not launched: only a launched campaign's plan is frozen proof",
    "taken": "{path} exists already: name a new file",
    "no_folder": "the folder {path} does not exist",
}


SUFFIXES: Final = {ExportForm.CSV: ".csv", ExportForm.EXCEL: ".csv", ExportForm.JSON: ".jsonl"}


def fresh_file(
    files_dir: str | Path, campaign: Campaign, form: ExportForm, now: datetime
) -> tuple[Path, str]:
    """A new, unguessable name for an export of `campaign` in its advertiser's exports
    folder under `files_dir` (jobs/files.py: made owner-only if need be): the path, and the
    name relative to `files_dir` the job's result gives (the API serves the file by it)."""
    folder = files.advertiser_folder(files_dir, files.EXPORTS, campaign.advertiser.id)
    path = folder / files.new_name(f"campaign-{campaign.id}", SUFFIXES[ExportForm(form)], now)
    return path, files.relative(files_dir, path)


def request(
    ctx: Context,
    *,
    campaign: str | None = None,
    path: Path,
    form: ExportForm,
    advertiser: str | None = None,
    campaign_id: int | None = None,
    file: str | None = None,
) -> JobRequest:
    """An export job of the launched campaign `campaign` (or the one of id `campaign_id`) to
    the new file `path`; `file`: its name relative to the files folder, which the job's
    result gives back (`fresh_file`)."""
    found = named(ctx, campaign, advertiser, campaign_id)
    if found.launched_at is None:
        raise Conflict(
            TEXTS["not_launched"].format(name=found.name),
            code="campaign_not_launched",
            field="campaign",
        )
    _refuse_taken(path)
    if not path.parent.is_dir():
        raise InvalidInput("path", "folder_not_found", TEXTS["no_folder"].format(path=path.parent))
    arguments = {"campaign_id": found.id, "path": str(path.resolve()), "form": ExportForm(form)}
    if file is not None:
        arguments[files.OUTPUT_KEY] = file
    return JobRequest(KIND, found.advertiser.id, arguments)


def _refuse_taken(path: Path) -> None:
    if path.exists() or path.is_symlink():
        raise InvalidInput("path", "file_exists", TEXTS["taken"].format(path=path))


def run(ctx: Context, job: Job, control: JobControl) -> dict[str, Any]:
    campaign = of_job(ctx, job)
    path = Path(argument(job, "path", str))
    try:
        form = ExportForm(argument(job, "form", str))
    except ValueError:
        raise InvalidInput(
            "arguments.form", "invalid_argument", "the form is one of csv, excel, json"
        ) from None
    _refuse_taken(path)
    partial = path.with_name(f".{path.name}.job-{job.id}.part")
    partial.unlink(missing_ok=True)  # an earlier attempt's, its runner dead
    control.phase(PHASE, (campaign.plan_summary or {}).get("targeted"))
    # The rows' forms are the command line's own (imported here only: submitting a job
    # needs none of the command line).
    from tambour.cli.campaign_export_cmd import _json_lines, _table

    write = (
        _json_lines
        if form == ExportForm.JSON
        else _table(EXCEL if form == ExportForm.EXCEL else PLAIN)
    )
    try:
        with create_private(partial, "utf-8" if form == ExportForm.JSON else "utf-8-sig") as out:
            done = campaign_export.export(
                ctx, name=campaign.name, slug=campaign.advertiser.slug, write=write, out=out,
                form=form.value, header_lines=0 if form == ExportForm.JSON else 1,
                progress=control.advance,
            )  # fmt: skip
        try:
            os.link(partial, path)  # the whole file under its name at once, never over another
        except FileExistsError:  # made meanwhile, by someone else
            raise InvalidInput("path", "file_exists", TEXTS["taken"].format(path=path)) from None
    finally:
        partial.unlink(missing_ok=True)
    control.phase(PHASE, done.rows, done.rows)
    result = {
        "campaign": campaign.name,
        "campaign_id": campaign.id,
        "path": str(path),
        "form": form.value,
        "rows": done.rows,
        "generation": done.generation,
    }
    file = argument(job, files.OUTPUT_KEY, str, required=False)
    if file is not None:  # the name the API serves the file by, relative to the files folder
        result[files.OUTPUT_KEY] = file
    return result
