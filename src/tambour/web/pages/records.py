"""The record of processing activities (GDPR Art. 30) in the web app, made at each visit from the
database and the server's configuration (services/processing_record.py):

- /a/{slug}/settings/record: the advertiser's, as controller, for everyone who reads its data
  (Action.READ: a data-protection officer holds the viewer's role); /print, the same as a page
  of its own to print (no script, its stylesheet inline); /markdown, as a Markdown file;
- /operator/record (and /print, /markdown): the operator's, as processor, for operators only
  (`Operator`: any other account gets 404).
"""

from typing import Final

from fastapi import Request
from starlette.responses import Response

from tambour import i18n
from tambour.services import processing_record
from tambour.services.context import Context
from tambour.services.processing_setup import Setup, read_setup
from tambour.web.record_documents import (
    FORMATS,
    Document,
    as_html,
    as_markdown,
    controller_document,
    processor_document,
)
from tambour.web.responses import with_cookies
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Operator, Page, web_settings

router = WebRouter()
# The printable page and the Markdown file are documents, not the app's pages: never framed.
_DOCUMENT_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def _setup(request: Request) -> Setup:
    return read_setup(web_settings(request).base)


def _controller(request: Request, ctx: Context, slug: str, lang: str) -> Document:
    record = processing_record.for_advertiser(ctx, slug, _setup(request))
    return controller_document(record, lang)


def _processor(request: Request, ctx: Context, lang: str) -> Document:
    return processor_document(processing_record.for_processor(ctx, _setup(request)), lang)


def _(message: str, lang: str) -> str:
    return i18n.translator(lang).gettext(message)


def _page(request: Request, document: Document, heading: str, tabs: str, base: str) -> Response:
    """The record among the app's pages, under `heading` and the `tabs` of its part."""
    shown = {"document": document, "heading": heading, "tabs": tabs, "tab": "record",
             "record_base": base}  # fmt: skip
    return render(request, "documents/record_page.html", shown)


def _printable(request: Request, document: Document) -> Response:
    response = Response(as_html(document), media_type=FORMATS["html"], headers=_DOCUMENT_HEADERS)
    return with_cookies(request, response)


def _markdown(request: Request, document: Document, name: str) -> Response:
    headers = {**_DOCUMENT_HEADERS, "Content-Disposition": f'attachment; filename="{name}.md"'}
    response = Response(as_markdown(document), media_type=FORMATS["markdown"], headers=headers)
    return with_cookies(request, response)


# --- the advertiser's, as controller --------------------------------------------------------------


@router.get("/a/{slug}/settings/record")
def record_page(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    document = _controller(request, desk.ctx, desk.slug, state.lang)
    return _page(request, document, _("Settings", state.lang), "settings/_tabs.html",
                 f"/a/{desk.slug}/settings/record")  # fmt: skip


@router.get("/a/{slug}/settings/record/print")
def record_print(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    return _printable(request, _controller(request, desk.ctx, desk.slug, state.lang))


@router.get("/a/{slug}/settings/record/markdown")
def record_markdown(request: Request, desk: AtAdvertiser, state: Page) -> Response:
    document = _controller(request, desk.ctx, desk.slug, state.lang)
    return _markdown(request, document, f"registre-{desk.slug}")


# --- the operator's, as processor ---------------------------------------------------------------


@router.get("/operator/record")
def processor_page(request: Request, ctx: Operator, state: Page) -> Response:
    document = _processor(request, ctx, state.lang)
    return _page(request, document, _("Platform", state.lang), "operator/_tabs.html",
                 "/operator/record")  # fmt: skip


@router.get("/operator/record/print")
def processor_print(request: Request, ctx: Operator, state: Page) -> Response:
    return _printable(request, _processor(request, ctx, state.lang))


@router.get("/operator/record/markdown")
def processor_markdown(request: Request, ctx: Operator, state: Page) -> Response:
    return _markdown(request, _processor(request, ctx, state.lang), "registre-sous-traitant")
