"""Clicks of a campaign's short links (issue 17): people's clicks per territory, variant and
day, and what was left out as bots, prefetches and scanners, by why. Only people count; a
click is never consent."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from tambour.services import campaigns
from tambour.services.context import Context
from tambour.services.views import View
from tambour.store.engine import reader
from tambour.store.tables import link_clicks


@dataclass(frozen=True, slots=True)
class ClickReport(View):
    campaign: str
    campaign_id: int
    clicks: int  # people's
    people: int  # distinct messages (recipients) with a person's click
    not_counted: Mapping[str, int]  # bots, prefetches, scanners: by why
    by_territory: Mapping[str, int]
    by_variant: Mapping[str, int]  # '' : no variant
    by_day: Mapping[str, int]  # UTC day, ISO 8601


def report(
    ctx: Context,
    *,
    name: str | None = None,
    slug: str | None = None,
    campaign_id: int | None = None,
) -> ClickReport:
    """The click report of campaign `name` or `campaign_id` (of advertiser `slug`, when given:
    another advertiser's campaign is not found)."""
    with reader(ctx.engine) as conn:
        campaign = campaigns.locate(conn, name=name, slug=slug, campaign_id=campaign_id)
        mine = (link_clicks.c.campaign_id == campaign.id) & (
            link_clicks.c.advertiser_id == campaign.advertiser.id
        )
        people = mine & link_clicks.c.bot.is_(None)
        total, distinct = conn.execute(
            select(func.count(), func.count(func.distinct(link_clicks.c.link_id))).where(people)
        ).one()

        def grouped(column, where=people) -> dict[str, int]:  # type: ignore[no-untyped-def]
            rows = conn.execute(
                select(column, func.count()).where(where).group_by(column).order_by(column)
            ).all()
            return {("" if key is None else str(key)): n for key, n in rows}

        days: dict[str, int] = {}
        for at in conn.execute(select(link_clicks.c.clicked_at).where(people)).scalars():
            day = at.date() if hasattr(at, "date") else date.fromisoformat(str(at)[:10])
            days[day.isoformat()] = days.get(day.isoformat(), 0) + 1
        return ClickReport(
            campaign=campaign.name,
            campaign_id=campaign.id,
            clicks=total,
            people=distinct,
            not_counted=grouped(link_clicks.c.bot, mine & link_clicks.c.bot.is_not(None)),
            by_territory=grouped(link_clicks.c.territory),
            by_variant=grouped(link_clicks.c.variant),
            by_day=dict(sorted(days.items())),
        )
