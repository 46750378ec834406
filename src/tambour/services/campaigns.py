"""Campaigns: their definition, and the life of a plan after it is made (launch, cancel, status).

A campaign belongs to one advertiser and is named uniquely within it; every query filters on
the advertiser. Statuses: `draft` (no plan yet), `planned` (a current plan exists; planning
again replaces it), `launched` (the plan is frozen and its sends are in the outbox),
`cancelled` (queued messages were withdrawn; nothing more can happen). A launched campaign
is shown `finished` once none of its messages is queued, in flight or unknown (`finished_at`,
set by the worker: services/outbox.end_campaigns); stored, it stays `launched`, its plan frozen.
It is shown `paused` while its advertiser's 33700 complaint rate holds it (`paused_at`,
services/complaints.py: its queued messages wait in the outbox state `paused`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import Connection, and_, case, func, insert, literal, select, update

from tambour.rules.ab_tests import LABELS, WinnerBy
from tambour.rules.calendar import LEGAL_WINDOW, WindowPolicy
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import ContentCheck, Finding, check_content
from tambour.rules.facts import CampaignFacts
from tambour.rules.fold import fold_set
from tambour.rules.links import LinkBases
from tambour.services import advertisers, audit, webhooks
from tambour.services import campaign_definition as definition
from tambour.services.ab_draw import REST
from tambour.services.advertisers import Advertiser
from tambour.services.campaign_definition import ABTest, Definition
from tambour.services.context import (
    ConflictError,
    Context,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    refuse_any,
)
from tambour.services.views import View, as_json
from tambour.services.webhooks import Event, Subscriptions
from tambour.store.bulk import refresh_statistics, reserve_ids
from tambour.store.engine import reader
from tambour.store.tables import (
    OUTBOX_STATES,
    WAITING_STATES,
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

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "campaign_not_found": "{slug} has no campaign {name!r}",
    "campaign_not_found_anywhere": "there is no campaign {name!r}",
    "campaign_id_not_found": "there is no campaign with the id {campaign_id}",
    "unknown_status": (
        "{status!r} is not a status (draft, planned, launched, paused, finished, cancelled)"
    ),
    "campaign_ambiguous": "several advertisers have a campaign {name!r} ({slugs}): say which",
    "window_unusable": "{slug}: its stored sending window is unusable ({error})",
    "window_too_wide": "{slug}: its stored sending window is wider than the law",
    "unknown_sender": (
        "{value!r} is not a sender ID of {slug} ({known}, or its short number {stop_number})"
    ),
    "campaign_exists": "{slug} has a campaign {name!r} already",
    "campaign_launched": "{name!r} was launched at {at}: it cannot be again",
    "campaign_cancelled": "{name!r} was cancelled: create a new campaign",
    "plan_missing": "{name!r} has no plan yet",
    "plan_stale": (
        "the plan of {name!r} was made at {at}, more than {hours:.0f} hours ago: a plan is "
        "proof only while it is fresh"
    ),
    "campaign_blocked": "{name!r} is blocked, nothing can be sent until this changes: {said}",
    "send_by_past": "{name!r} had to be sent by {send_by}: too late to launch",
    "recipients_changed": (
        "{changed:,} recipient(s) of {name!r} changed in the ledger since the plan was made at {at}"
    ),
    "cancelled_already": "{name!r} is cancelled already",
    "campaign_finished": (
        "{name!r} finished at {at}: every message has reached its fate, nothing is left to cancel"
    ),
}


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
    # Paused for its advertiser's 33700 complaint rate (services/complaints.py): shown `paused`.
    paused_at: datetime | None = None
    ab: ABTest | None = None  # an A/B test of its text (services/ab_tests.py)
    winner: str | None = None  # the A/B test's winning variant, once chosen
    winner_at: datetime | None = None
    winner_figures: dict[str, Any] | None = None  # what the choice was made on
    test_ends_at: datetime | None = None  # set at launch
    rest_released_at: datetime | None = None

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

    def content(self, links: LinkBases) -> ContentCheck:
        """The content check, with `links` where its links made per message point. With an
        A/B test, each variant is checked on its own: the blocks of every variant are the
        campaign's (variant A's as they are, the others' named by their variant)."""
        contents = self.variant_contents(links)
        if len(contents) == 1:
            return contents[0]
        blocks = list(contents[0].blocks)
        for label, content in zip(LABELS[1:], contents[1:], strict=False):
            blocks += [
                Finding(block.code, f"variant {label}: {block.message}") for block in content.blocks
            ]
        return replace(contents[0], blocks=tuple(blocks))

    def variant_contents(self, links: LinkBases) -> tuple[ContentCheck, ...]:
        """The content check of each text: the campaign's, then its A/B test's variants."""
        return tuple(
            check_content(
                text=text,
                sender=self.sender,
                nature=self.nature,
                channel=self.channel,
                advertiser=self.advertiser.facts,
                transaction_field=self.transaction_field,
                links=links,
            )
            for text in (self.text, *(self.ab.variants if self.ab else ()))
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
            "paused_at": iso(self.paused_at),
            "ab_test": None
            if self.ab is None
            else {
                "variants": list(self.ab.variants),
                "test_share": self.ab.share,
                "winner_by": self.ab.winner_by.value,
                "test_minutes": self.ab.minutes,
                "test_ends_at": iso(self.test_ends_at),
                "winner": self.winner,
                "winner_at": iso(self.winner_at),
            },
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
        paused_at=row.paused_at,
        ab=None if row.variants is None else ABTest(
            variants=tuple(row.variants), share=row.test_share,
            winner_by=WinnerBy(row.winner_by), minutes=row.test_minutes,
        ),
        winner=row.winner,
        winner_at=row.winner_at,
        winner_figures=row.winner_figures,
        test_ends_at=row.test_ends_at,
        rest_released_at=row.rest_released_at,
    )  # fmt: skip


