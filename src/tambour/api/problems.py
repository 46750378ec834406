"""Every error as RFC 9457 `application/problem+json`: `type`, `title`, `status`, `detail`,
`instance` (the path, never the query string: it may hold a phone number), the stable reason
`code`, and per-field `errors` ({field, code, detail}), in the request's language.

Sources: `ApiError` raised by the API's own layers (authentication, limits, idempotency),
a use case's `ServiceError` (its `status`, `code` and `field`), FastAPI's request validation,
Starlette's routing (unknown route, method not allowed). Unexpected exceptions are answered
500 by the outermost middleware (api/middleware.py), which logs them.
"""

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from tambour.api import texts
from tambour.api.texts import Language
from tambour.rules.labels import LABELS_FR
from tambour.services.api_keys import UnauthenticatedError
from tambour.services.context import ServiceError

MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:tambour:problem:"  # a name, not an address to fetch
WWW_AUTHENTICATE: Final = 'Bearer realm="tambour"'
E = TypeVar("E", bound=Exception)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # a JSON pointer into the body (/senders/0) or a parameter's name
    code: str
    detail: str


class ApiError(Exception):
    """An error the API's own layers answer with; its detail is `texts.DETAILS[code]`."""

    def __init__(
        self,
        status: int,
        code: str,
        *,
        values: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.values = dict(values or {})
        self.headers = dict(headers or {})
        self.errors = tuple(errors)


def language(request: Request) -> Language:
    return texts.negotiate(request.headers.get("accept-language"))


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": texts.title(status, language(request)),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    if errors:
        body["errors"] = [
            {"field": error.field, "code": error.code, "detail": error.detail} for error in errors
        ]
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers={"Content-Language": language(request), **(headers or {})},
    )


def api_problem(request: Request, error: ApiError) -> Response:
    detail = texts.detail(error.code, language(request), **error.values) or error.code
    return problem(
        request, error.status, error.code, detail, errors=error.errors, headers=error.headers
    )


def service_problem(request: Request, error: ServiceError) -> Response:
    """A use case's refusal, each of its problems in `errors` by field; in its own words, in
    French when texts.py has its code (without values to fill in)."""
    lang = language(request)
    errors = [
        FieldError(_pointer(item.field), item.code, _said(item.code, item.message, lang))
        for item in error.problems
    ]
    headers = (
        {"WWW-Authenticate": WWW_AUTHENTICATE} if isinstance(error, UnauthenticatedError) else {}
    )
    detail = _said(error.code, error.message, lang)
    return problem(request, error.status, error.code, detail, errors=errors, headers=headers)


def _said(code: str, message: str, lang: Language) -> str:
    """In English, the use case's own words; in French, the API's text of the code, else the
    French label of a rules code (a reason, a block: rules/labels.py), else its own words."""
    if lang == "en":
        return message
    return texts.detail(code, lang) or LABELS_FR.get(code) or message


def validation_problem(request: Request, error: RequestValidationError) -> Response:
    lang = language(request)
    errors = [
        FieldError(
            _field(tuple(item.get("loc", ()))),
            str(item.get("type", "invalid")),
            texts.validation(str(item.get("type")), str(item.get("msg", "")), lang),
        )
        for item in error.errors()
    ]
    detail = texts.detail("validation_failed", lang) or ""
    return problem(request, 422, "validation_failed", detail, errors=errors)


def http_problem(request: Request, error: HTTPException) -> Response:
    lang = language(request)
    if error.status_code == 404:
        return problem(request, 404, "not_found", texts.detail("not_found", lang) or "")
    if error.status_code == 400:  # a body FastAPI cannot even decode (not UTF-8...)
        return problem(request, 400, "malformed_body", texts.detail("malformed_body", lang) or "")
    if error.status_code == 405:
        detail = texts.detail("method_not_allowed", lang, method=request.method) or ""
        return problem(
            request, 405, "method_not_allowed", detail, headers=dict(error.headers or {})
        )
    code = f"http_{error.status_code}"
    return problem(
        request, error.status_code, code, str(error.detail), headers=dict(error.headers or {})
    )


def _pointer(field: str | None) -> str:
    """A use case's field (`senders[1]`, `send_at`) as a JSON pointer (`/senders/1`); "" for
    a problem of the request as a whole."""
    if not field:
        return ""
    parts = re.split(r"\.|\[(\d+)\]", field)
    return "".join("/" + _escaped(part) for part in parts if part)


def _escaped(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _field(location: tuple[Any, ...]) -> str:
    """A JSON pointer (RFC 6901) for a place in the body, a parameter's name otherwise."""
    if not location:
        return ""
    where, *path = location
    if where != "body":
        return str(path[0]) if path else str(where)
    return "".join("/" + _escaped(str(part)) for part in path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _handler(ApiError, api_problem))
    app.add_exception_handler(ServiceError, _handler(ServiceError, service_problem))
    app.add_exception_handler(
        RequestValidationError, _handler(RequestValidationError, validation_problem)
    )
    app.add_exception_handler(HTTPException, _handler(HTTPException, http_problem))


def _handler(
    kind: type[E], answer: Callable[[Request, E], Response]
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        assert isinstance(error, kind)
        return answer(request, error)

    return handle
