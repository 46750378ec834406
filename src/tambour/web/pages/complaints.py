"""33700 complaints, for the advertiser's team and the operator (services/complaints.py, as
`tambour complaints` and /api/v1/complaints use them):

- /a/{slug}/complaints: the complaint rates of the last 30 days (the advertiser's against its
  threshold, each campaign's, each sender's), its campaigns paused for them, the reports taken
  in, newest first, and the form that takes a 33700 file in (a marketer or an admin:
  Action.WRITE_CONTACTS), its result shown at once (taking the same file again changes
  nothing);
- /operator/complaints: the campaigns paused now, every advertiser's, each resumed there by an
  operator (only the operator lifts a pause).
"""

from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import File, Form, Request, UploadFile
from starlette.responses import Response

from tambour import i18n
from tambour.api.auth import runtime
from tambour.services import complaints, import_mapping
from tambour.services.complaints import ComplaintImport
from tambour.services.context import Context, ServiceError
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Operator, Page

router = WebRouter()
N_ = i18n.N_
# Why a row of a 33700 file was not taken, by its code (services/complaints.ROW_TEXTS).
ROW_REASONS: Final = {
    "invalid_number": N_("not a valid phone number"),
    "missing_sender": N_("no sender"),
    "invalid_sender": N_("a sender has 16 characters at most, and no control character"),
    "foreign_sender": N_("not one of the advertiser's sender IDs or short number"),
    "missing_date": N_("no date"),
    "invalid_date": N_("not a date (2026-12-01 or 01/12/2026, with its time when known)"),
    "reported_in_future": N_("dated after now"),
}
ROW_FIELDS: Final = {
    "number": N_("reported number"),
    "sender": N_("sender"),
    "reported_at": N_("date of the report"),
}
REPORT_STATES: Final = {
    "matched": N_("matched to its message"),
    "unmatched": N_("no message found"),
}
NO_FILE: Final = N_("Choose the 33700 file to take in.")
RESUMED: Final = N_("The campaign is resumed: its waiting messages are queued again.")


def _labels(lang: str) -> dict[str, dict[str, str]]:
    _ = i18n.translator(lang).gettext
    return {
        "reasons": {code: _(text) for code, text in ROW_REASONS.items()},
        "fields": {code: _(text) for code, text in ROW_FIELDS.items()},
        "states": {code: _(text) for code, text in REPORT_STATES.items()},
    }


def _page(request: Request, desk: Desk, lang: str, *, status: int = 200, **values: Any) -> Response:
    shown = {
        "desk": desk,
        "rates": complaints.rates(desk.ctx, slug=desk.slug),
        "reports": complaints.list_reports(desk.ctx, slug=desk.slug, limit=100),
        "may_write": desk.can(Action.WRITE_CONTACTS),
        "result": None,
        "error": None,
        **_labels(lang),
        **values,
    }
    return render(request, "complaints/page.html", shown, status=status)


@router.get("/a/{slug}/complaints")
def complaints_page(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    return _page(request, desk, state.lang)


@router.post("/a/{slug}/complaints")
def take_file(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A 33700 file, taken in at once (the advertiser's own messages only)."""
    desk.require(Action.WRITE_CONTACTS)
    if file is None or not file.filename:
        said = i18n.translator(state.lang).gettext(NO_FILE)
        return _page(request, desk, state.lang, status=422, error=said)
    try:
        result = _take(request, desk, file)
    except ServiceError as error:
        said = refusals.said(error, state.lang)
        return _page(request, desk, state.lang, status=error.status, error=said)
    finally:
        file.file.close()
    return _page(request, desk, state.lang, result=result)


def _take(request: Request, desk: Desk, file: UploadFile) -> ComplaintImport:
    """The file written to a private file of the advertiser's uploads folder, taken in, then
    removed."""
    shared = runtime(request).settings
    folder = str(shared.base.files_dir)
    reference = import_mapping.save_upload(
        desk.ctx, slug=desk.slug, files_dir=folder, source=file.file,
        most=shared.max_upload_bytes,
    )  # fmt: skip
    path = import_mapping.upload_path(desk.ctx, slug=desk.slug, files_dir=folder, upload=reference)
    try:
        return complaints.import_file(
            desk.ctx, path=path, slug=desk.slug, name=Path(file.filename or "").name or None
        )
    finally:
        Path(path).unlink(missing_ok=True)


# --- the operator's ------------------------------------------------------------------------------


def _paused_page(
    request: Request, ctx: Context, lang: str, *, status: int = 200, **values: Any
) -> Response:
    done = request.query_params.get("done") == "resumed"
    shown = {
        "paused": complaints.paused_campaigns(ctx),
        "unattributed": complaints.unattributed(ctx),
        "notice": i18n.translator(lang).gettext(RESUMED) if done else None,
        "error": None,
        "tab": "complaints",
        **values,
    }
    return render(request, "operator/complaints.html", shown, status=status)


@router.get("/operator/complaints")
def paused_page(request: Request, ctx: Operator, state: Page) -> Response:
    return _paused_page(request, ctx, state.lang)


@router.post("/operator/complaints/resume")
def resume(
    request: Request,
    ctx: Operator,
    state: Page,
    campaign_id: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    try:
        complaints.resume(ctx, campaign_id=campaign_id)
    except ServiceError as error:
        said = refusals.said(error, state.lang)
        return _paused_page(request, ctx, state.lang, status=error.status, error=said)
    return redirect(request, "/operator/complaints?done=resumed")
