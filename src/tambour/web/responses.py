"""Responses of pages that set what the page's state asks for: the first CSRF cookie, a session
opened or ended, the language chosen."""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tambour.web.visitors import PageState


def with_cookies(request: Request, response: Response) -> Response:
    """`response` with the cookies the page's state asks for (a first CSRF cookie, a session)."""
    state = request.scope.get("state", {}).get("tambour_page")
    if isinstance(state, PageState):
        for name, value, options in state.cookies:
            if value:
                response.set_cookie(
                    name, value, httponly=True, secure=state.secure, path="/",
                    **{"samesite": "lax", **options},
                )  # fmt: skip
            else:
                response.delete_cookie(name, path="/", secure=state.secure, httponly=True)
        state.cookies.clear()
    return response


def redirect(request: Request, path: str) -> Response:
    """See `path` (after a form: 303, so that reloading does not send it again)."""
    return with_cookies(request, RedirectResponse(path, status_code=303))
