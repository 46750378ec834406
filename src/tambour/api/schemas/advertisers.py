"""Advertisers (tenants), as the API shows and takes them."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant, Page, text
from tambour.services.advertisers import Advertiser as AdvertiserRecord

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
SenderId = Annotated[str, text(1, 16)]
Category = Annotated[str, text(1, 100)]


class Advertiser(BaseModel):
    slug: str
    name: str
    senders: list[str]
    stop_number: str | None
    categories: list[str]
    non_commercial_id: str | None = Field(
        description="RNA number or SIREN of an association, foundation or public body."
    )
    created_at: Instant

    @classmethod
    def of(cls, advertiser: AdvertiserRecord) -> "Advertiser":
        return cls(
            slug=advertiser.slug,
            name=advertiser.name,
            senders=list(advertiser.senders),
            stop_number=advertiser.stop_number,
            categories=list(advertiser.categories),
            non_commercial_id=advertiser.non_commercial_id,
            created_at=advertiser.created_at,
        )


class AdvertiserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Annotated[str, text(1, 200)]
    senders: list[SenderId] = Field(min_length=1, max_length=20)
    stop_number: Annotated[str, text(1, 16)]
    categories: list[Category] = Field(default_factory=list, max_length=100)
    non_commercial_id: Annotated[str, text(1, 20)] | None = None


class AdvertiserUpdate(BaseModel):
    """Only the members given change; `non_commercial_id: null` removes the registration."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(1, 200)] | None = None
    non_commercial_id: Annotated[str, text(1, 20)] | None = None
    add_senders: list[SenderId] = Field(default_factory=list, max_length=20)
    categories: list[Category] | None = Field(default=None, max_length=100)


AdvertiserPage = Page[Advertiser]
