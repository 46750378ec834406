"""The clicks of a campaign's short links (issue 17)."""

from pydantic import BaseModel, Field


class Clicks(BaseModel):
    campaign: str
    campaign_id: int
    clicks: int = Field(description="People's clicks (bots, scanners and prefetches left out)")
    people: int = Field(description="Messages whose link a person followed")
    not_counted: dict[str, int] = Field(
        description="Clicks left out, by why: head, prefetch, user_agent, too_soon"
    )
    by_territory: dict[str, int] = Field(description="People's clicks by recipient territory")
    by_variant: dict[str, int] = Field(
        description="People's clicks by message variant ('' when the campaign has none)"
    )
    by_day: dict[str, int] = Field(description="People's clicks by UTC day (YYYY-MM-DD)")
