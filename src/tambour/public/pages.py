"""The consent forms people fill in (issue 17), served by `tambour serve` without a login:

- GET/POST /f/{advertiser}/{form}: the form (its current version), French first, English by
  `?lang=en` or Accept-Language; no JavaScript; every box unticked; errors next to their field;
- GET/POST /f/{advertiser}/{form}/confirm/{token}: the code sent by SMS (double opt-in);
- POST /f/{advertiser}/{form}/submissions: the same submission as JSON, for an advertiser's own
  page (CORS limited to the form's origins; OPTIONS answers the preflight).

Embedding: `Content-Security-Policy: frame-ancestors 'self' <origins>`. Anti-bot: see
antibot.py. Nothing here trusts the client: the services check every value.
"""

from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tambour import i18n
from tambour.api import texts
from tambour.api.rate_limit import RateLimiter
from tambour.public import antibot
from tambour.rules.network import truncated_ip
from tambour.services import advertisers, consent_forms, form_submissions
from tambour.services.consent_forms import ConsentForm
from tambour.services.context import Context, NotFoundError, ServiceError
from tambour.store.engine import reader
from tambour.web.templating import environment
from tambour.web.visitors import PageNotFoundError, runtime

router = APIRouter(include_in_schema=False)
N_ = i18n.N_
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Token = Annotated[str, Path(min_length=10, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MESSAGES: Final = {
    "nothing_ticked": N_(
        "You ticked no box, so we have recorded nothing. Tick a box if you wish to receive "
        "these messages."
    ),
    "invalid_phone": N_("This is not a phone number we can read. Example: 06 12 34 56 78."),
    "not_mobile": N_("This number is not a mobile: give a mobile number to receive SMS."),
    "too_fast": N_("This form was sent very quickly. Check your choices and send it again."),
    "expired": N_("This form was open for too long. Check your choices and send it again."),
    "forged": N_("This form could not be checked. Send it again from this page."),
    "too_many": N_("Too many attempts from this connection or for this number. Try again later."),
    "wrong_code": N_("This is not the code we sent. Check the SMS and type it again."),
    "code_expired": N_("This code has expired. Fill in the form again to receive a new one."),
    "too_many_attempts": N_("Too many wrong codes. Fill in the form again to receive a new one."),
    "already_confirmed": N_("This choice is already confirmed. Thank you."),
    "refused": N_("We cannot send a code to this number."),
}


def _lang(request: Request, chosen: str | None) -> str:
    return i18n.language_of(chosen) or texts.negotiate(request.headers.get("accept-language"))


def _context(request: Request) -> Context:
    shared = runtime(request)
    return shared.acting_as("public-form")


def _form(ctx: Context, slug: str, form: str) -> ConsentForm:
    try:
        with reader(ctx.engine) as conn:
            return consent_forms.find(conn, advertisers.get(conn, slug), form)
    except NotFoundError:
        raise PageNotFoundError from None


def _headers(form: ConsentForm) -> dict[str, str]:
    ancestors = " ".join(("'self'", *form.origins))
    return {
        "Content-Security-Policy": f"frame-ancestors {ancestors}",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _limiter(request: Request) -> RateLimiter:
    found = getattr(request.app.state, "form_limiter", None)
    if found is None:
        settings = runtime(request).settings
        found = request.app.state.form_limiter = RateLimiter(
            settings.form_rate, settings.form_burst
        )
    return found


def _allowed(request: Request) -> bool:
    host = request.client.host if request.client else None
    return _limiter(request).take(truncated_ip(host) or "unknown").allowed


def _page(
    request: Request, template: str, form: ConsentForm, lang: str, status: int = 200, **values: Any
) -> HTMLResponse:
    translate = i18n.translator(lang).gettext
    wording = form.current.wording
    body = (
        environment()
        .get_template(template)
        .render(
            {
                "lang": lang,
                "form": form,
                "wording": wording,
                "text": lambda texts: wording.text(texts, lang),
                "action": form.path,
                "messages": {code: translate(text) for code, text in MESSAGES.items()},
                "other_lang": "en" if lang == "fr" else "fr",
                **values,
            }
        )
    )
    return HTMLResponse(body, status_code=status, headers=_headers(form))


def _fill_form(
    request: Request, form: ConsentForm, lang: str, *, status: int = 200, **values: Any
) -> HTMLResponse:
    ctx = _context(request)
    shown = {"number": "", "ticked": (), "objection": False, "error": None, "field_error": None}
    shown |= values
    started = antibot.issue(ctx.keys, f"{form.advertiser}/{form.slug}")
    return _page(request, "public/form.html", form, lang, status, started=started, **shown)


@router.get("/f/{slug}/{form}")
def form_page(
    request: Request, slug: Slug, form: Slug, lang: Annotated[str | None, Query()] = None
) -> Response:
    found = _form(_context(request), slug, form)
    return _fill_form(request, found, _lang(request, lang))


@router.post("/f/{slug}/{form}")
def form_sent(
    request: Request,
    slug: Slug,
    form: Slug,
    number: Annotated[str, Form(max_length=40)] = "",
    purpose: Annotated[list[str] | None, Form(max_length=32)] = None,
    objection: Annotated[str | None, Form(max_length=8)] = None,
    started: Annotated[str | None, Form(max_length=80)] = None,
    website: Annotated[str | None, Form(max_length=200)] = None,
    lang: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    ctx = _context(request)
    found = _form(ctx, slug, form)
    chosen = _lang(request, lang)
    ticked = tuple(purpose or ())[: len(found.current.wording.purposes)]
    again = {"number": number, "ticked": ticked, "objection": bool(objection)}
    if not _allowed(request):
        return _fill_form(request, found, chosen, status=429, error="too_many", **again)
    if website:  # the honeypot: a person never sees it; say nothing of why
        return _page(request, "public/thanks.html", found, chosen, recorded=False, objection=False)
    refused = antibot.check(
        ctx.keys, f"{slug}/{form}", started, min_fill=runtime(request).settings.form_min_fill
    )
    if refused:
        return _fill_form(request, found, chosen, status=422, error=refused, **again)
    try:
        done = form_submissions.submit(
            ctx, slug=slug, form=form, number=number, ticked=ticked, objection=bool(objection),
            lang=chosen, ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )  # fmt: skip
    except ServiceError as error:
        code = error.code if error.code in MESSAGES else "refused"
        if error.status == 429:
            code = "too_many"
        field = error.field if error.field in ("number", "purposes") else None
        return _fill_form(
            request, found, chosen, status=error.status if error.status != 404 else 422,
            error=code, field_error=field, **again,
        )  # fmt: skip
    if done.pending:
        where = f"{found.path}/confirm/{done.token}?lang={chosen}"
        return RedirectResponse(where, status_code=303, headers=_headers(found))
    return _page(
        request, "public/thanks.html", found, chosen, recorded=True, objection=bool(objection)
    )


def _code_page(
    request: Request, form: ConsentForm, lang: str, token: str, *, status: int = 200,
    error: str | None = None,
) -> HTMLResponse:  # fmt: skip
    started = antibot.issue(_context(request).keys, f"{form.advertiser}/{form.slug}/{token}")
    return _page(
        request, "public/confirm.html", form, lang, status, token=token, started=started,
        error=error, action=f"{form.path}/confirm/{token}",
    )  # fmt: skip


@router.get("/f/{slug}/{form}/confirm/{token}")
def confirm_page(
    request: Request, slug: Slug, form: Slug, token: Token,
    lang: Annotated[str | None, Query()] = None,
) -> Response:  # fmt: skip
    found = _form(_context(request), slug, form)
    return _code_page(request, found, _lang(request, lang), token)


@router.post("/f/{slug}/{form}/confirm/{token}")
def confirm_sent(
    request: Request,
    slug: Slug,
    form: Slug,
    token: Token,
    code: Annotated[str, Form(max_length=20)] = "",
    started: Annotated[str | None, Form(max_length=80)] = None,
    lang: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    ctx = _context(request)
    found = _form(ctx, slug, form)
    chosen = _lang(request, lang)
    if not _allowed(request):
        return _code_page(request, found, chosen, token, status=429, error="too_many")
    if antibot.check(ctx.keys, f"{slug}/{form}/{token}", started, min_fill=0) is not None:
        return _code_page(request, found, chosen, token, status=422, error="forged")
    try:
        form_submissions.confirm(ctx, slug=slug, form=form, token=token, code=code)
    except NotFoundError:
        raise PageNotFoundError from None
    except ServiceError as error:
        said = error.code if error.code in MESSAGES else "refused"
        return _code_page(request, found, chosen, token, status=error.status, error=said)
    return _page(request, "public/thanks.html", found, chosen, recorded=True, objection=False)


# --- a submission posted from the advertiser's own page (CORS) -------------------------------


def _cors(request: Request, form: ConsentForm) -> dict[str, str] | None:
    """The CORS headers for the request's origin when the form allows it, else None."""
    origin = (request.headers.get("origin") or "").lower().rstrip("/")
    if origin not in form.origins:
        return None
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


@router.options("/f/{slug}/{form}/submissions")
def submissions_preflight(request: Request, slug: Slug, form: Slug) -> Response:
    found = _form(_context(request), slug, form)
    allowed = _cors(request, found)
    return Response(status_code=204 if allowed else 403, headers=allowed or {"Vary": "Origin"})


@router.post("/f/{slug}/{form}/submissions")
async def submission_posted(request: Request, slug: Slug, form: Slug) -> Response:
    """JSON in: {"number", "purposes": [...], "objection": bool, "lang", "started"} where
    `started` is the token of GET .../token; JSON out: {"recorded", "pending", "confirm_url"}
    or {"code", "field", "detail"} with 4xx."""
    ctx = _context(request)
    found = await run_in_threadpool(_form, ctx, slug, form)
    allowed = _cors(request, found)
    if allowed is None:
        return JSONResponse({"code": "origin_not_allowed"}, status_code=403)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"code": "invalid_body"}, status_code=400, headers=allowed)
    lang = _lang(request, body.get("lang") if isinstance(body.get("lang"), str) else None)
    translate = i18n.translator(lang).gettext

    def refusal(status: int, code: str, field: str | None = None) -> JSONResponse:
        detail = translate(MESSAGES.get(code, MESSAGES["refused"]))
        payload = {"code": code, "field": field, "detail": detail}
        return JSONResponse(payload, status_code=status, headers=allowed)

    if not _allowed(request):
        return refusal(429, "too_many")
    started = body.get("started")
    min_fill = runtime(request).settings.form_min_fill
    why = antibot.check(
        ctx.keys, f"{slug}/{form}", started if isinstance(started, str) else None, min_fill=min_fill
    )
    if why:
        return refusal(422, why, "started")
    purposes = body.get("purposes") or []
    if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
        return refusal(422, "invalid_purposes", "purposes")
    number = body.get("number")
    try:
        done = await run_in_threadpool(
            lambda: form_submissions.submit(
                ctx, slug=slug, form=form, number=number if isinstance(number, str) else "",
                ticked=purposes[:8], objection=body.get("objection") is True, lang=lang,
                ip=request.client.host if request.client else None,
                user_agent=request.headers.get("user-agent"), via="cors",
            )
        )  # fmt: skip
    except ServiceError as error:
        return refusal(error.status if error.status != 404 else 422, error.code, error.field)
    confirm = f"{found.path}/confirm/{done.token}" if done.pending else None
    return JSONResponse(
        {"recorded": not done.pending, "pending": done.pending, "confirm_url": confirm,
         "wording_hash": done.wording_hash, "version": done.version},
        status_code=201, headers=allowed,
    )  # fmt: skip


@router.get("/f/{slug}/{form}/token")
def form_token(request: Request, slug: Slug, form: Slug) -> Response:
    """A fresh anti-bot token for a submission posted from the advertiser's page."""
    found = _form(_context(request), slug, form)
    allowed = _cors(request, found) or {}
    token = antibot.issue(_context(request).keys, f"{found.advertiser}/{found.slug}")
    return JSONResponse({"started": token}, headers={**allowed, "Cache-Control": "no-store"})
