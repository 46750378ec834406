"""What a worker re-checks right before a message leaves, beyond the clock and the campaign
(whether it is still launched comes with the claim, services/outbox.py): the recipient has not
opted out, complained, withdrawn consent or been erased since the plan was made (a STOP that
arrived after planning wins).

Facts recorded before the plan were weighed by the planner (a later consent may have lifted an
old STOP): only what was recorded since counts here, plus any 33700 complaint, which nothing
lifts.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from tambour.rules.calendar import WindowPolicy
from tambour.rules.codes import Nature, Reason
from tambour.rules.sending import STOPPING_FACTS, stops_message, suppression_stop
from tambour.services import campaigns
from tambour.services.advertisers import Advertiser
from tambour.services.outbox import Claimed
from tambour.services.suppression import entries as suppression_entries


@dataclass(frozen=True, slots=True)
class CampaignDispatch:
    """What dispatch needs of a campaign, read once per worker (the plan is frozen)."""

    id: int
    advertiser: Advertiser
    nature: Nature
    planned_at: datetime
    generation: int  # of the plan launched
    policy: WindowPolicy
    name: str = ""  # routing rules may name campaigns (dispatch/routing.py)

    @property
    def prospection(self) -> bool:
        return self.nature is not Nature.TRANSACTIONAL


def campaign_dispatch(conn: Connection, campaign_id: int, advertiser_id: int) -> CampaignDispatch:
    campaign = campaigns.by_id(conn, campaign_id, advertiser_id)
    # launched campaigns have a plan
    assert campaign.planned_at is not None and campaign.plan_generation is not None
    return CampaignDispatch(
        campaign.id,
        campaign.advertiser,
        campaign.nature,
        campaign.planned_at,
        campaign.plan_generation,
        campaigns.window_policy(conn, campaign.advertiser),
        campaign.name,
    )


def stopped_since_plan(
    conn: Connection, messages: Sequence[Claimed], plans: dict[int, CampaignDispatch]
) -> dict[int, Reason]:
    """The messages (by outbox id) whose recipient opted out, complained, withdrew consent or
    was erased since their campaign was planned, with the reason."""
    stopped = {m.id: STOPPING_FACTS[m.stopped_by] for m in messages if m.stopped_by is not None}
    by_advertiser: dict[int, list[Claimed]] = {}
    for message in messages:
        by_advertiser.setdefault(message.advertiser_id, []).append(message)
    for group in by_advertiser.values():
        for key, reason in _suppressed(conn, group, plans).items():
            if reason is Reason.COMPLAINT_33700 or key not in stopped:
                stopped[key] = reason
    prospection = {m.id: plans[m.campaign_id].prospection for m in messages}
    erased = {m.id for m in messages if m.stopped_by == "erasure"}
    return {
        key: reason
        for key, reason in stopped.items()
        if stops_message(reason, prospection=prospection[key], erased=key in erased)
    }


def _suppressed(
    conn: Connection, group: list[Claimed], plans: dict[int, CampaignDispatch]
) -> dict[int, Reason]:
    """The messages of one advertiser that its suppression list stops."""
    found = suppression_entries(
        conn, plans[group[0].campaign_id].advertiser, {m.e164 for m in group}
    )
    stopped: dict[int, Reason] = {}
    for message in group:
        entry = found.get(message.e164)
        if entry is None:
            continue
        since_plan = entry.recorded_at > plans[message.campaign_id].planned_at
        reason = suppression_stop(entry.source, since_plan=since_plan)
        if reason is not None:
            stopped[message.id] = reason
    return stopped
