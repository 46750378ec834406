"""What the routes over one advertiser's data share: whose data a request is about (the
caller's own advertiser, or the one an operator key names), ids in paths, and integer cursors.

An advertiser's key acts on its own advertiser; `?advertiser=SLUG` naming another one is 404,
as for one that does not exist (auth.visible_advertiser). An operator key has no advertiser
of its own: it names one with `?advertiser=SLUG`, or is refused 422 `advertiser_required`.
"""

from typing import Annotated, Final

from fastapi import Depends, Path, Query, Request

from tambour.api import pagination, texts
from tambour.api.auth import Caller, visible_advertiser
from tambour.api.problems import ApiError, FieldError, language

MAX_ID: Final = 2**63 - 1  # the id columns are 64-bit integers
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

AdvertiserQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="The advertiser's slug: required with an operator key; an advertiser's "
        "key may omit it (its own).",
    ),
]


async def tenant(request: Request, caller: Caller, advertiser: AdvertiserQuery = None) -> str:
    """The slug of the advertiser whose data the request is about (a coroutine: FastAPI would
    run a plain function in a thread)."""
    if caller.operator:
        if advertiser is None:
            detail = texts.detail("advertiser_required", language(request)) or ""
            raise ApiError(
                422,
                "advertiser_required",
                errors=[FieldError("advertiser", "advertiser_required", detail)],
            )
        return advertiser
    if advertiser is not None:
        visible_advertiser(caller, advertiser)
    assert caller.advertiser is not None  # a key without an operator scope has its advertiser
    return caller.advertiser


Tenant = Annotated[str, Depends(tenant)]


def id_cursor(request: Request, cursor: str | None) -> int | None:
    """The id a page starts after (pagination.decode's position, an integer); 422 for a
    cursor that is not one of ours."""
    after = pagination.decode(request, cursor)
    if after is None:
        return None
    if after.isdigit() and 0 < int(after) <= MAX_ID:
        return int(after)
    raise pagination.invalid_cursor(request)
