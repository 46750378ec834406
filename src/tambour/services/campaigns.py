"""Campaigns: their definition, and the life of a plan after it is made (launch, cancel, status).

A campaign belongs to one advertiser and is named uniquely within it; every query filters on
the advertiser. Statuses: `draft` (no plan yet), `planned` (a current plan exists; planning
again replaces it), `launched` (the plan is frozen and its sends are in the outbox),
`cancelled` (queued messages were withdrawn; nothing more can happen). A launched campaign
is shown `finished` once none of its messages is queued, in flight or unknown (`finished_at`,
set by the worker: services/outbox.end_campaigns); stored, it stays `launched`, its plan frozen.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, literal, select, update

from tambour.rules.calendar import LEGAL_WINDOW, WindowPolicy
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import ContentCheck, check_content
from tambour.rules.facts import CampaignFacts
from tambour.rules.fold import fold_set
from tambour.services import advertisers, audit
from tambour.services import campaign_definition as definition
from tambour.services.advertisers import Advertiser
from tambour.services.campaign_definition import Definition
from tambour.services.context import Context, NotFoundError, ServiceError
from tambour.store.bulk import refresh_statistics, reserve_ids
from tambour.store.engine import reader
from tambour.store.tables import (
    OUTBOX_STATES,
    UtcDateTime,
    campaigns,
    contacts,
    evidence,
    outbox,
    plan_rows,
)
from tambour.store.tables import advertisers as advertiser_rows

PLANNABLE = ("draft", "planned")
PLAN_FRESH_FOR = timedelta(hours=24)  # an older plan is planned again before launch


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    advertiser: Advertiser
    name: str
    nature: Nature
    channel: Channel
    sender: str
    text: str
    categories: tuple[str, ...]
    professions: tuple[str, ...]
    tags: tuple[str, ...]
    start_at: datetime | None  # None: as soon as possible
    send_by: datetime | None
    status: str
    created_at: datetime
    created_by: str
    plan_generation: int | None
    planned_at: datetime | None
    plan_summary: dict[str, Any] | None
    launched_at: datetime | None
    cancelled_at: datetime | None
    transaction_field: str | None = None  # transactional: the contact field of the transaction
    # A launched campaign with nothing left queued, in flight or unknown: when its last message
    # reached its final state (services/outbox.end_campaigns). Shown as status `finished`.
    finished_at: datetime | None = None

    def facts(self, now: datetime, window: WindowPolicy = LEGAL_WINDOW) -> CampaignFacts:
        """The campaign as the core sees it when planned at `now`."""
        return CampaignFacts(
            nature=self.nature,
            channel=self.channel,
            start=self.start_at or now,
            categories=fold_set(self.categories),
            professions=fold_set(self.professions),
            send_by=self.send_by,
            window=window,
            transaction_field=self.transaction_field,
        )

    def content(self) -> ContentCheck:
        return check_content(
            text=self.text,
            sender=self.sender,
            nature=self.nature,
            channel=self.channel,
            advertiser=self.advertiser.facts,
            transaction_field=self.transaction_field,
        )

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name,
            "advertiser": self.advertiser.slug,
            "nature": self.nature.value,
            "channel": self.channel.value,
            "sender": self.sender,
            "text": self.text,
            "categories": list(self.categories),
            "professions": list(self.professions),
            "tags": list(self.tags),
            "start": iso(self.start_at),
            "send_by": iso(self.send_by),
            "transaction_field": self.transaction_field,
            "status": self.status,
            "created_at": iso(self.created_at),
            "planned_at": iso(self.planned_at),
            "launched_at": iso(self.launched_at),
            "cancelled_at": iso(self.cancelled_at),
        }


def _campaign(row: Any, advertiser: Advertiser) -> Campaign:
    return Campaign(
        id=row.id,
        advertiser=advertiser,
        name=row.name,
        nature=Nature(row.nature),
        channel=Channel(row.channel),
        sender=row.sender,
        text=row.text,
        categories=tuple(row.categories),
        professions=tuple(row.professions),
        tags=tuple(row.tags),
        start_at=row.start_at,
        send_by=row.send_by,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
        plan_generation=row.plan_generation,
        planned_at=row.planned_at,
        plan_summary=row.plan_summary,
        launched_at=row.launched_at,
        cancelled_at=row.cancelled_at,
        transaction_field=row.transaction_field,
        finished_at=row.finished_at,
    )


def _advertiser(conn: Connection, slug: str) -> Advertiser:
    try:
        return advertisers.get(conn, slug)
    except NotFoundError as error:
        raise NotFoundError(f"--advertiser: {error}") from None


def resolve(
    conn: Connection, name: str, slug: str | None = None, *, lock: bool = False
) -> Campaign:
    """The campaign `name` of advertiser `slug`; without a slug, the only campaign of that
    name (several advertisers may each have one: then say which). `lock` holds its row until
    the transaction ends (PostgreSQL; SQLite's writers are serialised anyway)."""
    query = select(campaigns).where(campaigns.c.name == name)
    if slug is not None:
        advertiser = _advertiser(conn, slug)
        query = query.where(campaigns.c.advertiser_id == advertiser.id)
    if lock:
        query = query.with_for_update()
    found = conn.execute(query).all()
    if not found:
        where = f"{slug} has" if slug else "there is"
        raise NotFoundError(f"{where} no campaign {name!r} (see `tambour campaign list`)")
    if len(found) > 1:
        slugs = sorted(
            conn.execute(
                select(advertiser_rows.c.slug).where(
                    advertiser_rows.c.id.in_([r.advertiser_id for r in found])
                )
            ).scalars()
        )
        raise ServiceError(
            f"several advertisers have a campaign {name!r} ({', '.join(slugs)}): "
            "say which with --advertiser"
        )
    row = found[0]
    if slug is None:
        slug = conn.execute(
            select(advertiser_rows.c.slug).where(advertiser_rows.c.id == row.advertiser_id)
        ).scalar_one()
    return _campaign(row, advertisers.get(conn, slug))


def by_id(conn: Connection, campaign_id: int, advertiser_id: int) -> Campaign:
    """The campaign `campaign_id` of advertiser `advertiser_id` (the dispatcher's look-up)."""
    row = conn.execute(
        select(campaigns).where(
            campaigns.c.id == campaign_id, campaigns.c.advertiser_id == advertiser_id
        )
    ).one()
    return _campaign(row, advertisers.by_ids(conn, [advertiser_id])[advertiser_id])


def window_policy(conn: Connection, advertiser: Advertiser) -> WindowPolicy:
    """The advertiser's sending window: the legal one unless narrowed (stored as
    {"days": [0..5], "start": "HH:MM", "end": "HH:MM"})."""
    stored = conn.execute(
        select(advertiser_rows.c.window).where(advertiser_rows.c.id == advertiser.id)
    ).scalar_one()
    if not stored:
        return LEGAL_WINDOW
    try:
        policy = WindowPolicy(
            days=frozenset(stored.get("days", range(6))),
            start=time.fromisoformat(stored.get("start", "08:00")),
            end=time.fromisoformat(stored.get("end", "20:00")),
        )
    except (TypeError, ValueError, AttributeError) as error:
        raise ServiceError(
            f"{advertiser.slug}: its stored sending window is unusable ({error})"
        ) from None
    if not policy.narrows(LEGAL_WINDOW):
        raise ServiceError(f"{advertiser.slug}: its stored sending window is wider than the law")
    return policy


# --- definition -----------------------------------------------------------------------------


def record(
    conn: Connection, ctx: Context, campaign: Campaign, action: str, at: datetime, **details: Any
) -> None:
    """The audit entry of an action on `campaign`: its name (any phone number masked) and its
    id, which names it for good (a name is free again once its campaign is deleted)."""
    audit.append(
        conn,
        actor=ctx.actor,
        action=f"campaign.{action}",
        advertiser_id=campaign.advertiser.id,
        details={
            "campaign": audit.without_phones(campaign.name),
            "campaign_id": campaign.id,
            **details,
        },
        at=at,
    )


def sender_id(value: str, advertiser: Advertiser) -> str:
    """`value` as one of the advertiser's sender IDs (as it was registered), or its short
    number; refused otherwise."""
    wanted = value.strip()
    for sender in advertiser.senders:
        if sender.upper() == wanted.upper():
            return sender
    if advertiser.stop_number and wanted == advertiser.stop_number:
        return wanted
    known = ", ".join(advertiser.senders) or "none"
    raise ServiceError(
        f"--sender: {value!r} is not a sender ID of {advertiser.slug} ({known}, or its short "
        f"number {advertiser.stop_number})"
    )


def definition_of(campaign: Campaign) -> Definition:
    return Definition(
        nature=campaign.nature, channel=campaign.channel, sender=campaign.sender,
        text=campaign.text, categories=campaign.categories, professions=campaign.professions,
        tags=campaign.tags, start_at=campaign.start_at, send_by=campaign.send_by,
        transaction_field=campaign.transaction_field,
    )  # fmt: skip


def create(
    ctx: Context,
    *,
    slug: str,
    name: str,
    nature: str,
    channel: str,
    sender: str,
    text: str,
    categories: str = "",
    professions: str = "",
    tags: str = "",
    start: datetime | None = None,
    send_by: datetime | None = None,
    transaction_field: str | None = None,
) -> tuple[Campaign, ContentCheck]:
    """Define a campaign; returns it with its content check (blocks a plan would report)."""
    now = ctx.now()
    name = name.strip()
    problems = [p for p in (definition.name_problem(name),) if p]
    parsed_nature = definition.choice(nature, Nature, "--nature")
    parsed_channel = definition.choice(channel, Channel, "--channel")
    with ctx.engine.begin() as conn:
        advertiser = _advertiser(conn, slug)
        wanted = Definition(
            nature=parsed_nature, channel=parsed_channel, sender=sender_id(sender, advertiser),
            text=text, categories=definition.listed(categories),
            professions=definition.listed(professions), tags=definition.listed(tags),
            start_at=start, send_by=send_by,
            transaction_field=definition.transaction_field(transaction_field),
        )  # fmt: skip
        problems += definition.problems(wanted, now)
        if problems:
            raise ServiceError("; ".join(problems))
        exists = conn.execute(
            select(campaigns.c.id).where(
                campaigns.c.advertiser_id == advertiser.id, campaigns.c.name == name
            )
        ).first()
        if exists:
            raise ServiceError(f"--name: {slug} has a campaign {name!r} already")
        conn.execute(
            insert(campaigns),
            {
                # Never an id a deleted campaign had: the audit log names campaigns by id.
                "id": reserve_ids(conn, "campaigns", 1)[0],
                "advertiser_id": advertiser.id,
                "name": name,
                **wanted.stored(),
                "status": "draft",
                "created_at": now,
                "created_by": ctx.actor,
                "generations": 0,
            },
        )
        campaign = resolve(conn, name, slug)
        content = campaign.content()
        record(
            conn, ctx, campaign, "create", now, **definition.audit_details(wanted),
            blocks=[b.code.value for b in content.blocks],
        )  # fmt: skip
    return campaign, content


def list_campaigns(ctx: Context, slug: str | None = None) -> list[dict[str, Any]]:
    """Campaigns (of one advertiser, or all), with their plan counts and messages by state."""
    with reader(ctx.engine) as conn:
        query = select(campaigns).order_by(campaigns.c.advertiser_id, campaigns.c.id)
        owners: dict[int, Advertiser] = {}
        if slug is not None:
            advertiser = _advertiser(conn, slug)
            owners[advertiser.id] = advertiser
            query = query.where(campaigns.c.advertiser_id == advertiser.id)
        found = []
        for row in conn.execute(query).all():
            if row.advertiser_id not in owners:
                owner = conn.execute(
                    select(advertiser_rows.c.slug).where(advertiser_rows.c.id == row.advertiser_id)
                ).scalar_one()
                owners[row.advertiser_id] = advertisers.get(conn, owner)
            campaign = _campaign(row, owners[row.advertiser_id])
            found.append({**_overview(campaign), "messages": _states(conn, campaign)})
        return found


_PLAN_FIGURES = ("targeted", "send", "exclude", "by_reason", "parts", "blocks", "seconds")


def _overview(campaign: Campaign) -> dict[str, Any]:
    summary = campaign.plan_summary or {}
    ended = campaign.status == "launched" and campaign.finished_at is not None
    return {
        **campaign.as_dict(),
        # Still `launched` in the database (its plan frozen); over: nothing left to send.
        "status": "finished" if ended else campaign.status,
        "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
        "plan": (
            {key: summary.get(key) for key in _PLAN_FIGURES}
            if campaign.plan_generation is not None
            else None
        ),
    }


def _states(conn: Connection, campaign: Campaign) -> dict[str, int]:
    counts = dict.fromkeys(OUTBOX_STATES, 0)
    for state, n in conn.execute(
        select(outbox.c.state, func.count())
        .where(outbox.c.advertiser_id == campaign.advertiser.id)
        .where(outbox.c.campaign_id == campaign.id)
        .group_by(outbox.c.state)
    ):
        counts[state] = n
    return counts


def _by_carrier(conn: Connection, campaign: Campaign) -> dict[str, dict[str, int]]:
    """The messages each carrier took (or was last given), by state: '' names the one carrier
    of a `[transport]` configuration. Messages no carrier had are not counted."""
    found: dict[str, dict[str, int]] = {}
    for carrier, state, n in conn.execute(
        select(outbox.c.carrier, outbox.c.state, func.count())
        .where(outbox.c.advertiser_id == campaign.advertiser.id)
        .where(outbox.c.campaign_id == campaign.id)
        .where(outbox.c.carrier.is_not(None))
        .group_by(outbox.c.carrier, outbox.c.state)
        .order_by(outbox.c.carrier, outbox.c.state)
    ):
        found.setdefault(carrier, {})[state] = n
    return found


def _reasons(conn: Connection, campaign: Campaign) -> dict[str, dict[str, int]]:
    """Why messages are where they are, by state: held (queued with a deferral), cancelled
    (opted out since the plan...), expired, unknown (a worker lost), failed (the carrier's
    error code)."""
    found: dict[str, dict[str, int]] = {}
    for state, reason, error_code, n in conn.execute(
        select(outbox.c.state, outbox.c.reason, outbox.c.error_code, func.count())
        .where(outbox.c.advertiser_id == campaign.advertiser.id)
        .where(outbox.c.campaign_id == campaign.id)
        .where(outbox.c.state.in_(["queued", "cancelled", "expired", "unknown", "failed"]))
        .group_by(outbox.c.state, outbox.c.reason, outbox.c.error_code)
    ):
        why = reason or (f"carrier error {error_code}" if error_code is not None else None)
        if why is None:
            continue
        by_state = found.setdefault(state, {})
        by_state[why] = by_state.get(why, 0) + n
    return found


def status(ctx: Context, *, name: str, slug: str | None = None) -> dict[str, Any]:
    with reader(ctx.engine) as conn:
        campaign = resolve(conn, name, slug)
        return {
            **_overview(campaign),
            "messages": _states(conn, campaign),
            "reasons": _reasons(conn, campaign),
            "carriers": _by_carrier(conn, campaign),
        }


# --- launch and cancel ----------------------------------------------------------------------


def _changed_recipients(conn: Connection, campaign: Campaign) -> int:
    """`send` rows whose contact changed since it was decided: a new fact, another profile
    (postal code, kind, professions...), an erasure. Opt-outs recorded since are the
    dispatcher's to apply: it checks the suppression list before every message."""
    owner = campaign.advertiser.id
    latest = (
        select(func.coalesce(func.max(evidence.c.id), 0))
        .where(evidence.c.contact_id == plan_rows.c.contact_id, evidence.c.advertiser_id == owner)
        .scalar_subquery()
    )
    return conn.execute(
        select(func.count())
        .select_from(plan_rows)
        .join(
            contacts,
            and_(contacts.c.id == plan_rows.c.contact_id, contacts.c.advertiser_id == owner),
        )
        .where(
            plan_rows.c.campaign_id == campaign.id,
            plan_rows.c.generation == campaign.plan_generation,
            plan_rows.c.decision == "send",
            contacts.c.e164.is_(None)
            | (contacts.c.profile_hash != plan_rows.c.seen_profile)
            | (latest != plan_rows.c.seen_evidence),
        )
    ).scalar_one()


def launch(ctx: Context, *, name: str, slug: str | None = None) -> dict[str, Any]:
    """Freeze the current plan and queue one outbox message per `send` row."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = resolve(conn, name, slug, lock=True)
        refusal = _launch_refusal(conn, campaign, now)
        if refusal:
            raise ServiceError(refusal)
        stamp = literal(now, UtcDateTime())
        source = select(
            plan_rows.c.advertiser_id,
            plan_rows.c.campaign_id,
            plan_rows.c.contact_id,
            plan_rows.c.e164,
            plan_rows.c.postal_code,
            literal(campaign.sender),
            plan_rows.c.text,
            plan_rows.c.encoding,
            plan_rows.c.segments,
            plan_rows.c.send_at,
            literal(campaign.send_by, UtcDateTime()),
            literal("queued"),
            literal(0),
            stamp,
            stamp,
            plan_rows.c.retain_until,
        ).where(
            plan_rows.c.campaign_id == campaign.id,
            plan_rows.c.generation == campaign.plan_generation,
            plan_rows.c.advertiser_id == campaign.advertiser.id,
            plan_rows.c.decision == "send",
        )
        conn.execute(
            insert(outbox).from_select(
                [
                    "advertiser_id", "campaign_id", "contact_id", "e164", "postal_code",
                    "sender", "text", "encoding", "parts", "send_at", "send_by", "state",
                    "attempts", "created_at", "updated_at", "retain_until",
                ],
                source,
            )
        )  # fmt: skip
        queued = _states(conn, campaign)["queued"]  # psycopg gives no rowcount for it
        # For the workers' claim: without fresh statistics PostgreSQL guessed a few due rows,
        # fetched and sorted every one of them for each window's worth (8 ms for 20,000,
        # growing with the campaign) instead of reading the due index in order.
        refresh_statistics(conn, "outbox")
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(status="launched", launched_at=now)
        )
        parts = (campaign.plan_summary or {}).get("parts")
        record(
            conn, ctx, campaign, "launch", now, generation=campaign.plan_generation,
            planned_at=campaign.planned_at.isoformat() if campaign.planned_at else None,
            queued=queued, parts=parts,
        )  # fmt: skip
    return {
        "campaign": campaign.name,
        "queued": queued,
        "parts": parts,
        "launched_at": now.isoformat(),
    }


def _launch_refusal(conn: Connection, campaign: Campaign, now: datetime) -> str | None:
    name = campaign.name
    if campaign.status == "launched":
        assert campaign.launched_at is not None
        return f"{name!r} was launched at {campaign.launched_at.isoformat()}: it cannot be again"
    if campaign.status == "cancelled":
        return f"{name!r} was cancelled: create a new campaign"
    if campaign.plan_generation is None or campaign.planned_at is None:
        return f"{name!r} has no plan yet: run `tambour campaign plan {name!r}` and read it first"
    if now - campaign.planned_at > PLAN_FRESH_FOR:
        return (
            f"the plan of {name!r} was made at {campaign.planned_at.isoformat()}, more than "
            f"{PLAN_FRESH_FOR.total_seconds() / 3600:.0f} hours ago: a plan is proof only while "
            f"it is fresh; run `tambour campaign plan {name!r}` again, read it, then launch"
        )
    blocks = (campaign.plan_summary or {}).get("blocks") or []
    if blocks:
        said = "; ".join(f"{b['code']}: {b['message']}" for b in blocks)
        return f"{name!r} is blocked, nothing can be sent until this changes: {said}"
    if campaign.send_by is not None and now >= campaign.send_by:
        return f"{name!r} had to be sent by {campaign.send_by.isoformat()}: too late to launch"
    changed = _changed_recipients(conn, campaign)
    if changed:
        return (
            f"{changed:,} recipient(s) of {name!r} changed in the ledger since the plan was "
            f"made at {campaign.planned_at.isoformat()}: run `tambour campaign plan {name!r}` "
            "again, read it, then launch"
        )
    return None


def cancel(ctx: Context, *, name: str, slug: str | None = None) -> dict[str, Any]:
    """Withdraw the queued messages; those already handed to the carrier cannot be recalled."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = resolve(conn, name, slug, lock=True)
        if campaign.status == "cancelled":
            raise ServiceError(f"{campaign.name!r} is cancelled already")
        if campaign.finished_at is not None:
            raise ServiceError(
                f"{campaign.name!r} finished at {campaign.finished_at.isoformat()}: every message "
                "has reached its fate, nothing is left to cancel"
            )
        withdrawn = conn.execute(
            update(outbox)
            .where(
                outbox.c.advertiser_id == campaign.advertiser.id,
                outbox.c.campaign_id == campaign.id,
                outbox.c.state == "queued",
            )
            .values(state="cancelled", updated_at=now)
        ).rowcount
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(status="cancelled", cancelled_at=now)
        )
        states = _states(conn, campaign)
        record(conn, ctx, campaign, "cancel", now, was=campaign.status, withdrawn=withdrawn)
    gone = sum(states[s] for s in ("submitting", "submitted", "delivered", "unknown"))
    return {"campaign": campaign.name, "was": campaign.status, "withdrawn": withdrawn,
            "already_sent": gone}  # fmt: skip
