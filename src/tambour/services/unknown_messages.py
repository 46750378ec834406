"""What an operator does with a campaign's `unknown` messages: those a worker was submitting
when it died, or whose submit got no answer. Nobody can tell whether they left, so no worker
ever sends them again by itself (a duplicate is worse than a gap). The operator asks the
carrier (its records of the account's submits) and, when they did not leave, queues them again:
they then go as any queued message, the opt-outs and the window checked right before.

A message the carrier took some parts of has them recorded: it did leave, in part, and sending
it again would send those parts twice. It stays unknown.
"""

from typing import Any

from sqlalchemy import exists, func, select, update

from tambour.services import audit
from tambour.services.campaigns import record, resolve
from tambour.services.context import Context, ServiceError
from tambour.store.tables import outbox, outbox_parts


def requeue_unknown(ctx: Context, *, name: str, slug: str | None = None) -> dict[str, Any]:
    """Queue again, due now, the campaign's unknown messages that have no part recorded as
    taken by the carrier. Only a launched campaign's: a cancelled one sends nothing more."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = resolve(conn, name, slug, lock=True)
        if campaign.status != "launched":
            raise ServiceError(
                f"{campaign.name!r} is {campaign.status}: only a launched campaign's messages "
                "can be queued again"
            )
        mine = (
            outbox.c.advertiser_id == campaign.advertiser.id,
            outbox.c.campaign_id == campaign.id,
            outbox.c.state == "unknown",
        )
        taken = exists().where(outbox_parts.c.outbox_id == outbox.c.id)
        requeued = sorted(
            conn.execute(
                update(outbox)
                .where(*mine, ~taken)
                .values(
                    state="queued",
                    send_at=now,
                    reason=None,
                    error_code=None,
                    last_error="queued again: the carrier did not take it (its operator checked)",
                    lease_owner=None,
                    lease_until=None,
                    done_at=None,
                    updated_at=now,
                )
                .returning(outbox.c.id)
            ).scalars()
        )
        kept = conn.execute(select(func.count()).where(*mine)).scalar_one()
        if requeued:
            record(
                conn, ctx, campaign, "requeue_unknown", now,
                requeued=audit.id_ranges(requeued), kept_unknown=kept,
            )  # fmt: skip
    return {"campaign": campaign.name, "requeued": len(requeued), "kept_unknown": kept}
