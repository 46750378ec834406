"""Logging in and out, accepting an invitation, choosing the language, and the home page that
leads each account to its advertisers. Each form is a use case of services/users.py or
sessions.py; the handlers only read the form and choose the page."""

from typing import Annotated, Any

from fastapi import Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tambour import i18n
from tambour.services import sessions, users
from tambour.services.api_keys import UnauthenticatedError
from tambour.services.context import ServiceError
from tambour.services.users import ThrottledError
from tambour.web import qr, refusals
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Page,
    PageState,
    Signed,
    Visitor,
    safe_next,
    session_policy,
    user_context,
)

router = WebRouter()
Text = Annotated[str, Form(max_length=2048)]
Next = Annotated[str | None, Query(alias="next", max_length=2048)]


@router.get("/")
async def home(request: Request, visitor: Signed) -> Response:
    """An account of one advertiser goes to its dashboard; others choose."""
    if len(visitor.advertisers) == 1 and not visitor.is_operator:
        return redirect(request, f"/a/{visitor.advertisers[0]}/")
    return render(request, "account/home.html", {"visitor": visitor})


@router.get("/login")
async def login_page(request: Request, state: Page, next_path: Next = None) -> Response:
    return render(request, "account/login.html", {"next": safe_next(next_path), "email": ""})


@router.post("/login")
async def login(
    request: Request,
    state: Page,
    email: Text,
    password: Text,
    totp_code: Annotated[str, Form(max_length=16)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2048)] = "/",
) -> Response:
    ctx = user_context(request, None)
    client = request.client.host if request.client else None
    values: dict[str, Any] = {"next": safe_next(next_path), "email": email}
    try:
        user = await run_in_threadpool(
            lambda: users.authenticate(
                ctx, email=email, password=password, totp_code=totp_code or None, client=client
            )
        )
        opened = await run_in_threadpool(
            sessions.open_session, ctx, user.id, session_policy(request)
        )
    except ThrottledError as error:
        values["error"] = refusals.said(error, state.lang)
        headers = {"Retry-After": str(error.retry_after)}
        return render(request, "account/login.html", values, status=429, headers=headers)
    except (UnauthenticatedError, ServiceError) as error:
        values["error"] = refusals.said(error, state.lang)
        values["ask_code"] = error.code in ("totp_required", "invalid_totp_code")
        return render(request, "account/login.html", values, status=401)
    state.cookies.append((SESSION_COOKIE, opened.token, {}))
    return redirect(request, safe_next(next_path))


@router.post("/logout")
async def logout(request: Request, state: Page, visitor: Signed) -> Response:
    ctx = user_context(request, visitor.user)
    await run_in_threadpool(sessions.revoke_session, ctx, visitor.token)
    state.cookies.append((SESSION_COOKIE, "", {}))
    return redirect(request, "/login")


