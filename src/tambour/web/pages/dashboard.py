"""An advertiser's dashboard: campaigns by state, messages and opt-outs over time, what needs
attention. One use case (services/dashboard.figures); this module only words and draws it."""

from collections.abc import Callable
from datetime import date
from functools import cache, lru_cache
from typing import Any, Final

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_decimal, get_group_symbol
from fastapi import Request
from starlette.responses import Response

from tambour import i18n
from tambour.services import dashboard
from tambour.services.context import Problem
from tambour.services.dashboard import Dashboard
from tambour.web import charts, refusals
from tambour.web.documents import REQUEST_KINDS
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Page

router = WebRouter()
N_ = i18n.N_

STATES: Final = {
    "draft": N_("Draft"),
    "planned": N_("Planned"),
    "launched": N_("Sending"),
    "paused": N_("Paused"),
    "finished": N_("Finished"),
    "cancelled": N_("Cancelled"),
}
JOB_KINDS: Final = {
    "contacts.import": N_("Contact import"),
    "contacts.export": N_("Contact export"),
    "campaign.plan": N_("Campaign plan"),
    "campaign.export": N_("Campaign export"),
}


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(i18n.resolve(lang))


def number_format(lang: str) -> Callable[[float], str]:
    """Numbers as `i18n.format_decimal` writes them (1 234 in French), much faster: whole
    numbers grouped here with the language's separator, others by Babel with the locale parsed
    once (the dashboard writes some two hundred numbers)."""
    locale = _locale(lang)
    group = get_group_symbol(locale=locale)

    def formatted(value: float) -> str:
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return f"{int(value):,}".replace(",", group)
        return format_decimal(value, locale=locale)

    return formatted


@lru_cache(maxsize=1024)
def day_label(day: date, lang: str) -> str:
    """A day as a chart and a table name it: 3 déc. (Dec 3 in English)."""
    return format_skeleton("MMMd", day, locale=_locale(lang))


def job_kind(kind: str, lang: str) -> str:
    """A job's kind in words (its code when it has none)."""
    known = JOB_KINDS.get(kind)
    return i18n.translator(lang).gettext(known) if known else kind


@router.get("/a/{slug}/")
def dashboard_page(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    found = dashboard.figures(desk.ctx, slug=desk.slug)
    return render(request, "dashboard/dashboard.html", _values(found, state.lang))


def _values(found: Dashboard, lang: str) -> dict[str, Any]:
    _ = i18n.translator(lang).gettext

    fmt = number_format(lang)

    days = [day_label(day.day, lang) for day in found.days]
    state_names = {code: _(text) for code, text in STATES.items()}
    by_state = charts.bars(
        "chart-campaigns",
        _("Campaigns by state"),
        [(state_names[code], count) for code, count in found.campaigns.items()],
        description=_list(state_names, found.campaigns, fmt, lang),
        fmt=fmt,
    )
    totals = found.totals
    messages = charts.time_series(
        "chart-messages",
        _("Messages a day, last 30 days"),
        days,
        [
            charts.Series(_("Sent"), [d.sent for d in found.days], "accent"),
            charts.Series(_("Delivered"), [d.delivered for d in found.days], "ok"),
            charts.Series(_("Failed"), [d.failed for d in found.days], "bad"),
        ],
        description=_("In all: {sent} sent, {delivered} delivered, {failed} failed.").format(
            sent=fmt(totals.sent), delivered=fmt(totals.delivered), failed=fmt(totals.failed)
        ),
        fmt=fmt,
    )
    oppositions = charts.time_series(
        "chart-oppositions",
        _("Opt-outs and complaints a day, last 30 days"),
        days,
        [
            charts.Series(_("Opt-outs"), [d.opt_outs for d in found.days], "warn"),
            charts.Series(_("33700 complaints"), [d.complaints for d in found.days], "bad"),
        ],
        description=_("In all: {opt_outs} opt-outs, {complaints} complaints.").format(
            opt_outs=fmt(totals.opt_outs), complaints=fmt(totals.complaints)
        ),
        fmt=fmt,
    )
    return {
        "found": found,
        "totals": totals,
        "day_labels": days,
        "state_names": state_names,
        "by_state_chart": by_state,
        "messages_chart": messages,
        "oppositions_chart": oppositions,
        "delivery_rate": _percent(totals.delivered, totals.sent, lang),
        "rates": {
            "week": _rate(found.complaints.week_rate, lang),
            "before": _rate(found.complaints.before_rate, lang),
        },
        "fmt": fmt,
        "job_kind": lambda kind: job_kind(kind, lang),
        "request_kind": lambda kind: _(REQUEST_KINDS.get(kind, kind)),
        "job_error": lambda job: _job_error(job, lang),
    }


def _list(names: dict[str, str], counts: Any, fmt: Callable[[float], str], lang: str) -> str:
    said = i18n.translator(lang).gettext("{name}: {count}")
    return ", ".join(said.format(name=names[c], count=fmt(n)) for c, n in counts.items())


def _percent(part: int, whole: int, lang: str) -> str | None:
    if not whole:
        return None
    from babel.numbers import format_percent

    return format_percent(part / whole, locale=lang)


def _rate(value: float | None, lang: str) -> str:
    return "—" if value is None else i18n.format_decimal(value, lang)


def _job_error(job: dashboard.FailedJob, lang: str) -> str:
    if job.error_code is None:
        return job.error_message or ""
    return refusals.problem_text(Problem(None, job.error_code, job.error_message or ""), lang)