def resolve(
    conn: Connection, name: str, slug: str | None = None, *, lock: bool = False, field: str = "name"
) -> Campaign:
    """The campaign `name` of advertiser `slug`; without a slug, the only campaign of that
    name (several advertisers may each have one: then say which). `lock` holds its row until
    the transaction ends (PostgreSQL; SQLite's writers are serialised anyway). `field`: the
    caller's parameter that names the campaign (a refusal's field)."""
    query = select(campaigns).where(campaigns.c.name == name)
    if slug is not None:
        advertiser = advertisers.get(conn, slug)
        query = query.where(campaigns.c.advertiser_id == advertiser.id)
    if lock:
        query = query.with_for_update()
    found = conn.execute(query).all()
    if not found:
        said = TEXTS["campaign_not_found" if slug else "campaign_not_found_anywhere"]
        raise NotFoundError(
            said.format(slug=slug, name=name), code="campaign_not_found", field=field
        )
    if len(found) > 1:
        slugs = sorted(
            conn.execute(
                select(advertiser_rows.c.slug).where(
                    advertiser_rows.c.id.in_([r.advertiser_id for r in found])
                )
            ).scalars()
        )
        said = TEXTS["campaign_ambiguous"].format(name=name, slugs=", ".join(slugs))
        raise InvalidInputError("slug", "campaign_ambiguous", said)
    row = found[0]
    if slug is None:
        slug = conn.execute(
            select(advertiser_rows.c.slug).where(advertiser_rows.c.id == row.advertiser_id)
        ).scalar_one()
    return _campaign(row, advertisers.get(conn, slug))


