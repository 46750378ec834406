"""What the recipients' pages share: their language, their Context, the page of a link gone."""

from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse

from tambour import i18n
from tambour.api.texts import negotiate
from tambour.services.context import Context
from tambour.web.templating import environment
from tambour.web.visitors import runtime

N_ = i18n.N_
ACTOR: Final = "public:link"  # who the audit log says acted: the recipient, through a link
HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
}
GONE: Final = {
    404: (
        N_("This link is not valid"),
        N_(
            "This link is unknown or no longer valid. To stop receiving messages, reply STOP "
            "to the message you received."
        ),
    ),
    403: (
        N_("This request is refused"),
        N_("Open the link from the message you received, then press the button on its page."),
    ),
}


def language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def context(request: Request) -> Context:
    """The Context of what a recipient does through a link (the audit log names them so)."""
    return runtime(request).acting_as(ACTOR)


def page(
    request: Request, template: str, values: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    lang = language(request)
    body = environment().get_template(template).render({"lang": lang, **values})
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def gone(request: Request, status: int) -> HTMLResponse:
    """The page of a link that is not valid (404) or of a refused request (403)."""
    words = i18n.translator(language(request))
    title, detail = GONE[status]
    values = {"title": words.gettext(title), "detail": words.gettext(detail)}
    return page(request, "public/gone.html", values, status)
