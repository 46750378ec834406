"""Webhook endpoints and their deliveries, as the API shows and takes them."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant, Page, text
from tambour.services import webhooks
from tambour.services.webhooks import EVENT_TYPES

EventType = Annotated[str, Field(json_schema_extra={"enum": list(EVENT_TYPES)})]
TargetUrl = Annotated[
    str,
    text(1, 2000),
    Field(description="Where events are POSTed: https:// on the public Internet."),
]
EndpointState = Literal["enabled", "disabled"]
DeliveryState = Literal["pending", "sending", "delivered", "failed", "dropped"]
EventTypes = Annotated[
    list[EventType],
    Field(max_length=len(EVENT_TYPES), description="The event types it receives; [] for all."),
]


class WebhookEndpoint(BaseModel):
    id: int
    url: str
    description: str
    events: list[str] = Field(description="The event types it receives; [] for all.")
    state: EndpointState
    disabled_reason: str | None = Field(description="gone (it answered 410), failing, by_user.")
    disabled_at: Instant | None
    secret_version: int
    old_secret_until: Instant | None = Field(
        description="The previous secret signs beside the current one until then."
    )
    failing_since: Instant | None
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, endpoint: webhooks.Endpoint) -> "WebhookEndpoint":
        return cls.model_validate(endpoint.as_dict())


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = Field(
        description="The signing secret (whsec_...), shown this once: keep it where the "
        "receiver reads it."
    )

    @classmethod
    def made(cls, made: webhooks.WithSecret) -> "WebhookEndpointWithSecret":
        return cls.model_validate({**made.endpoint.as_dict(), "secret": made.secret})


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: TargetUrl
    events: EventTypes = []
    description: Annotated[str, text(0, webhooks.MAX_DESCRIPTION)] = ""


class WebhookEndpointUpdate(BaseModel):
    """Only the members given change; `enabled: true` enables a disabled endpoint again (its
    failures forgotten), `false` disables it (its pending deliveries dropped)."""

    model_config = ConfigDict(extra="forbid")

    url: TargetUrl | None = None
    events: EventTypes | None = None
    description: Annotated[str, text(0, webhooks.MAX_DESCRIPTION)] | None = None
    enabled: bool | None = None


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float = Field(
        default=24.0,
        ge=0,
        le=168,
        description="How long the previous secret keeps signing beside the new one (0: not).",
    )


class WebhookDelivery(BaseModel):
    id: int
    event_id: int
    endpoint_id: int
    event_type: str
    state: DeliveryState
    attempts: int
    next_attempt_at: Instant | None = Field(description="While pending.")
    last_status: int | None
    last_error: str | None
    last_attempt_at: Instant | None
    delivered_at: Instant | None
    created_at: Instant

    @classmethod
    def of(cls, delivery: webhooks.Delivery) -> "WebhookDelivery":
        return cls.model_validate(delivery.as_dict())


class WebhookAttempt(BaseModel):
    attempted_at: Instant
    status: int | None = Field(description="The receiver's HTTP status; null: no answer.")
    duration_ms: int
    error: str | None


class WebhookDeliveryWithAttempts(WebhookDelivery):
    attempt_log: list[WebhookAttempt] = Field(description="Every attempt, oldest first.")

    @classmethod
    def logged(
        cls, delivery: webhooks.Delivery, attempts: list[webhooks.Attempt]
    ) -> "WebhookDeliveryWithAttempts":
        return cls.model_validate(
            {**delivery.as_dict(), "attempt_log": [attempt.as_dict() for attempt in attempts]}
        )


WebhookEndpointPage = Page[WebhookEndpoint]
WebhookDeliveryPage = Page[WebhookDelivery]