def locate(
    conn: Connection,
    *,
    name: str | None = None,
    slug: str | None = None,
    campaign_id: int | None = None,
    lock: bool = False,
) -> Campaign:
    """The campaign named by its id (as the API names it) or else by its name (`resolve`); of
    advertiser `slug` when given: another advertiser's campaign is not found, exactly as one
    that does not exist (NotFoundError, field `campaign_id`)."""
    if campaign_id is None:
        if name is None:
            raise ValueError("a campaign is named by its name or its id")  # a caller's bug
        return resolve(conn, name, slug, lock=lock)
    # Not a message sent by itself (services/messages.py): a campaign of its own kind.
    query = select(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.kind == "campaign")
    owner = None
    if slug is not None:
        owner = advertisers.get(conn, slug)
        query = query.where(campaigns.c.advertiser_id == owner.id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        said = TEXTS["campaign_id_not_found"].format(campaign_id=campaign_id)
        raise NotFoundError(said, code="campaign_not_found", field="campaign_id")
    if owner is None:
        owner = advertisers.by_ids(conn, [row.advertiser_id])[row.advertiser_id]
    return _campaign(row, owner)


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
        said = TEXTS["window_unusable"].format(slug=advertiser.slug, error=error)
        raise ConflictError(said, code="window_unusable") from None
    if not policy.narrows(LEGAL_WINDOW):
        said = TEXTS["window_too_wide"].format(slug=advertiser.slug)
        raise ConflictError(said, code="window_too_wide")
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
    number; refused otherwise (parameter `sender`)."""
    wanted = value.strip()
    for sender in advertiser.senders:
        if sender.upper() == wanted.upper():
            return sender
    if advertiser.stop_number and wanted == advertiser.stop_number:
        return wanted
    said = TEXTS["unknown_sender"].format(
        value=value,
        slug=advertiser.slug,
        known=", ".join(advertiser.senders) or "none",
        stop_number=advertiser.stop_number,
    )
    raise InvalidInputError("sender", "unknown_sender", said)


def definition_of(campaign: Campaign) -> Definition:
    return Definition(
        nature=campaign.nature, channel=campaign.channel, sender=campaign.sender,
        text=campaign.text, categories=campaign.categories, professions=campaign.professions,
        tags=campaign.tags, start_at=campaign.start_at, send_by=campaign.send_by,
        transaction_field=campaign.transaction_field, ab=campaign.ab,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Defined:
    """A campaign just defined, with its content check: the blocks a plan would report."""

    campaign: Campaign
    content: ContentCheck


def create(
    ctx: Context,
    *,
    slug: str,
    name: str,
    nature: Nature,
    sender: str,
    text: str,
    channel: Channel = Channel.SMS,
    categories: Sequence[str] = (),
    professions: Sequence[str] = (),
    tags: Sequence[str] = (),
    start: datetime | None = None,
    send_by: datetime | None = None,
    transaction_field: str | None = None,
    variants: Sequence[str] = (),
    test_share: int | None = None,
    winner_by: str | None = None,
    test_minutes: int | None = None,
) -> Defined:
    """Define a campaign; returns it with its content check (blocks a plan would report).
    Refused: an unknown advertiser (NotFoundError), a bad definition, with every problem found
    (InvalidInputError), a name the advertiser has already (ConflictError)."""
    now = ctx.now()
    name = name.strip()
    problems = [p for p in (definition.name_problem(name),) if p]
    ab, ab_problems = definition.ab_test(
        variants, text=text, share=test_share, winner_by=winner_by, minutes=test_minutes
    )
    problems += ab_problems
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        wanted = Definition(
            nature=Nature(nature), channel=Channel(channel), sender=sender_id(sender, advertiser),
            text=text, categories=definition.listed(categories),
            professions=definition.listed(professions), tags=definition.listed(tags),
            start_at=start, send_by=send_by,
            transaction_field=definition.transaction_field(transaction_field), ab=ab,
        )  # fmt: skip
        problems += definition.problems(wanted, now)
        refuse_any(problems)
        exists = conn.execute(
            select(campaigns.c.id).where(
                campaigns.c.advertiser_id == advertiser.id, campaigns.c.name == name
            )
        ).first()
        if exists:
            said = TEXTS["campaign_exists"].format(slug=slug, name=name)
            raise ConflictError(said, code="campaign_exists", field="name")
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
        content = campaign.content(ctx.links)
        record(
            conn, ctx, campaign, "create", now, **definition.audit_details(wanted),
            blocks=[b.code.value for b in content.blocks],
        )  # fmt: skip
    return Defined(campaign, content)


@dataclass(frozen=True, slots=True)
class PlanFigures(View):
    """The figures of a campaign's current plan (its stored summary's), None when not kept."""

    targeted: int | None
    send: int | None
    exclude: int | None
    by_reason: Mapping[str, int] | None
    parts: int | None
    blocks: Sequence[Mapping[str, str]] | None  # {code, message} of each block standing
    seconds: float | None  # how long planning took

    @classmethod
    def of(cls, summary: Mapping[str, Any]) -> "PlanFigures":
        return cls(**{name: summary.get(name) for name in _PLAN_FIGURES})


_PLAN_FIGURES: Final = ("targeted", "send", "exclude", "by_reason", "parts", "blocks", "seconds")


@dataclass(frozen=True, slots=True)
class CampaignOverview:
    """A campaign as a list shows it: shown `finished` when launched with nothing left to
    send (stored, it stays `launched`, its plan frozen), its plan's figures (None: not
    planned), and its messages counted by state."""

    campaign: Campaign
    status: str
    plan: PlanFigures | None
    messages: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.campaign.as_dict(),
            "status": self.status,
            "finished_at": as_json(self.campaign.finished_at),
            "plan": as_json(self.plan),
            "messages": dict(self.messages),
        }


@dataclass(frozen=True, slots=True)
class CampaignStatus(CampaignOverview):
    """A campaign's overview, with why messages are where they are (by state, then reason)
    and the messages each carrier took (by carrier, then state; '' names the one carrier of a
    `[transport]` configuration)."""

    reasons: Mapping[str, Mapping[str, int]]
    carriers: Mapping[str, Mapping[str, int]]

    def as_dict(self) -> dict[str, Any]:
        return {
            **CampaignOverview.as_dict(self),
            "reasons": as_json(self.reasons),
            "carriers": as_json(self.carriers),
        }


def list_campaigns(ctx: Context, slug: str | None = None) -> list[CampaignOverview]:
    """Campaigns (of one advertiser, or all), with their plan counts and messages by state.
    Not the messages sent one by one (services/messages.py), each a campaign of its own."""
    with reader(ctx.engine) as conn:
        query = (
            select(campaigns)
            .where(campaigns.c.kind == "campaign")
            .order_by(campaigns.c.advertiser_id, campaigns.c.id)
        )
        owners: dict[int, Advertiser] = {}
        if slug is not None:
            advertiser = advertisers.get(conn, slug)
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
            found.append(
                CampaignOverview(
                    campaign, _shown_status(campaign), _figures(campaign), _states(conn, campaign)
                )
            )
        return found


SHOWN_STATUSES: Final = ("draft", "planned", "launched", "paused", "finished", "cancelled")


@dataclass(frozen=True, slots=True)
class CampaignPage:
    """A page of an advertiser's campaigns, newest first; `next_before`: the cursor of the
    next page (its campaigns are older than this id), None on the last."""

    campaigns: list[CampaignOverview]
    next_before: int | None


def page_campaigns(
    ctx: Context,
    *,
    slug: str,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> CampaignPage:
    """The campaigns of advertiser `slug`, newest first, `limit` at a time (one indexed query
    for the page, one grouped query for its messages by state), of one shown status or all."""
    if status is not None and status not in SHOWN_STATUSES:
        said = TEXTS["unknown_status"].format(status=status)
        raise InvalidInputError("status", "unknown_status", said)
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        query = (
            select(campaigns)
            .where(campaigns.c.advertiser_id == advertiser.id, campaigns.c.kind == "campaign")
            .order_by(campaigns.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(campaigns.c.id < before)
        if status in ("launched", "paused", "finished"):
            ended = campaigns.c.finished_at.is_not(None)
            paused = campaigns.c.paused_at.is_not(None)
            query = query.where(
                campaigns.c.status == "launched",
                ended if status == "finished" else ~ended,
            )
            if status != "finished":
                query = query.where(paused if status == "paused" else ~paused)
        elif status is not None:
            query = query.where(campaigns.c.status == status)
        found = conn.execute(query).all()
        page = [_campaign(row, advertiser) for row in found[:limit]]
        counts = _states_of(conn, advertiser.id, [campaign.id for campaign in page])
        items = [CampaignOverview(c, _shown_status(c), _figures(c), counts[c.id]) for c in page]
    return CampaignPage(items, page[-1].id if len(found) > limit else None)


def _states_of(
    conn: Connection, advertiser_id: int, campaign_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """The messages of these campaigns by state, in one grouped query."""
    counts = {campaign_id: dict.fromkeys(OUTBOX_STATES, 0) for campaign_id in campaign_ids}
    if not campaign_ids:
        return counts
    for campaign_id, state, n in conn.execute(
        select(outbox.c.campaign_id, outbox.c.state, func.count())
        .where(outbox.c.advertiser_id == advertiser_id)
        .where(outbox.c.campaign_id.in_(campaign_ids))
        .group_by(outbox.c.campaign_id, outbox.c.state)
    ):
        counts[campaign_id][state] = n
    return counts


def shown_status(campaign: Campaign) -> str:
    """`finished` for a launched campaign with nothing left to send, `paused` for one held
    for its complaint rate, else its stored status."""
    return _shown_status(campaign)


def _shown_status(campaign: Campaign) -> str:
    # Still `launched` in the database (its plan frozen); over: nothing left to send.
    if campaign.status != "launched":
        return campaign.status
    if campaign.finished_at is not None:
        return "finished"
    return "launched" if campaign.paused_at is None else "paused"


def _figures(campaign: Campaign) -> PlanFigures | None:
    if campaign.plan_generation is None:
        return None
    return PlanFigures.of(campaign.plan_summary or {})


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
        .where(outbox.c.state.in_([*WAITING_STATES, "cancelled", "expired", "unknown", "failed"]))
        .group_by(outbox.c.state, outbox.c.reason, outbox.c.error_code)
    ):
        why = reason or (f"carrier error {error_code}" if error_code is not None else None)
        if why is None:
            continue
        by_state = found.setdefault(state, {})
        by_state[why] = by_state.get(why, 0) + n
    return found


def status(
    ctx: Context, *, name: str | None = None, slug: str | None = None,
    campaign_id: int | None = None,
) -> CampaignStatus:  # fmt: skip
    """The campaign's state, its messages by state, why, and by carrier (the campaign named
    by its name or by its id)."""
    with reader(ctx.engine) as conn:
        campaign = locate(conn, name=name, slug=slug, campaign_id=campaign_id)
        return CampaignStatus(
            campaign=campaign,
            status=_shown_status(campaign),
            plan=_figures(campaign),
            messages=_states(conn, campaign),
            reasons=_reasons(conn, campaign),
            carriers=_by_carrier(conn, campaign),
        )


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


@dataclass(frozen=True, slots=True)
class Launched(View):
    campaign: str  # its name
    queued: int  # messages
    parts: int | None  # of all the messages, as planned
    launched_at: datetime
    held: int = 0  # an A/B test's rest: held until the winner is chosen


def launch(
    ctx: Context, *, name: str | None = None, slug: str | None = None,
    campaign_id: int | None = None,
) -> Launched:  # fmt: skip
    """Freeze the current plan and queue one outbox message per `send` row; the webhook event
    `campaign.launched` in the same transaction. Refused (ConflictError) when it cannot be
    launched now: launched or cancelled already, without a plan, a plan too old, blocked, past
    its deadline, or recipients changed since the plan."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = locate(conn, name=name, slug=slug, campaign_id=campaign_id, lock=True)
        refusal = _launch_refusal(conn, campaign, now)
        if refusal:
            raise refusal
        stamp = literal(now, UtcDateTime())
        source = select(
            plan_rows.c.advertiser_id,
            plan_rows.c.campaign_id,
            plan_rows.c.contact_id,
            plan_rows.c.e164,
            plan_rows.c.postal_code,
            literal(campaign.sender),
            # An A/B test's rest: no text until the winner is chosen, held till then.
            func.coalesce(plan_rows.c.text, literal("")),
            plan_rows.c.encoding,
            plan_rows.c.segments,
            plan_rows.c.send_at,
            literal(campaign.send_by, UtcDateTime()),
            case((plan_rows.c.ab_group == REST, literal("held")), else_=literal("queued")),
            literal(0),
            stamp,
            stamp,
            plan_rows.c.retain_until,
            plan_rows.c.variant,
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
                    "attempts", "created_at", "updated_at", "retain_until", "variant",
                ],
                source,
            )
        )  # fmt: skip
        states = _states(conn, campaign)  # psycopg gives no rowcount for it
        queued, held = states["queued"], states.get("held", 0)
        # For the workers' claim: without fresh statistics PostgreSQL guessed a few due rows,
        # fetched and sorted every one of them for each window's worth (8 ms for 20,000,
        # growing with the campaign) instead of reading the due index in order.
        refresh_statistics(conn, "outbox")
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(
                status="launched", launched_at=now, test_ends_at=_test_ends(conn, campaign, now)
            )
        )
        parts = (campaign.plan_summary or {}).get("parts")
        record(
            conn, ctx, campaign, "launch", now, generation=campaign.plan_generation,
            planned_at=campaign.planned_at.isoformat() if campaign.planned_at else None,
            queued=queued, parts=parts, **({"held": held} if campaign.ab else {}),
        )  # fmt: skip
        launched = {
            "campaign_id": campaign.id, "campaign": campaign.name,
            "launched_at": now.isoformat(), "generation": campaign.plan_generation,
            "queued": queued, "parts": parts, **({"held": held} if campaign.ab else {}),
        }  # fmt: skip
        webhooks.emit(conn, [Event(campaign.advertiser.id, "campaign.launched", launched)], now)
    return Launched(campaign.name, queued, parts, now, held)


