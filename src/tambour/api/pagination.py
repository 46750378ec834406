"""Cursor pagination: `limit` (1 to 100, 50 by default) and an opaque `cursor`; a page's body
has its `items` and the `next` page's URL (null on the last), also in a `Link: <...>;
rel="next"` header. A cursor is the position after which the next page starts, encoded (base64
of JSON): clients pass it back as given and never build one."""

import base64
import binascii
from typing import Annotated, Final

import orjson
from fastapi import Query, Request, Response

from tambour.api import texts
from tambour.api.problems import ApiError, FieldError, language

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 100
_VERSION: Final = 1

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items a page, at most {MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Where the page starts: the `cursor` of the previous page's `next` link.",
    ),
]


def encode(after: str) -> str:
    payload = orjson.dumps({"v": _VERSION, "after": after})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode(request: Request, cursor: str | None) -> str | None:
    """The position a cursor names (None for the first page); 422 for what is not one."""
    if cursor is None:
        return None
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        payload = None
    if (
        isinstance(payload, dict)
        and payload.get("v") == _VERSION
        and isinstance(payload.get("after"), str)
    ):
        after: str = payload["after"]
        return after
    raise invalid_cursor(request)


def invalid_cursor(request: Request) -> ApiError:
    """The 422 of a cursor that is not one of ours (or names no position of this list)."""
    detail = texts.detail("invalid_cursor", language(request)) or ""
    return ApiError(422, "invalid_cursor", errors=[FieldError("cursor", "invalid_cursor", detail)])


def next_link(request: Request, response: Response, after: str | None) -> str | None:
    """The URL of the page after `after` (None: this is the last), also set as the
    response's `Link` header."""
    if after is None:
        return None
    url = str(request.url.include_query_params(cursor=encode(after)))
    response.headers["Link"] = f'<{url}>; rel="next"'
    return url
