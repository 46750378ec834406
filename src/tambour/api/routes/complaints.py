"""`/api/v1/complaints`: 33700 spam reports taken in (a batch as JSON, or the 33700 file as the
body, text/csv), matched to the messages sent and suppressing their numbers
(services/complaints.py, as `tambour complaints` does); the reports kept and the complaint
rates per 1,000 messages. An advertiser's key reports about its own messages only; the
operator's batch (`/complaints/platform`) goes across advertisers, each report to the owner of
its sender. Resuming a paused campaign is `POST /api/v1/campaigns/{id}/resume`, the operator's.
A number is never shown back nor logged."""

from typing import Annotated, Final

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from tambour.api.auth import Caller, Shared, require
from tambour.api.routes.contacts import UPLOAD_BODY, UPLOAD_PROBLEMS, declared_size, uploaded
from tambour.api.routes.tenancy import Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.complaints import (
    ComplaintImportOut,
    ComplaintRatesOut,
    ComplaintReportOut,
    ReportBatch,
)
from tambour.services import complaints
from tambour.services.api_keys import Scope
from tambour.services.complaints import Rejected, Report
from tambour.services.context import Context

router = V1Router(prefix=f"{V1}/complaints", tags=["complaints"])
MAX_LISTED: Final = 1000
_FILE_BODY: Final = {
    "requestBody": {
        **UPLOAD_BODY["requestBody"],
        "description": "The 33700 file itself (CSV with a header: the reported number, the "
        "sender, the date, and the text and the time when given; French or English headers; "
        "`,`, `;` or tab; UTF-8 or Windows-1252).",
    }
}


def _reports(body: ReportBatch, rejected: list[Rejected]) -> list[Report]:
    found = []
    for line, item in enumerate(body.reports, 1):
        read = complaints.report_of(item.number, item.sender, item.reported_at, item.text, line)
        if isinstance(read, Rejected):
            rejected.append(read)
        else:
            found.append(read)
    return found


def _take(ctx: Context, body: ReportBatch, slug: str | None) -> ComplaintImportOut:
    rejected: list[Rejected] = []
    reports = _reports(body, rejected)
    done = complaints.import_reports(
        ctx, reports=reports, slug=slug, origin="api", read_rejects=rejected
    )
    return ComplaintImportOut.of(done)


@router.post("", summary="Take in 33700 reports about the advertiser's messages (a JSON batch)")
def add_complaints(
    body: ReportBatch, caller: Caller, advertiser: Tenant, shared: Shared
) -> ComplaintImportOut:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    return _take(shared.context(caller), body, advertiser)


@router.post(
    "/platform",
    summary="Take in 33700 reports across advertisers, each to the owner of its sender (operator)",
)
def add_platform_complaints(
    body: ReportBatch, caller: Caller, shared: Shared
) -> ComplaintImportOut:
    require(caller, Scope.OPERATOR)
    return _take(shared.context(caller), body, None)


@router.post(
    "/files",
    summary="Take in a 33700 file (the body, text/csv) about the advertiser's messages",
    dependencies=[Depends(declared_size)],
    openapi_extra=_FILE_BODY,
    responses=UPLOAD_PROBLEMS,
)
async def import_complaints(
    request: Request, caller: Caller, advertiser: Tenant, shared: Shared
) -> ComplaintImportOut:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    ctx = shared.context(caller)
    path = await uploaded(request, ctx, advertiser, "complaints")
    try:
        done = await run_in_threadpool(
            lambda: complaints.import_file(ctx, path=path, slug=advertiser)
        )
    finally:
        path.unlink(missing_ok=True)  # taken in: the file is not kept
    return ComplaintImportOut.of(done)


@router.get("", summary="The advertiser's 33700 reports, newest first")
def list_complaints(
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    state: Annotated[str | None, Query(pattern="^(matched|unmatched)$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> list[ComplaintReportOut]:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = complaints.list_reports(
        shared.context(caller), slug=advertiser, state=state, limit=limit
    )
    return [ComplaintReportOut.of(report) for report in found]


@router.get(
    "/rates",
    summary="Complaints per 1,000 messages sent over the last 30 days: the advertiser's, each "
    "campaign's, each sender's; its threshold and its campaigns paused",
)
def complaint_rates(caller: Caller, advertiser: Tenant, shared: Shared) -> ComplaintRatesOut:
    require(caller, Scope.OPERATOR, Scope.READ)
    return ComplaintRatesOut.of(complaints.rates(shared.context(caller), slug=advertiser))