def _test_ends(conn: Connection, campaign: Campaign, now: datetime) -> datetime | None:
    """When an A/B test launched `now` is over: its time after its first message is due (the
    launch, or later for a scheduled campaign or one whose window opens later)."""
    if campaign.ab is None:
        return None
    first = conn.execute(
        select(func.min(outbox.c.send_at)).where(
            outbox.c.campaign_id == campaign.id, outbox.c.state == "queued"
        )
    ).scalar_one_or_none()
    return max(now, first or now) + timedelta(minutes=campaign.ab.minutes)


def _launch_refusal(conn: Connection, campaign: Campaign, now: datetime) -> ServiceError | None:
    name = campaign.name

    def refused(code: str, **values: Any) -> ServiceError:
        return ConflictError(TEXTS[code].format(name=name, **values), code=code)

    if campaign.status == "launched":
        assert campaign.launched_at is not None
        return refused("campaign_launched", at=campaign.launched_at.isoformat())
    if campaign.status == "cancelled":
        return refused("campaign_cancelled")
    if campaign.plan_generation is None or campaign.planned_at is None:
        return refused("plan_missing")
    planned_at = campaign.planned_at.isoformat()
    if now - campaign.planned_at > PLAN_FRESH_FOR:
        return refused("plan_stale", at=planned_at, hours=PLAN_FRESH_FOR.total_seconds() / 3600)
    blocks = (campaign.plan_summary or {}).get("blocks") or []
    if blocks:
        said = "; ".join(f"{b['code']}: {b['message']}" for b in blocks)
        return refused("campaign_blocked", said=said)
    if campaign.send_by is not None and now >= campaign.send_by:
        return refused("send_by_past", send_by=campaign.send_by.isoformat())
    changed = _changed_recipients(conn, campaign)
    if changed:
        return refused("recipients_changed", changed=changed, at=planned_at)
    return None