@router.post("/language")
async def choose_language(
    request: Request,
    state: Page,
    language: Annotated[str, Form(max_length=8)],
    back: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    chosen = i18n.language_of(language) or i18n.DEFAULT_LANGUAGE
    state.cookies.append((LANGUAGE_COOKIE, chosen, {"max_age": 365 * 24 * 3600}))
    return redirect(request, safe_next(back))


async def _invitation(
    request: Request, state: PageState, token: str
) -> tuple[dict[str, Any], Response | None]:
    """The invitation page's values, or the page that says the link is no good."""
    try:
        found = await run_in_threadpool(users.show_invitation, user_context(request, None), token)
    except ServiceError as error:
        values = {"error": refusals.said(error, state.lang), "invitation": None, "token": ""}
        return values, render(request, "account/invitation.html", values, status=error.status)
    return {"invitation": found, "token": token, "error": None, "errors": {}}, None


@router.get("/invitations/{token}")
async def invitation_page(request: Request, state: Page, token: str) -> Response:
    values, refused = await _invitation(request, state, token)
    return refused or render(request, "account/invitation.html", values)


@router.post("/invitations/{token}")
async def accept_invitation(
    request: Request,
    state: Page,
    token: str,
    password: Text,
    confirmation: Text,
) -> Response:
    values, refused = await _invitation(request, state, token)
    if refused is not None:
        return refused
    ctx = user_context(request, None)
    if password != confirmation:
        text = i18n.translator(state.lang).gettext("The two passwords differ.")
        values["errors"] = {"confirmation": text}
        return render(request, "account/invitation.html", values, status=422)
    try:
        user = await run_in_threadpool(users.accept_invitation, ctx, token, password)
        opened = await run_in_threadpool(
            sessions.open_session, ctx, user.id, session_policy(request)
        )
    except ServiceError as error:
        values["errors"] = refusals.by_field(error, state.lang)
        return render(request, "account/invitation.html", values, status=error.status)
    state.cookies.append((SESSION_COOKIE, opened.token, {}))
    return redirect(request, "/")


# --- the account's own page: password, second factor, sessions ----------------------------------


def _account_values(request: Request, visitor: Visitor) -> dict[str, Any]:
    ctx = user_context(request, visitor.user)
    live = sessions.live_sessions(ctx, visitor.user.email, session_policy(request))
    return {
        "visitor": visitor,
        "sessions": live,
        "current_session": visitor.signed_in.session.id,
        "may_totp": bool(users.TOTP_ROLES & {m.role for m in visitor.user.memberships}),
        "errors": {},
        "notice": None,
        "enrolment": None,
    }


async def _account(
    request: Request, visitor: Visitor, status: int = 200, **values: Any
) -> Response:
    found = await run_in_threadpool(_account_values, request, visitor)
    return render(request, "account/account.html", {**found, **values}, status=status)


_SAVED = {
    "password": i18n.N_("Your password is changed; your other sessions are ended."),
    "totp": i18n.N_("The second factor is on: each login now asks for a code."),
    "totp-removed": i18n.N_("The second factor is removed."),
    "sessions": i18n.N_("Your other sessions are ended."),
}


@router.get("/account")
async def account_page(
    request: Request, state: Page, visitor: Signed, saved: str | None = None
) -> Response:
    notice = _SAVED.get(saved or "")
    said = i18n.translator(state.lang).gettext(notice) if notice else None
    return await _account(request, visitor, notice=said)


@router.post("/account/password")
async def change_password(
    request: Request, state: Page, visitor: Signed, current: Text, new: Text, confirmation: Text
) -> Response:
    if new != confirmation:
        text = i18n.translator(state.lang).gettext("The two passwords differ.")
        return await _account(request, visitor, 422, errors={"confirmation": text})
    ctx = user_context(request, visitor.user)
    try:
        await run_in_threadpool(
            lambda: users.change_password(
                ctx, email=visitor.user.email, current=current, new=new, keep_session=visitor.token
            )
        )
    except ServiceError as error:
        return await _account(
            request, visitor, error.status, errors=refusals.by_field(error, state.lang)
        )
    return redirect(request, "/account?saved=password")


@router.post("/account/totp")
async def enrol_totp(request: Request, state: Page, visitor: Signed) -> Response:
    ctx = user_context(request, visitor.user)
    try:
        enrolment = await run_in_threadpool(users.enrol_totp, ctx, visitor.user.email)
    except ServiceError as error:
        return await _account(
            request, visitor, error.status, error=refusals.said(error, state.lang)
        )
    return await _account(request, visitor, **_enrolment(enrolment, state.lang))


def _enrolment(enrolment: users.TotpEnrolment, lang: str) -> dict[str, Any]:
    """An enrolment as the page shows it: its key, and its URI as a QR code to scan."""
    label = i18n.translator(lang).gettext(
        "QR code of the second factor: scan it with your authenticator app"
    )
    return {"enrolment": enrolment, "qr": qr.svg(enrolment.uri, label)}


@router.post("/account/totp/confirm")
async def confirm_totp(
    request: Request, state: Page, visitor: Signed, code: Annotated[str, Form(max_length=16)]
) -> Response:
    ctx = user_context(request, visitor.user)
    try:
        await run_in_threadpool(users.confirm_totp, ctx, visitor.user.email, code)
    except ServiceError as error:
        errors = {"code": refusals.said(error, state.lang)}
        pending = await run_in_threadpool(users.pending_totp, ctx, visitor.user.email)
        shown = {} if pending is None else _enrolment(pending, state.lang)
        return await _account(request, visitor, error.status, errors=errors, **shown)
    return redirect(request, "/account?saved=totp")


@router.post("/account/totp/remove")
async def remove_totp(request: Request, state: Page, visitor: Signed) -> Response:
    ctx = user_context(request, visitor.user)
    await run_in_threadpool(users.remove_totp, ctx, visitor.user.email)
    return redirect(request, "/account?saved=totp-removed")


@router.post("/account/sessions/revoke")
async def end_other_sessions(request: Request, state: Page, visitor: Signed) -> Response:
    """End every other session of the account (a forgotten computer): this one stays."""
    ctx = user_context(request, visitor.user)
    await run_in_threadpool(
        lambda: sessions.revoke_all(ctx, visitor.user.email, keep=visitor.token)
    )
    return redirect(request, "/account?saved=sessions")
