"""What an operator does with a campaign's `unknown` messages: those a worker was submitting
when it died, or whose submit got no answer. Nobody can tell whether they left, so no worker
ever sends them again by itself (a duplicate is worse than a gap). The operator asks the
carrier (its records of the account's submits) and, when they did not leave, queues them again:
they then go as any queued message, the opt-outs and the window checked right before.

A message the carrier took some parts of has them recorded: it did leave, in part, and sending
it again would send those parts twice. It stays unknown.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, update

from tambour.services import audit
from tambour.services.campaigns import record, resolve
from tambour.services.context import ConflictError, Context
from tambour.services.views import View
from tambour.store.engine import reader
from tambour.store.tables import outbox, outbox_parts


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A message in doubt, as its carrier's support needs it to search its records."""

    message_id: int  # Tambour's (the outbox row)
    recipient: str  # E.164
    sender: str
    parts: int
    carrier: str | None  # the carrier that took some of its parts, if known
    carrier_ids: tuple[str, ...]  # the carrier's ids of the parts it took, if any
    may_have_left_from: datetime | None  # claimed (or left) then: search from this time
    in_doubt_since: datetime | None
    reason: str | None  # worker_lost, in_doubt, worker_error
    detail: str | None


def to_check(ctx: Context, *, name: str, slug: str | None = None) -> list[UnknownMessage]:
    """The campaign's unknown messages, with what the carrier's support needs to tell whether
    it took them: recipient, sender, times, the ids of parts it is known to have taken. In
    message order. Read only."""
    with reader(ctx.engine) as conn:
        campaign = resolve(conn, name, slug)
        found = conn.execute(
            select(
                outbox.c.id, outbox.c.e164, outbox.c.sender, outbox.c.parts, outbox.c.carrier,
                outbox.c.submitted_at, outbox.c.done_at, outbox.c.reason, outbox.c.last_error,
            )
            .where(
                outbox.c.advertiser_id == campaign.advertiser.id,
                outbox.c.campaign_id == campaign.id,
                outbox.c.state == "unknown",
            )
            .order_by(outbox.c.id)
        ).all()  # fmt: skip
        keys: dict[int, list[tuple[int, str, str]]] = {}
        if found:
            for outbox_id, part, key, carrier in conn.execute(
                select(
                    outbox_parts.c.outbox_id, outbox_parts.c.part, outbox_parts.c.carrier_key,
                    outbox_parts.c.carrier,
                ).where(outbox_parts.c.outbox_id.in_([row.id for row in found]))
            ):  # fmt: skip
                keys.setdefault(outbox_id, []).append((part, key, carrier))
    listed = []
    for row in found:
        taken = sorted(keys.get(row.id, []))
        carrier = row.carrier or (taken[0][2] if taken else None)
        listed.append(
            UnknownMessage(
                row.id, row.e164, row.sender, row.parts, carrier or None,
                tuple(key for _, key, _ in taken), row.submitted_at, row.done_at, row.reason,
                row.last_error,
            )
        )  # fmt: skip
    return listed


@dataclass(frozen=True, slots=True)
class Requeued(View):
    campaign: str  # its name
    requeued: int  # unknown messages queued again
    kept_unknown: int  # unknown still: the carrier took some of their parts


def requeue_unknown(ctx: Context, *, name: str, slug: str | None = None) -> Requeued:
    """Queue again, due now, the campaign's unknown messages that have no part recorded as
    taken by the carrier. Only a launched campaign's: a cancelled one sends nothing more."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = resolve(conn, name, slug, lock=True)
        if campaign.status != "launched":
            raise ConflictError(
                f"{campaign.name!r} is {campaign.status}: only a launched campaign's messages "
                "can be queued again",
                code="campaign_not_launched",
                field="name",
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
    return Requeued(campaign.name, len(requeued), kept)
