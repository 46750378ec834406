"""`/api/v1/processing-record`: the record of processing activities (GDPR Art. 30), made now
from the database and the configuration (services/processing_record.py): the advertiser's as
controller (its own with an advertiser's key, `?advertiser=SLUG` with an operator key), and
`/processor`, the operator's as processor (an operator key only).

JSON by default; the document itself with `Accept: text/markdown` or `text/html` (printable),
or `?format=markdown|html|json`, which wins over `Accept`. The document is in French unless
`Accept-Language` prefers English.
"""

from typing import Annotated, Any, Final, Literal

from fastapi import Query, Request, Response

from tambour.api.auth import Caller, Shared, require
from tambour.api.problems import language
from tambour.api.routes.tenancy import Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.texts import preferred
from tambour.services import processing_record
from tambour.services.api_keys import Scope
from tambour.services.processing_setup import read_setup
from tambour.web.record_documents import FORMATS, rendered

router = V1Router(prefix=f"{V1}/processing-record", tags=["record of processing"])

Format = Annotated[
    Literal["json", "markdown", "html"] | None,
    Query(description="json, markdown or html: wins over the Accept header."),
]
_BY_MEDIA: Final = {"application/json": "json", "text/markdown": "markdown", "text/html": "html"}
_DOCUMENT: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The record: its data as JSON, or the document (Markdown, or HTML to "
        "print) by `Accept` or `format`.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/markdown": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}


def chosen_format(request: Request, given: str | None) -> str:
    """`given`, else the first of JSON, Markdown and HTML that `Accept` prefers (by q-value,
    then order); JSON when it names none of them."""
    if given is not None:
        return given
    return preferred(request.headers.get("accept"), _BY_MEDIA.get) or "json"


def _answer(record: Any, request: Request, form: str) -> Response:
    body = rendered(record, form, language(request))
    return Response(body, media_type=FORMATS[form], headers={"Vary": "Accept, Accept-Language"})


@router.get(
    "",
    summary="The advertiser's record of processing, as controller (GDPR Art. 30(1))",
    response_class=Response,
    responses=_DOCUMENT,
)
def get_processing_record(
    request: Request, caller: Caller, advertiser: Tenant, shared: Shared, format: Format = None
) -> Response:
    require(caller, Scope.OPERATOR, Scope.READ)
    setup = read_setup(shared.settings.base)
    record = processing_record.for_advertiser(shared.context(caller), advertiser, setup)
    return _answer(record, request, chosen_format(request, format))


@router.get(
    "/processor",
    summary="The operator's record of processing, as processor (GDPR Art. 30(2)) (operator)",
    response_class=Response,
    responses=_DOCUMENT,
)
def get_processor_record(
    request: Request, caller: Caller, shared: Shared, format: Format = None
) -> Response:
    require(caller, Scope.OPERATOR)
    setup = read_setup(shared.settings.base)
    record = processing_record.for_processor(shared.context(caller), setup)
    return _answer(record, request, chosen_format(request, format))
