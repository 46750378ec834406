"""`/api/v1/contacts`: the advertiser's contacts. One created or updated with its facts
(services/contact_writes.py: the import's own checks and writes), one shown with its standing
and timeline, a list by pages with filters, a contacts file uploaded and imported as a job
(`contacts.import`), and an export as a job (`contacts.export`, its file then at
`GET /api/v1/jobs/{id}/file`). Another advertiser's contact is 404, as one that does not exist.

An upload is the request's body itself (`Content-Type: text/csv`), streamed to an owner-only
file under files_dir (TAMBOUR_FILES_DIR, which the workers share), never held whole in memory
by this route; over `TAMBOUR_API_MAX_UPLOAD` bytes it is refused 413 and nothing is kept."""

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tambour.api import pagination, texts
from tambour.api.auth import Caller, Shared, require, runtime
from tambour.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from tambour.api.problems import ApiError, FieldError, language
from tambour.api.routes.tenancy import Id, Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.contacts import (
    Contact,
    ContactIn,
    ContactListed,
    ContactPage,
    ExportCreate,
)
from tambour.api.schemas.jobs import Job
from tambour.api.schemas.problems import Problem
from tambour.jobs import files
from tambour.jobs.kinds import contacts_export, contacts_import
from tambour.services import advertisers, contact_reads, contact_writes, jobs
from tambour.services.api_keys import Scope
from tambour.services.contacts import valid_number
from tambour.services.context import Context

router = V1Router(prefix=f"{V1}/contacts", tags=["contacts"])

# What an upload may be sent as: a CSV file (a browser may call it a spreadsheet or plain text).
UPLOAD_TYPES: Final = (
    "text/csv", "application/csv", "text/plain", "application/vnd.ms-excel",
    "application/octet-stream",
)  # fmt: skip
_WRITE_CHUNK: Final = 1 << 20  # bytes gathered before each write to disk
UPLOAD_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "The contacts file itself (CSV: the canonical columns of docs/rules.md "
        "or the headers French files use; `,`, `;` or tab; UTF-8 or Windows-1252).",
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    413: {"model": Problem, "description": "The file is larger than the server takes."},
    415: {"model": Problem, "description": "Not a CSV file sent as the body."},
}


@router.post(
    "",
    status_code=201,
    summary="Create or update a contact with its facts (201 created, 200 updated)",
    responses={200: {"model": Contact, "description": "An existing contact, updated or not."}},
)
def save_contact(
    body: ContactIn, response: Response, caller: Caller, advertiser: Tenant, shared: Shared
) -> Contact:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    ctx = shared.context(caller)
    saved = contact_writes.save(ctx, slug=advertiser, contact=body.typed())
    if not saved.created:
        response.status_code = 200
    return Contact.of(contact_reads.get(ctx, slug=advertiser, contact_id=saved.id))


@router.get("", summary="Contacts, by number, with filters")
def list_contacts(
    request: Request,
    response: Response,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    number: Annotated[
        str | None,
        Query(min_length=1, max_length=40, description="Only this number (any notation)."),
    ] = None,
    opted_out: Annotated[
        bool | None,
        Query(description="Only those whose evidence holds an opposition (or none: false)."),
    ] = None,
    updated_since: Annotated[
        datetime | None, Query(description="Only those updated since (ISO 8601).")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ContactPage:
    require(caller, Scope.OPERATOR, Scope.READ)
    after = pagination.decode(request, cursor)
    if after is not None and not after.startswith("+"):
        raise pagination.invalid_cursor(request)
    found = contact_reads.list_contacts(
        shared.context(caller),
        slug=advertiser,
        e164=None if number is None else valid_number(number),
        opposed=opted_out,
        updated_since=updated_since,
        after=after,
        limit=limit,
    )
    return ContactPage(
        items=[ContactListed.of(contact) for contact in found.contacts],
        next=pagination.next_link(request, response, found.next_after),
    )


@router.get("/{contact_id}", summary="One contact: its standing now and its timeline")
def get_contact(contact_id: Id, caller: Caller, advertiser: Tenant, shared: Shared) -> Contact:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = contact_reads.get(shared.context(caller), slug=advertiser, contact_id=contact_id)
    return Contact.of(found)


def declared_size(request: Request) -> None:
    """413 at once for a body declared larger than the server takes (before anything reads it:
    this runs before the Idempotency-Key guard)."""
    most = runtime(request).settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        raise ApiError(413, "upload_too_large", values={"most": most})


@router.post(
    "/imports",
    status_code=202,
    summary="Import a contacts file (the body, text/csv) as a contacts.import job",
    dependencies=[Depends(declared_size)],
    openapi_extra=UPLOAD_BODY,
    responses=UPLOAD_PROBLEMS,
)
async def import_contacts(
    request: Request, caller: Caller, advertiser: Tenant, shared: Shared
) -> Job:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    ctx = shared.context(caller)
    path = await uploaded(request, ctx, advertiser, "contacts")
    try:
        job = await run_in_threadpool(_queue_import, ctx, advertiser, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Job.of(job)


async def uploaded(request: Request, ctx: Context, advertiser: str, stem: str) -> Path:
    """The request's body (a CSV file: 415 for another type) written to a new owner-only file
    of the advertiser's uploads folder, named after `stem`; 413 past the size the server takes,
    422 for an empty body (nothing kept either way)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in UPLOAD_TYPES:
        raise ApiError(415, "unsupported_upload", values={"accepted": ", ".join(UPLOAD_TYPES)})
    shared = runtime(request).settings
    owner = await run_in_threadpool(advertisers.show, ctx, advertiser)
    folder = await run_in_threadpool(
        files.advertiser_folder, shared.base.files_dir, files.UPLOADS, owner.id
    )
    path = folder / files.new_name(stem, ".csv", ctx.now())
    try:
        if not await _spool(request, path, shared.max_upload_bytes):
            detail = texts.detail("empty_upload", language(request)) or ""
            raise ApiError(422, "empty_upload", errors=[FieldError("", "empty_upload", detail)])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _spool(request: Request, path: Path, most: int) -> int:
    """Write the request's body to the new owner-only file `path`, a chunk at a time; its
    size. 413 (the file removed by the caller) once it grows past `most` bytes."""
    fd = await run_in_threadpool(files.create_owner_only, path)
    size = 0
    pending: list[bytes] = []
    held = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > most:
                raise ApiError(413, "upload_too_large", values={"most": most})
            pending.append(chunk)
            held += len(chunk)
            if held >= _WRITE_CHUNK:
                await run_in_threadpool(_write_all, fd, b"".join(pending))
                pending, held = [], 0
        if pending:
            await run_in_threadpool(_write_all, fd, b"".join(pending))
    finally:
        os.close(fd)
    return size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _queue_import(ctx: Context, slug: str, path: Path) -> jobs.Job:
    return jobs.submit(ctx, contacts_import.request(ctx, advertiser=slug, path=path))


@router.post(
    "/exports",
    status_code=202,
    summary="Export the contacts (canonical CSV) as a contacts.export job; its file then at "
    "GET /api/v1/jobs/{id}/file",
)
def export_contacts(
    caller: Caller, advertiser: Tenant, shared: Shared, body: ExportCreate | None = None
) -> Job:
    require(caller, Scope.OPERATOR, Scope.READ)
    ctx = shared.context(caller)
    form = contacts_export.ExportForm((body or ExportCreate()).form)
    asked = contacts_export.request(
        ctx, advertiser=advertiser, files_dir=shared.settings.base.files_dir, form=form
    )
    return Job.of(jobs.submit(ctx, asked))
