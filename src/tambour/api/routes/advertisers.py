"""`/api/v1/advertisers`: the tenants. The operator creates, lists and updates them; an
advertiser's key with `read` sees its own advertiser only (another's is 404)."""

from typing import Annotated

from fastapi import Path, Request, Response

from tambour.api import pagination
from tambour.api.auth import Caller, Shared, require, visible_advertiser
from tambour.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.advertisers import (
    Advertiser,
    AdvertiserCreate,
    AdvertiserPage,
    AdvertiserUpdate,
    Slug,
)
from tambour.services import advertisers
from tambour.services.api_keys import Scope

router = V1Router(prefix=f"{V1}/advertisers", tags=["advertisers"])
SlugPath = Annotated[str, Path(), Slug]


@router.post("", status_code=201, summary="Create an advertiser (operator)")
def create_advertiser(
    body: AdvertiserCreate, caller: Caller, shared: Shared, response: Response
) -> Advertiser:
    require(caller, Scope.OPERATOR)
    made = advertisers.create(
        shared.context(caller),
        slug=body.slug,
        name=body.name,
        senders=body.senders,
        stop_number=body.stop_number,
        categories=body.categories,
        non_commercial_id=body.non_commercial_id,
        contact=body.contact(),
    )
    response.headers["Location"] = f"{router.prefix}/{made.slug}"
    return Advertiser.of(made)


@router.get("", summary="List advertisers (an advertiser's key: its own)")
def list_advertisers(
    request: Request,
    response: Response,
    caller: Caller,
    shared: Shared,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AdvertiserPage:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = advertisers.page(
        shared.context(caller),
        after=pagination.decode(request, cursor),
        limit=limit + 1,
        only=None if caller.operator else caller.advertiser_id,
    )
    page = found[:limit]
    after = page[-1].slug if len(found) > limit else None
    return AdvertiserPage(
        items=[Advertiser.of(advertiser) for advertiser in page],
        next=pagination.next_link(request, response, after),
    )


@router.get("/{slug}", summary="One advertiser")
def get_advertiser(slug: SlugPath, caller: Caller, shared: Shared) -> Advertiser:
    visible_advertiser(caller, slug)
    require(caller, Scope.OPERATOR, Scope.READ)
    return Advertiser.of(advertisers.show(shared.context(caller), slug))


@router.patch("/{slug}", summary="Change an advertiser (operator)")
def update_advertiser(
    slug: SlugPath, body: AdvertiserUpdate, caller: Caller, shared: Shared
) -> Advertiser:
    visible_advertiser(caller, slug)
    require(caller, Scope.OPERATOR)
    given = body.model_fields_set
    updated = advertisers.update(
        shared.context(caller),
        slug,
        name=body.name,
        non_commercial_id=body.non_commercial_id,
        clear_non_commercial="non_commercial_id" in given and body.non_commercial_id is None,
        add_senders=body.add_senders,
        categories=body.categories,
        stop_link=body.stop_link,
        contact=body.contact(),
    )
    return Advertiser.of(updated)
