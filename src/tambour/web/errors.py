"""What a page answers when something goes wrong: an HTML page in the visitor's language, never
a traceback nor problem+json (those are the API's, under /api/).

The app's exception handlers (api/problems.py) are wrapped: for a path of the web app they
render `error.html` (or send to the login page), for any other they answer as before.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tambour import i18n
from tambour.api.problems import ApiError
from tambour.dispatch.config import CALLBACKS_PATH
from tambour.services.context import ServiceError
from tambour.web import refusals
from tambour.web.templating import render
from tambour.web.visitors import (
    ForbiddenError,
    LoginRequiredError,
    PageNotFoundError,
    login_path,
    page_state,
)

log = logging.getLogger("tambour.web")
NOT_WEB: Final = ("/api/", "/healthz", "/readyz", "/metrics", CALLBACKS_PATH)
N_ = i18n.N_
TITLES: Final = {
    400: N_("This request cannot be read"),
    403: N_("You cannot do this"),
    404: N_("Page not found"),
    405: N_("This page cannot be used this way"),
    409: N_("This cannot be done now"),
    413: N_("This file is too large"),
    422: N_("Some values are refused"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
    503: N_("The service is not available"),
}
EXPLANATIONS: Final = {
    403: N_("Your role does not allow this action. Ask an administrator of your advertiser."),
    404: N_("This page does not exist, or it is not yours to see."),
    500: N_("The error has been logged. Try again in a moment."),
    503: N_("The database cannot serve right now. Try again in a moment."),
}
CSRF_TEXT: Final = N_(
    "This form has expired or did not come from this site. Go back, reload the page and send "
    "it again."
)


def is_web(path: str) -> bool:
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_WEB)


async def error_page(request: Request, status: int, detail: str | None = None) -> Response:
    state = await page_state(request)
    lang = state.lang
    translate = i18n.translator(lang).gettext
    title = translate(TITLES.get(status, TITLES[400 if status < 500 else 500]))
    explanation = detail or (translate(EXPLANATIONS[status]) if status in EXPLANATIONS else "")
    return render(
        request, "error.html", {"status": status, "title": title, "detail": explanation},
        status=status,
    )  # fmt: skip


async def web_exception(request: Request, error: Exception) -> Response:
    """The HTML answer to an exception raised by a page."""
    state = await page_state(request)
    translate = i18n.translator(state.lang).gettext
    if isinstance(error, LoginRequiredError):
        return RedirectResponse(login_path(error.next_path), status_code=303)
    if isinstance(error, ForbiddenError):
        detail = translate(CSRF_TEXT) if error.code == "csrf_failed" else None
        return await error_page(request, 403, detail)
    if isinstance(error, PageNotFoundError):
        return await error_page(request, 404)
    if isinstance(error, ServiceError):
        return await error_page(request, error.status, refusals.said(error, state.lang))
    if isinstance(error, HTTPException):
        return await error_page(request, error.status_code)
    if isinstance(error, ApiError):
        return await error_page(request, error.status)
    if isinstance(error, RequestValidationError):
        return await error_page(request, 422)
    log.error("unexpected error on a page", exc_info=error, extra={"event": "web_error"})
    return await error_page(request, 500)


Handler = Callable[[Request, Exception], Awaitable[Response]]


def install(app: FastAPI) -> None:
    """Pages answer their errors in HTML; the API keeps its problem+json."""
    for kind in (ApiError, ServiceError, RequestValidationError, HTTPException):
        app.add_exception_handler(kind, _either(app.exception_handlers.get(kind)))
    for page_kind in (LoginRequiredError, ForbiddenError, PageNotFoundError):
        app.add_exception_handler(page_kind, web_exception)


def _either(api: Any) -> Handler:
    async def handle(request: Request, error: Exception) -> Response:
        if api is None or is_web(request.url.path):
            return await web_exception(request, error)
        answered: Response = await api(request, error)
        return answered

    return handle
