"""An API key, as `GET /api/v1/me` shows the caller's own (never its token)."""

from pydantic import BaseModel, Field

from tambour.api.schemas.common import Instant
from tambour.services.api_keys import ApiKey, Scope


class Me(BaseModel):
    key_id: str = Field(description="The key's public id: the token starts with it.")
    name: str
    operator: bool = Field(description="A key of the platform, not of one advertiser.")
    advertiser: str | None = Field(description="The advertiser's slug; null for the operator.")
    scopes: list[Scope]
    created_at: Instant

    @classmethod
    def of(cls, key: ApiKey) -> "Me":
        return cls(
            key_id=key.key_id,
            name=key.name,
            operator=key.operator,
            advertiser=key.advertiser,
            scopes=sorted(key.scopes),
            created_at=key.created_at,
        )
