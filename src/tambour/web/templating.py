"""The web app's templates (Jinja2, autoescaped) and how a page is rendered.

Every text of a template goes through the gettext catalogs (tambour.i18n): `{{ _("...") }}`
and `{% trans %}` take the page's language from the context's `lang`, so one environment
serves every request whatever its language. Numbers and dates are shown in the conventions
of that language (filters `number`, `when`), reason codes by their label (`reason`).
"""

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context as TemplateContext
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tambour import i18n
from tambour.rules import labels
from tambour.web.responses import with_cookies

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"


@pass_context
def _gettext(context: TemplateContext, message: str) -> str:
    return i18n.translator(context.get("lang")).gettext(message)


@pass_context
def _ngettext(context: TemplateContext, singular: str, plural: str, count: int) -> str:
    return i18n.translator(context.get("lang")).ngettext(singular, plural, count)


@pass_context
def _number(context: TemplateContext, value: float | int | None) -> str:
    return "—" if value is None else i18n.format_decimal(value, context.get("lang"))


@pass_context
def _when(context: TemplateContext, value: datetime | None, zone: str = "Europe/Paris") -> str:
    """An instant in the page's language, in `zone` (the recipient's where it matters)."""
    return "—" if value is None else i18n.format_datetime(value, zone, context.get("lang"))


@pass_context
def _reason(context: TemplateContext, code: str) -> str:
    """A reason code's label in the page's language (the code itself if it has none)."""
    return labels.label(code, context.get("lang")) or code


ROLES: Final = {
    "operator": i18n.N_("operator"),
    "admin": i18n.N_("administrator"),
    "marketer": i18n.N_("marketer"),
    "viewer": i18n.N_("viewer (reads, changes nothing)"),
}


@pass_context
def _role(context: TemplateContext, role: str) -> str:
    return i18n.translator(context.get("lang")).gettext(ROLES.get(role, role))


@pass_context
def _explanation(context: TemplateContext, code: str) -> str:
    return labels.explanation(code, context.get("lang")) or ""


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tambour.web", "templates"),
        autoescape=select_autoescape(("html",), default_for_string=True),
        undefined=StrictUndefined,  # a name a template misspells is an error in the tests
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        _gettext, _ngettext, newstyle=True
    )
    env.filters.update(
        number=_number, when=_when, reason=_reason, explanation=_explanation, role=_role
    )
    return env


def render(
    request: Request,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """`template` rendered for `request`: its language, the signed-in visitor (if any) and
    its CSRF token come from the request's state (web/visitors.py puts them there)."""
    state = request.scope.get("state", {})
    page = state.get("tambour_page")
    lang = getattr(page, "lang", None) or i18n.DEFAULT_LANGUAGE
    body = (
        environment()
        .get_template(template)
        .render(
            {
                "lang": lang,
                "page": page,
                "request_path": request.url.path,
                **(values or {}),
            }
        )
    )
    response = HTMLResponse(body, status_code=status, headers=dict(headers or {}))
    with_cookies(request, response)
    return response
