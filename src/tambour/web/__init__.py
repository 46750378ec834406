"""The web app (issue 16): server-rendered pages on the typed services, served by `tambour serve`
beside the API, French first.

- routing.py: the router of every page (CSRF on every POST, the page's language);
- visitors.py: sessions, CSRF, the advertiser a page is about (tenancy);
- templating.py, responses.py: Jinja2 pages through the gettext catalogs;
- errors.py: errors as pages, never a traceback;
- pages/: one module per part of the app, each handler a use case and a template.
"""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tambour.web import errors
from tambour.web.pages import (
    account,
    audit,
    campaign_editor,
    campaign_plan,
    complaints,
    contacts,
    dashboard,
    forms,
    operator,
    records,
    requests,
    settings,
)
from tambour.web.templating import STATIC_DIR

PAGES = (
    account, dashboard, contacts, forms, requests, complaints, campaign_editor, campaign_plan,
    settings, audit, operator, records,
)  # fmt: skip


def install(app: FastAPI) -> None:
    """Mount the pages and their static files on `app` (after the API's routes)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in PAGES:
        app.include_router(module.router)
    errors.install(app)
