"""The one-click opt-out page, `/o/<token>` (services/link_optouts.py).

A GET only shows the page: link scanners and previews that fetch it opt nobody out. The
button's POST does, once its form value (a keyed digest of the token) comes back and the
browser, when it says so (`Origin`, `Sec-Fetch-Site`), sends it from this page's site. No
JavaScript."""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from tambour.public.link_pages import context, gone, page
from tambour.rules.links import STOP_PATH
from tambour.services import link_optouts
from tambour.services.context import NotFoundError
from tambour.services.link_codes import LinkCodes

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PATH = STOP_PATH + "{token}"


@router.get(PATH, name="stop_link_page")
def show(request: Request, token: str) -> HTMLResponse:
    try:
        link = link_optouts.show(context(request), token=token)
    except NotFoundError:
        return gone(request, 404)
    return page(request, "public/optout.html", {"link": link, "action": request.url.path})


def _same_site(request: Request) -> bool:
    """Whether the browser says the form was sent from this site (or says nothing)."""
    fetched = request.headers.get("sec-fetch-site")
    if fetched is not None and fetched not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return not origin or origin == "null" or urlsplit(origin).netloc == request.url.netloc


@router.post(PATH, name="stop_link_press")
def press(request: Request, token: str, k: Annotated[str, Form()] = "") -> HTMLResponse:
    ctx = context(request)
    if not _same_site(request) or not LinkCodes.for_keys(ctx.keys).form_ok(token, k):
        return gone(request, 403)
    try:
        link = link_optouts.opt_out(ctx, token=token)
    except NotFoundError:
        return gone(request, 404)
    return page(request, "public/optout.html", {"link": link, "action": request.url.path})