@dataclass(frozen=True, slots=True)
class Cancelled(View):
    campaign: str  # its name
    was: str  # its status before: draft, planned or launched
    withdrawn: int  # queued messages withdrawn
    already_sent: int  # handed to the carrier already: they cannot be recalled


def cancel(
    ctx: Context, *, name: str | None = None, slug: str | None = None,
    campaign_id: int | None = None,
) -> Cancelled:  # fmt: skip
    """Withdraw the queued messages (paused ones too); those already handed to the carrier
    cannot be recalled.
    Each message withdrawn is a `message.cancelled` webhook event, in the same transaction,
    when an endpoint of the advertiser wants them. Refused (ConflictError) for a campaign
    cancelled or finished already."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = locate(conn, name=name, slug=slug, campaign_id=campaign_id, lock=True)
        if campaign.status == "cancelled":
            said = TEXTS["cancelled_already"].format(name=campaign.name)
            raise ConflictError(said, code="campaign_cancelled")
        if campaign.finished_at is not None:
            said = TEXTS["campaign_finished"].format(
                name=campaign.name, at=campaign.finished_at.isoformat()
            )
            raise ConflictError(said, code="campaign_finished")
        if Subscriptions(ttl=0).wants(conn, campaign.advertiser.id, "message.cancelled"):
            withdrawn = _withdraw_told(conn, campaign, now)
        else:
            withdrawn = conn.execute(
                update(outbox)
                .where(
                    outbox.c.advertiser_id == campaign.advertiser.id,
                    outbox.c.campaign_id == campaign.id,
                    outbox.c.state.in_(WAITING),
                )
                .values(state="cancelled", updated_at=now)
            ).rowcount
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(status="cancelled", cancelled_at=now, paused_at=None)
        )
        states = _states(conn, campaign)
        record(conn, ctx, campaign, "cancel", now, was=campaign.status, withdrawn=withdrawn)
    gone = sum(states[s] for s in ("submitting", "submitted", "delivered", "unknown"))
    return Cancelled(campaign.name, campaign.status, withdrawn, gone)


_WITHDRAW_CHUNK: Final = 1000
WAITING: Final = WAITING_STATES  # messages a cancel withdraws: none of them left


def _withdraw_told(conn: Connection, campaign: Campaign, now: datetime) -> int:
    """Withdraw the campaign's queued messages a chunk at a time (in id order, each chunk
    read through the (campaign_id, state) index), each withdrawn one a `message.cancelled`
    event (the payload of services/message_events.py); returns how many were withdrawn.
    A message a worker claimed meanwhile is not withdrawn, nor told."""
    owner = campaign.advertiser.id
    withdrawn, last = 0, 0
    while True:
        ids = list(
            conn.execute(
                select(outbox.c.id)
                .where(
                    outbox.c.campaign_id == campaign.id,
                    outbox.c.state.in_(WAITING),
                    outbox.c.advertiser_id == owner,
                    outbox.c.id > last,
                )
                .order_by(outbox.c.id)
                .limit(_WITHDRAW_CHUNK)
            ).scalars()
        )
        if not ids:
            return withdrawn
        last = ids[-1]
        done = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids), outbox.c.state.in_(WAITING))
            .values(state="cancelled", updated_at=now)
            .returning(outbox.c.id, outbox.c.e164, outbox.c.carrier, outbox.c.submitted_at)
        ).all()
        withdrawn += len(done)
        events = [
            Event(owner, "message.cancelled", {
                "message_id": message_id, "campaign_id": campaign.id, "to": e164,
                "state": "cancelled", "reason": "campaign_cancelled", "error_code": None,
                "carrier": carrier, "submitted_at": as_json(submitted_at),
                "done_at": now.isoformat(),
            })
            for message_id, e164, carrier, submitted_at in sorted(done)
        ]  # fmt: skip
        webhooks.emit(conn, events, now)
