"""`/api/v1/webhooks`: an advertiser's endpoints (scope `write` to change them, `read` to read
them), their delivery log, and replaying a delivery. Each route is services/webhooks.py's use
case of the same name; another advertiser's endpoint or delivery is 404 there.

Targets on private or loopback addresses are refused unless the server's configuration allows
them ([webhooks] allow_private_targets of TAMBOUR_CONFIG, read once when the app is built)."""

from datetime import timedelta
from typing import Annotated

from fastapi import Query, Request, Response

from tambour.api import pagination
from tambour.api.auth import Caller, Shared, require
from tambour.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from tambour.api.problems import ApiError
from tambour.api.routes.tenancy import Id, Tenant, id_cursor
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.webhooks import (
    DeliveryState,
    SecretRotation,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookDeliveryWithAttempts,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from tambour.services import webhooks
from tambour.services.api_keys import Scope

router = V1Router(prefix=f"{V1}/webhooks", tags=["webhooks"])
ENDPOINTS = f"{router.prefix}/endpoints"
DELIVERIES = f"{router.prefix}/deliveries"
CHANGE = (Scope.OPERATOR, Scope.WRITE)
READ = (Scope.OPERATOR, Scope.READ)


@router.post("/endpoints", status_code=201, summary="Add a webhook endpoint (its secret, once)")
def create_webhook_endpoint(
    body: WebhookEndpointCreate, caller: Caller, advertiser: Tenant, shared: Shared,
    response: Response,
) -> WebhookEndpointWithSecret:  # fmt: skip
    require(caller, *CHANGE)
    made = webhooks.create_endpoint(
        shared.context(caller),
        advertiser=advertiser,
        url=body.url,
        events=body.events,
        description=body.description,
        allow_private=shared.settings.allow_private_webhooks,
    )
    response.headers["Location"] = f"{ENDPOINTS}/{made.endpoint.id}"
    return WebhookEndpointWithSecret.made(made)


@router.get("/endpoints", summary="The advertiser's webhook endpoints (20 at most: one page)")
def list_webhook_endpoints(
    caller: Caller, advertiser: Tenant, shared: Shared
) -> WebhookEndpointPage:
    require(caller, *READ)
    found = webhooks.list_endpoints(shared.context(caller), advertiser=advertiser)
    return WebhookEndpointPage(items=[WebhookEndpoint.of(e) for e in found], next=None)


@router.get("/endpoints/{endpoint_id}", summary="One webhook endpoint")
def get_webhook_endpoint(
    endpoint_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> WebhookEndpoint:
    require(caller, *READ)
    found = webhooks.get_endpoint(
        shared.context(caller), advertiser=advertiser, endpoint_id=endpoint_id
    )
    return WebhookEndpoint.of(found)


@router.patch("/endpoints/{endpoint_id}", summary="Change a webhook endpoint, enable or disable it")
def update_webhook_endpoint(
    endpoint_id: Id, body: WebhookEndpointUpdate, caller: Caller, advertiser: Tenant,
    shared: Shared,
) -> WebhookEndpoint:  # fmt: skip
    require(caller, *CHANGE)
    if not body.model_fields_set:
        raise ApiError(422, "nothing_to_change")
    updated = webhooks.update_endpoint(
        shared.context(caller),
        advertiser=advertiser,
        endpoint_id=endpoint_id,
        url=body.url,
        events=body.events,
        description=body.description,
        enabled=body.enabled,
        allow_private=shared.settings.allow_private_webhooks,
    )
    return WebhookEndpoint.of(updated)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    status_code=201,
    summary="A new signing secret (shown once); the previous one signs beside it for a while",
)
def rotate_webhook_secret(
    endpoint_id: Id, caller: Caller, advertiser: Tenant, shared: Shared,
    body: SecretRotation | None = None,
) -> WebhookEndpointWithSecret:  # fmt: skip
    require(caller, *CHANGE)
    made = webhooks.rotate_secret(
        shared.context(caller),
        advertiser=advertiser,
        endpoint_id=endpoint_id,
        overlap=timedelta(hours=(body or SecretRotation()).overlap_hours),
    )
    return WebhookEndpointWithSecret.made(made)


@router.get("/endpoints/{endpoint_id}/deliveries", summary="An endpoint's deliveries, newest first")
def list_webhook_deliveries(
    request: Request,
    response: Response,
    endpoint_id: Id,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    state: Annotated[DeliveryState | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> WebhookDeliveryPage:
    require(caller, *READ)
    found = webhooks.deliveries(
        shared.context(caller),
        advertiser=advertiser,
        endpoint_id=endpoint_id,
        before=id_cursor(request, cursor),
        limit=limit + 1,
        state=state,
    )
    page = found[:limit]
    after = str(page[-1].id) if len(found) > limit else None
    return WebhookDeliveryPage(
        items=[WebhookDelivery.of(delivery) for delivery in page],
        next=pagination.next_link(request, response, after),
    )


@router.get("/deliveries/{delivery_id}", summary="One delivery, with its attempts")
def get_webhook_delivery(
    delivery_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> WebhookDeliveryWithAttempts:
    require(caller, *READ)
    ctx = shared.context(caller)
    found = webhooks.get_delivery(ctx, advertiser=advertiser, delivery_id=delivery_id)
    tried = webhooks.attempts(ctx, advertiser=advertiser, delivery_id=delivery_id)
    return WebhookDeliveryWithAttempts.logged(found, tried)


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=201,
    summary="Deliver a delivery's event again (the same webhook-id), as a new delivery",
)
def replay_webhook_delivery(
    delivery_id: Id, caller: Caller, advertiser: Tenant, shared: Shared, response: Response
) -> WebhookDelivery:
    require(caller, *CHANGE)
    made = webhooks.replay(shared.context(caller), advertiser=advertiser, delivery_id=delivery_id)
    response.headers["Location"] = f"{DELIVERIES}/{made.id}"
    return WebhookDelivery.of(made)
