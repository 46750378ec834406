"""What the web app's plan report shows of a campaign: its stored plan summary (the figures
`tambour campaign plan` prints, kept with the campaign when it was planned), the blocks that
stand, a few sample messages, and the plain-character version of a text that UCS-2 made
longer.

Fast whatever the plan's size: the figures are the campaign row's `plan_summary` (no plan row
is counted again), and the samples are read in contact order through the plan's primary key
(campaign, generation, contact) with a LIMIT. A campaign of another advertiser is not found.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from tambour.services import plan_reads
from tambour.services.campaigns import PLAN_FRESH_FOR, Campaign, locate, shown_status
from tambour.services.context import Context
from tambour.sms.text import count_text
from tambour.store.engine import reader
from tambour.store.tables import plan_rows

SAMPLES: Final = 3


@dataclass(frozen=True, slots=True)
class Sample:
    """The exact message one recipient will get, as planned."""

    contact_id: int
    phone: str  # E.164
    territory: str | None
    timezone: str | None  # the recipient's: its send time is shown in it
    basis: str | None
    deferral: str | None
    send_at: datetime | None
    segments: int
    encoding: str
    text: str


@dataclass(frozen=True, slots=True)
class PlainAlternative:
    """The campaign's text with plain (GSM-7) characters, when the plan sends UCS-2 only
    because of a few characters: how many parts a sample would take then."""

    text: str
    sample_parts: int  # the UCS-2 sample's parts with plain characters
    sample_parts_now: int


@dataclass(frozen=True, slots=True)
class PlanView:
    """A campaign as its plan report shows it; `summary` None: not planned (yet)."""

    campaign: Campaign
    status: str  # as shown: draft, planned, launched, finished, cancelled
    summary: Mapping[str, Any] | None
    blocks: tuple[Mapping[str, str], ...]  # {code, message} of each block standing
    samples: tuple[Sample, ...]
    plain: PlainAlternative | None
    stale: bool = False  # planned too long ago to be launched: plan again first

    @property
    def planned(self) -> bool:
        return self.summary is not None

    @property
    def most_parts(self) -> int:
        sizes = (self.summary or {}).get("by_parts") or {}
        return max((int(parts) for parts in sizes), default=0)


_COLUMNS = (
    plan_rows.c.contact_id, plan_rows.c.e164, plan_rows.c.territory, plan_rows.c.timezone,
    plan_rows.c.basis, plan_rows.c.deferral, plan_rows.c.send_at, plan_rows.c.segments,
    plan_rows.c.encoding, plan_rows.c.text,
)  # fmt: skip


def _sample(row: Any) -> Sample:
    return Sample(
        contact_id=row.contact_id, phone=row.e164, territory=row.territory,
        timezone=row.timezone, basis=row.basis, deferral=row.deferral, send_at=row.send_at,
        segments=row.segments or 0, encoding=row.encoding or "", text=row.text or "",
    )  # fmt: skip


def _samples(conn: Connection, campaign: Campaign, most_parts: int) -> tuple[Sample, ...]:
    """The first sends in contact order, and the first with the most parts when none of them
    has that many (as the command line's report: plan_reads.samples)."""
    if campaign.plan_generation is None:  # never planned: nothing to show
        return ()
    found = plan_reads.sample_rows(
        conn, campaign.id, campaign.plan_generation, most_parts, _COLUMNS, SAMPLES
    )
    return tuple(_sample(row) for row in found)


def _plain(campaign: Campaign, samples: Sequence[Sample]) -> PlainAlternative | None:
    """The text with plain characters, when a UCS-2 sample would be GSM-7 with them."""
    suggestion = count_text(campaign.text).suggestion
    wide = next((s for s in samples if s.encoding == "UCS-2"), None)
    if suggestion is None or wide is None:
        return None
    counted = count_text(wide.text)
    plain = count_text(counted.suggestion) if counted.suggestion else None
    if plain is None or plain.encoding != "GSM-7":
        return None
    return PlainAlternative(suggestion, plain.segments, counted.segments)


def plan_view(ctx: Context, *, slug: str, campaign_id: int) -> PlanView:
    """The report of campaign `campaign_id` of advertiser `slug` (NotFoundError for another's):
    its stored summary and blocks, and its sample messages (none when not planned)."""
    with reader(ctx.engine) as conn:
        campaign = locate(conn, slug=slug, campaign_id=campaign_id)
        summary = campaign.plan_summary if campaign.plan_generation is not None else None
        samples: tuple[Sample, ...] = ()
        if summary is not None and summary.get("send"):
            sizes = summary.get("by_parts") or {}
            most = max((int(parts) for parts in sizes), default=0)
            samples = _samples(conn, campaign, most)
    blocks = tuple((summary or {}).get("blocks") or ())
    return PlanView(
        campaign=campaign,
        status=shown_status(campaign),
        summary=summary,
        blocks=blocks,
        samples=samples,
        plain=_plain(campaign, samples) if samples else None,
        stale=(
            campaign.status == "planned"
            and campaign.planned_at is not None
            and ctx.now() - campaign.planned_at > PLAN_FRESH_FOR
        ),
    )
