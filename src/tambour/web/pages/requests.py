"""The register of data requests, for the advertiser's team (services/data_requests.py and
services/request_answers.py, as `tambour requests` and /api/v1/data-requests use them):

- /a/{slug}/requests: the register, open requests first by deadline (overdue ones said so),
  and the form that registers one (a marketer or an admin: Action.WRITE_CONTACTS);
- /a/{slug}/requests/{id}: one request, and what can be done with it while open: extend its
  deadline once, refuse it, or answer it by its kind: the person's data (the French document
  and the JSON copy, to download and send; nothing of it is kept), the erasure (confirmed first:
  it cannot be undone), the opt-out, or the corrected fields.
"""

import base64
import json
from typing import Annotated, Any, Final

from fastapi import Form, Path, Request
from starlette.responses import Response

from tambour import i18n
from tambour.contacts.ledger import PERSONAL_FIELDS
from tambour.services import data_requests, request_answers
from tambour.services.context import ServiceError
from tambour.services.data_requests import DataRequest, RequestKind
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.documents import REQUEST_KINDS, REQUEST_STATES, subject_access_html
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page

router = WebRouter()
N_ = i18n.N_
RequestId = Annotated[int, Path(ge=1, le=2**63 - 1)]
MEANS: Final = {
    "email": N_("email"),
    "letter": N_("letter"),
    "phone": N_("phone call"),
    "sms": N_("SMS"),
    "web": N_("web form"),
    "in_person": N_("in person"),
    "other": N_("other"),
}
FIELD_LABELS: Final = {
    "external_id": N_("Customer reference"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "company": N_("Company"),
    "postal_code": N_("Postal code"),
}
DONE: Final = {
    "added": N_("The request is registered: it is due one month after it was received."),
    "extended": N_("The deadline is extended by two months: tell the person why."),
    "refused": N_("The request is refused: tell the person why."),
    "answered": N_("The request is answered."),
}


def _base(desk: Desk) -> str:
    return f"/a/{desk.slug}/requests"


def _labels(lang: str) -> dict[str, dict[str, str]]:
    _ = i18n.translator(lang).gettext
    return {
        "kinds": {code: _(text) for code, text in REQUEST_KINDS.items()},
        "states": {code: _(text) for code, text in REQUEST_STATES.items()},
        "means": {code: _(text) for code, text in MEANS.items()},
        "fields": {code: _(text) for code, text in FIELD_LABELS.items()},
    }


def _register(
    request: Request, desk: Desk, lang: str, *, status: int = 200, **values: Any
) -> Response:
    shown = {
        "desk": desk,
        "requests": data_requests.list_requests(desk.ctx, slug=desk.slug),
        "may_write": desk.can(Action.WRITE_CONTACTS),
        "given": {"kind": "access", "number": "", "requester": "", "means": "email",
                  "received_on": "", "note": ""},
        "errors": {},
        "error": None,
        "done": _done(request, lang),
        **_labels(lang),
        **values,
    }  # fmt: skip
    return render(request, "requests/list.html", shown, status=status)


def _done(request: Request, lang: str) -> str | None:
    said = DONE.get(request.query_params.get("done", ""))
    return i18n.translator(lang).gettext(said) if said else None


@router.get("/a/{slug}/requests")
def requests_page(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    return _register(request, desk, state.lang)


@router.post("/a/{slug}/requests")
def add_request(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    kind: Annotated[str, Form(max_length=24)] = "",
    number: Annotated[str, Form(max_length=40)] = "",
    requester: Annotated[str, Form(max_length=400)] = "",
    means: Annotated[str, Form(max_length=24)] = "",
    received_on: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    given = {"kind": kind, "number": number, "requester": requester, "means": means,
             "received_on": received_on, "note": note}  # fmt: skip
    try:
        added = data_requests.add(
            desk.ctx, slug=desk.slug, kind=data_requests.parse_kind(kind),
            number=number, requester=requester, means=data_requests.parse_means(means),
            received_on=data_requests.parse_day(received_on), note=note or None,
        )  # fmt: skip
    except ServiceError as error:
        return _register(
            request, desk, state.lang, status=error.status, given=given,
            errors=refusals.by_field(error, state.lang), error=refusals.said(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"{_base(desk)}/{added.id}?done=added")


def _request_page(
    request: Request,
    desk: Desk,
    lang: str,
    found: DataRequest,
    *,
    status: int = 200,
    **values: Any,
) -> Response:
    shown = {
        "desk": desk,
        "request_": found,
        "may_write": desk.can(Action.WRITE_CONTACTS),
        "personal_fields": PERSONAL_FIELDS,
        "errors": {},
        "error": None,
        "done": _done(request, lang),
        "downloads": None,
        **_labels(lang),
        **values,
    }
    return render(request, "requests/request.html", shown, status=status)


@router.get("/a/{slug}/requests/{request_id}")
def request_page(
    request: Request, desk: AtAdvertiser, state: Page, request_id: RequestId
) -> Response:
    found = data_requests.get(desk.ctx, slug=desk.slug, request_id=request_id)
    return _request_page(request, desk, state.lang, found)


@router.post("/a/{slug}/requests/{request_id}/extend")
def extend_request(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    request_id: RequestId,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    return _act(request, desk, state, request_id, "extended", data_requests.extend, reason)


@router.post("/a/{slug}/requests/{request_id}/refuse")
def refuse_request(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    request_id: RequestId,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    return _act(request, desk, state, request_id, "refused", data_requests.refuse, reason)


def _act(
    request: Request, desk: Desk, state: Page, request_id: int, done: str, use_case: Any,
    reason: str,
) -> Response:  # fmt: skip
    try:
        use_case(desk.ctx, slug=desk.slug, request_id=request_id, reason=reason)
    except ServiceError as error:
        return _refused(request, desk, state, request_id, error)
    return redirect(request, f"{_base(desk)}/{request_id}?done={done}")


def _refused(
    request: Request, desk: Desk, state: Page, request_id: int, error: ServiceError
) -> Response:
    found = data_requests.get(desk.ctx, slug=desk.slug, request_id=request_id)
    return _request_page(
        request, desk, state.lang, found, status=error.status,
        errors=refusals.by_field(error, state.lang), error=refusals.said(error, state.lang),
    )  # fmt: skip


@router.post("/a/{slug}/requests/{request_id}/answer")
def answer_request(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    request_id: RequestId,
    confirm: Annotated[str, Form(max_length=8)] = "",
    change: Annotated[list[str] | None, Form(max_length=len(PERSONAL_FIELDS))] = None,
    external_id: Annotated[str, Form(max_length=400)] = "",
    first_name: Annotated[str, Form(max_length=400)] = "",
    last_name: Annotated[str, Form(max_length=400)] = "",
    company: Annotated[str, Form(max_length=400)] = "",
    postal_code: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Answer by the request's kind; a rectification changes the fields ticked in `change`
    (an empty value removes it)."""
    desk.require(Action.WRITE_CONTACTS)
    ctx, slug = desk.ctx, desk.slug
    given = {
        "external_id": external_id, "first_name": first_name, "last_name": last_name,
        "company": company, "postal_code": postal_code,
    }  # fmt: skip
    try:
        kind = data_requests.get(ctx, slug=slug, request_id=request_id).kind
        if kind in (RequestKind.ACCESS, RequestKind.PORTABILITY):
            copy = request_answers.answer_access(ctx, slug=slug, request_id=request_id)
            return _request_page(
                request, desk, state.lang, copy.request, downloads=_downloads(copy.data)
            )
        if kind == RequestKind.ERASURE:
            request_answers.answer_erasure(
                ctx, slug=slug, request_id=request_id, confirmed=confirm == "yes"
            )
        elif kind == RequestKind.OBJECTION:
            request_answers.answer_objection(ctx, slug=slug, request_id=request_id)
        else:
            corrections = {
                name: given[name].strip() or None for name in (change or ()) if name in given
            }
            request_answers.answer_rectification(
                ctx, slug=slug, request_id=request_id, corrections=corrections
            )
    except ServiceError as error:
        return _refused(request, desk, state, request_id, error)
    return redirect(request, f"{_base(desk)}/{request_id}?done=answered")


def _downloads(data: dict[str, Any]) -> dict[str, str]:
    """The person's data as two files to download (data: addresses: nothing is kept here)."""
    copy = json.dumps(data, ensure_ascii=False, indent=2).encode()
    document = subject_access_html(data, "fr").encode()
    return {
        "json": "data:application/json;base64," + base64.b64encode(copy).decode(),
        "html": "data:text/html;charset=utf-8;base64," + base64.b64encode(document).decode(),
    }
