"""Documents for people rather than pages: printable HTML, French first, rendered from JSON data
a use case made (services/subject_access.py's copy of a person's data). The web app's
templates and filters, plus what JSON data needs: instants and dates given as ISO 8601 text."""

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any, Final

from jinja2 import Environment, pass_context
from jinja2.runtime import Context as TemplateContext

from tambour import i18n
from tambour.i18n import N_
from tambour.web.pages.contacts import EVIDENCE, KINDS
from tambour.web.templating import environment

REQUEST_KINDS: Final[Mapping[str, str]] = {
    "access": N_("access to the data"),
    "portability": N_("a portable copy of the data"),
    "rectification": N_("rectification"),
    "erasure": N_("erasure"),
    "objection": N_("objection to prospection"),
}
REQUEST_STATES: Final[Mapping[str, str]] = {
    "open": N_("being handled"),
    "answered": N_("answered"),
    "refused": N_("refused"),
}


@pass_context
def _instant(context: TemplateContext, value: str | None) -> str:
    if not value:
        return "—"
    return i18n.format_datetime(datetime.fromisoformat(value), "Europe/Paris", context.get("lang"))


@pass_context
def _day(context: TemplateContext, value: str | None) -> str:
    if not value:
        return "—"
    from babel.dates import format_date

    return format_date(date.fromisoformat(value), "long", locale=i18n.resolve(context.get("lang")))


def _plain(value: Any) -> str:
    """A JSON value as a person reads it: lists joined, nothing for None."""
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


@cache
def _documents() -> Environment:
    env = environment().overlay()
    env.filters.update(instant=_instant, day=_day, plain=_plain)
    return env


def subject_access_html(data: Mapping[str, Any], language: str | None = "fr") -> str:
    """The readable copy of `data` (subject_access.collect's), in `language` (French first)."""
    template = _documents().get_template("documents/subject_access.html")
    return template.render(
        data=data, lang=i18n.resolve(language), kinds=KINDS, evidence_kinds=EVIDENCE,
        request_kinds=REQUEST_KINDS, request_states=REQUEST_STATES,
    )  # fmt: skip
