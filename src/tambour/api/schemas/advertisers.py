"""Advertisers (tenants), as the API shows and takes them."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant, Page, text
from tambour.services.advertisers import Advertiser as AdvertiserRecord

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
SenderId = Annotated[str, text(1, 16)]
Category = Annotated[str, text(1, 100)]
# The controller's contact details (its record of processing, GDPR Art. 30), each optional.
Address = Annotated[str, Field(max_length=300, description="Postal address of the controller.")]
Email = Annotated[str, Field(max_length=254)]
DpoName = Annotated[str, Field(max_length=200, description="Its data-protection officer.")]
CONTACT_MEMBERS = ("address", "contact_email", "dpo_name", "dpo_email")


class Advertiser(BaseModel):
    slug: str
    name: str
    senders: list[str]
    stop_number: str | None
    categories: list[str]
    non_commercial_id: str | None = Field(
        description="RNA number or SIREN of an association, foundation or public body."
    )
    stop_link: bool = Field(
        description="Every prospection message ends with its one-click opt-out link."
    )
    address: str | None = None
    contact_email: str | None = None
    dpo_name: str | None = None
    dpo_email: str | None = None
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
            stop_link=advertiser.stop_link,
            address=advertiser.address,
            contact_email=advertiser.contact_email,
            dpo_name=advertiser.dpo_name,
            dpo_email=advertiser.dpo_email,
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
    address: Address | None = None
    contact_email: Email | None = None
    dpo_name: DpoName | None = None
    dpo_email: Email | None = None

    def contact(self) -> dict[str, str]:
        """The contact details given."""
        return {name: value for name in CONTACT_MEMBERS if (value := getattr(self, name))}


class AdvertiserUpdate(BaseModel):
    """Only the members given change; `non_commercial_id: null` removes the registration, a
    contact detail given null (or empty) removes it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(1, 200)] | None = None
    non_commercial_id: Annotated[str, text(1, 20)] | None = None
    add_senders: list[SenderId] = Field(default_factory=list, max_length=20)
    categories: list[Category] | None = Field(default=None, max_length=100)
    stop_link: bool | None = Field(
        default=None, description="End every prospection message with its opt-out link."
    )
    address: Address | None = None
    contact_email: Email | None = None
    dpo_name: DpoName | None = None
    dpo_email: Email | None = None

    def contact(self) -> dict[str, str]:
        """The contact details given, null as empty (removed)."""
        given = self.model_fields_set
        return {name: getattr(self, name) or "" for name in CONTACT_MEMBERS if name in given}


AdvertiserPage = Page[Advertiser]
