"""A/B tests once launched (rules.md section 8): each variant's figures, the winner chosen when
the test is over (by the job runners, or by a marketer who ends it sooner), and the rest of the
audience given the winner's text.

The plan decided every recipient: who may be sent a message, when and on which basis. A test's
recipients got their variant's text in their plan row; the rest's rows have none, and their
messages wait in the outbox state `held`. Choosing the winner records it (audited, webhook
`campaign.winner_chosen`), then writes the rest's messages chunk by chunk, each in its own
transaction: the plan row gets the winner's text, rendered for the contact as the plan would
have (its own links, its personalization fields as they are now), and is sealed again; the
audit entry of the chunk says by how much each plan's sum of seals changed, so `audit verify`
still proves the plan. The message then becomes `queued` (or `paused` while its campaign is)
and the workers send it after the usual checks (opt-outs, window, retention). A message that
the winner's text cannot make today (a personalization field emptied since the plan, too many
parts) is cancelled with the block's code. Choosing is idempotent: a runner that stops
half-way leaves the rest to the next, which carries on with the same winner.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from orjson import loads as json_loads
from sqlalchemy import Connection, and_, func, select, update

from tambour.contacts.ledger import EvidenceKind, personalization
from tambour.rules.ab_tests import LABELS, VariantFigures, winner
from tambour.rules.content import ContentCheck
from tambour.rules.planning import render
from tambour.services import jobs, webhooks
from tambour.services.ab_draw import REST
from tambour.services.campaigns import Campaign, locate, record
from tambour.services.context import ConflictError, Context, InvalidInputError, NotFoundError
from tambour.services.link_codes import LinkCodes
from tambour.services.seals import PLAN_SEALED, Written, current_sealer, with_rows
from tambour.services.views import View
from tambour.services.webhooks import Event
from tambour.store.bulk import adapt_datetime, driver_cursor, mark
from tambour.store.engine import reader
from tambour.store.tables import campaigns, evidence, link_clicks, outbox

log = logging.getLogger("tambour.ab_tests")

RELEASE_CHUNK: Final = 2000  # the rest's messages written in one transaction
_OPT_OUTS: Final = (EvidenceKind.OPT_OUT.value, EvidenceKind.COMPLAINT.value)
_SENT_STATES: Final = ("submitted", "delivered", "failed", "expired", "recorded", "unknown")

TEXTS: Final = {
    "no_ab_test": "{name!r} has no A/B test",
    "not_launched": "{name!r} is not launched: its test has not begun",
    "campaign_cancelled": "{name!r} was cancelled: its test is over without a winner",
    "winner_chosen": "{name!r} has its winner already: variant {winner}, chosen at {at}",
    "test_running": (
        "the test of {name!r} runs until {until}: name the variant to send to the rest to end "
        "it sooner"
    ),
    "unknown_variant": "{name!r} has no variant {variant}: its variants are {labels}",
}


@dataclass(frozen=True, slots=True)
class VariantReport(View):
    label: str
    text: str
    messages: int  # of the test
    sent: int  # taken by a carrier (or recorded)
    delivered: int
    clicked: int  # messages whose short link a person followed
    opted_out: int  # recipients who opted out after their message left
    click_rate: float | None  # clicked / sent
    optout_rate: float | None  # opted_out / sent


@dataclass(frozen=True, slots=True)
class ABReport(View):
    campaign: str
    winner_by: str
    test_share: int  # percent
    test_minutes: int
    test_ends_at: datetime | None  # None: not launched
    winner: str | None
    winner_at: datetime | None
    leading: str | None  # the variant the figures favour now (None: nothing sent yet)
    variants: tuple[VariantReport, ...]
    rest: int  # recipients of the rest, as planned
    rest_held: int  # messages of the rest still waiting for the winner's text
    rest_released_at: datetime | None


@dataclass(frozen=True, slots=True)
class Chosen(View):
    campaign: str
    winner: str
    measured: bool  # False: nothing of the test was sent; A, the campaign's text, is kept
    by: str  # clicks, optouts, or `hand` (a marketer named it)
    released: int  # the rest's messages given the winner's text
    cancelled: int  # of them, cancelled: the text could not be made for the contact today
    winner_at: datetime
    job: int | None = None  # the job giving the rest its text, when left to one


def _campaign(
    conn: Connection, *, name: str | None, slug: str | None, campaign_id: int | None,
    lock: bool = False,
) -> Campaign:  # fmt: skip
    campaign = locate(conn, name=name, slug=slug, campaign_id=campaign_id, lock=lock)
    if campaign.ab is None:
        said = TEXTS["no_ab_test"].format(name=campaign.name)
        raise NotFoundError(said, code="no_ab_test")
    return campaign


def report(
    ctx: Context, *, name: str | None = None, slug: str | None = None,
    campaign_id: int | None = None,
) -> ABReport:  # fmt: skip
    """The test of a campaign: each variant's messages and figures, the leader, the winner."""
    with reader(ctx.engine) as conn:
        campaign = _campaign(conn, name=name, slug=slug, campaign_id=campaign_id)
        return _report(conn, campaign)


def _report(conn: Connection, campaign: Campaign) -> ABReport:
    assert campaign.ab is not None
    figures = variant_figures(conn, campaign)
    texts = (campaign.text, *campaign.ab.variants)
    reports = tuple(
        VariantReport(
            label=f.label, text=texts[LABELS.index(f.label)], messages=messages, sent=f.sent,
            delivered=delivered, clicked=f.clicked, opted_out=f.opted_out,
            click_rate=f.click_rate, optout_rate=f.optout_rate,
        )
        for f, messages, delivered in figures
    )  # fmt: skip
    verdict = winner([f for f, _, _ in figures], campaign.ab.winner_by)
    held = conn.execute(
        select(func.count()).where(
            outbox.c.campaign_id == campaign.id,
            outbox.c.advertiser_id == campaign.advertiser.id,
            outbox.c.state == "held",
        )
    ).scalar_one()
    planned = (campaign.plan_summary or {}).get("ab_test") or {}
    rest = int(planned.get("rest", 0))  # the plan's rest: its sends outside the test
    return ABReport(
        campaign=campaign.name, winner_by=campaign.ab.winner_by.value,
        test_share=campaign.ab.share, test_minutes=campaign.ab.minutes,
        test_ends_at=campaign.test_ends_at, winner=campaign.winner,
        winner_at=campaign.winner_at, leading=verdict.winner if verdict.measured else None,
        variants=reports, rest=rest, rest_held=held,
        rest_released_at=campaign.rest_released_at,
    )  # fmt: skip


def variant_figures(conn: Connection, campaign: Campaign) -> list[tuple[VariantFigures, int, int]]:
    """Each variant's figures in the test, with its messages and those delivered. Only the
    test's messages carry a variant in the outbox: the rest's never count."""
    assert campaign.ab is not None
    mine = (outbox.c.campaign_id == campaign.id) & (
        outbox.c.advertiser_id == campaign.advertiser.id
    )
    sent = outbox.c.state.in_(_SENT_STATES)
    counts = {
        row.variant: row
        for row in conn.execute(
            select(
                outbox.c.variant,
                func.count().label("messages"),
                func.count().filter(sent).label("sent"),
                func.count().filter(outbox.c.state == "delivered").label("delivered"),
            )
            .where(mine, outbox.c.variant.is_not(None))
            .group_by(outbox.c.variant)
        )
    }
    clicked: dict[str, int] = dict(
        conn.execute(
            select(outbox.c.variant, func.count(func.distinct(link_clicks.c.outbox_id)))
            .join(outbox, outbox.c.id == link_clicks.c.outbox_id)
            .where(
                link_clicks.c.campaign_id == campaign.id,
                link_clicks.c.advertiser_id == campaign.advertiser.id,
                link_clicks.c.bot.is_(None),
                outbox.c.variant.is_not(None),
            )
            .group_by(outbox.c.variant)
        ).all()
    )
    opted_out: dict[str, int] = dict(
        conn.execute(
            select(outbox.c.variant, func.count(func.distinct(outbox.c.id)))
            .join(
                evidence,
                and_(
                    evidence.c.contact_id == outbox.c.contact_id,
                    evidence.c.advertiser_id == outbox.c.advertiser_id,
                    evidence.c.kind.in_(_OPT_OUTS),
                    evidence.c.occurred_at >= outbox.c.submitted_at,
                ),
            )
            .where(mine, outbox.c.variant.is_not(None), outbox.c.submitted_at.is_not(None))
            .group_by(outbox.c.variant)
        ).all()
    )
    found = []
    for label in LABELS[: 1 + len(campaign.ab.variants)]:
        row = counts.get(label)
        figures = VariantFigures(
            label, row.sent if row else 0, clicked.get(label, 0), opted_out.get(label, 0)
        )
        found.append((figures, row.messages if row else 0, row.delivered if row else 0))
    return found


# --- choosing the winner ----------------------------------------------------------------------


def choose(
    ctx: Context, *, name: str | None = None, slug: str | None = None,
    campaign_id: int | None = None, variant: str | None = None, release_now: bool = True,
) -> Chosen:  # fmt: skip
    """Choose the winner of a launched campaign's test and give the rest its text. Without
    `variant`, by the figures, once the test is over; with it, that variant now (the test
    ended sooner by hand). A winner chosen already is refused (ConflictError), except to
    carry on giving the rest its text when that was interrupted. `release_now` False: the
    winner recorded, and a job `ab_test.release` queued for the rest (its id in `job`)."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = _campaign(conn, name=name, slug=slug, campaign_id=campaign_id, lock=True)
        if campaign.winner is None or campaign.rest_released_at is not None:
            refusal = _refusal(campaign, variant, now)
            if refusal is not None:
                raise refusal
            campaign = _record_winner(conn, ctx, campaign, variant, now)
    if release_now:
        return _chosen(campaign, *release(ctx, campaign))
    from tambour.jobs.kinds import ab_test_release  # the job kinds import the services

    job = jobs.submit(ctx, ab_test_release.request(campaign))
    return _chosen(campaign, 0, 0, job.id)


def _chosen(campaign: Campaign, released: int, cancelled: int, job: int | None = None) -> Chosen:
    assert campaign.winner is not None and campaign.winner_at is not None
    said = campaign.winner_figures or {}
    return Chosen(
        campaign.name, campaign.winner, bool(said.get("measured")), str(said.get("by", "")),
        released, cancelled, campaign.winner_at, job,
    )  # fmt: skip


def _refusal(campaign: Campaign, variant: str | None, now: datetime) -> ConflictError | None:
    assert campaign.ab is not None
    name = campaign.name
    labels = LABELS[: 1 + len(campaign.ab.variants)]
    if variant is not None and variant.upper() not in labels:
        said = TEXTS["unknown_variant"].format(name=name, variant=variant, labels=", ".join(labels))
        raise InvalidInputError("variant", "unknown_variant", said)
    if campaign.status == "cancelled":
        return ConflictError(
            TEXTS["campaign_cancelled"].format(name=name), code="campaign_cancelled"
        )
    if campaign.status != "launched" or campaign.test_ends_at is None:
        return ConflictError(TEXTS["not_launched"].format(name=name), code="not_launched")
    if campaign.winner is not None and campaign.winner_at is not None:
        said = TEXTS["winner_chosen"].format(
            name=name, winner=campaign.winner, at=campaign.winner_at.isoformat()
        )
        return ConflictError(said, code="winner_chosen")
    if variant is None and now < campaign.test_ends_at:
        said = TEXTS["test_running"].format(name=name, until=campaign.test_ends_at.isoformat())
        return ConflictError(said, code="test_running")
    return None


def _record_winner(
    conn: Connection, ctx: Context, campaign: Campaign, variant: str | None, now: datetime
) -> Campaign:
    """The winner recorded on the campaign, audited and told by webhook; returns the
    campaign as it is now."""
    assert campaign.ab is not None
    figures = variant_figures(conn, campaign)
    verdict = winner([f for f, _, _ in figures], campaign.ab.winner_by)
    chosen = variant.upper() if variant is not None else verdict.winner
    by = "hand" if variant is not None else campaign.ab.winner_by.value
    said: dict[str, Any] = {
        "winner": chosen,
        "by": by,
        "measured": verdict.measured,
        "leading": verdict.winner if verdict.measured else None,
        "variants": [
            {
                "variant": f.label,
                "messages": messages,
                "sent": f.sent,
                "delivered": delivered,
                "clicked": f.clicked,
                "opted_out": f.opted_out,
            }
            for f, messages, delivered in figures
        ],
    }
    conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign.id, campaigns.c.winner.is_(None))
        .values(winner=chosen, winner_at=now, winner_figures=said)
    )
    record(conn, ctx, campaign, "winner", now, **said)
    event = {"campaign_id": campaign.id, "campaign": campaign.name, "chosen_at": now.isoformat(),
             **said}  # fmt: skip
    webhooks.emit(conn, [Event(campaign.advertiser.id, "campaign.winner_chosen", event)], now)
    return locate(conn, campaign_id=campaign.id)


def choose_due(ctx: Context) -> list[Chosen]:
    """The job runners' turn: every test that is over gets its winner by its figures, and
    every rest whose release was interrupted is carried on."""
    now = ctx.now()
    with reader(ctx.engine) as conn:
        due = (
            conn.execute(
                select(campaigns.c.id).where(
                    campaigns.c.status == "launched",
                    campaigns.c.variants.is_not(None),
                    campaigns.c.rest_released_at.is_(None),
                    campaigns.c.test_ends_at <= now,
                )
            )
            .scalars()
            .all()
        )
    done = []
    for campaign_id in due:
        try:
            with ctx.engine.begin() as conn:
                campaign = _campaign(conn, name=None, slug=None, campaign_id=campaign_id, lock=True)
                if campaign.winner is None:
                    if _refusal(campaign, None, now) is not None:
                        continue  # cancelled meanwhile
                    campaign = _record_winner(conn, ctx, campaign, None, now)
            done.append(_chosen(campaign, *release(ctx, campaign)))
        except (ConflictError, NotFoundError):
            continue  # cancelled, or deleted, meanwhile
    return done


# --- the rest given the winner's text ---------------------------------------------------------

_PLAN_SELECT: Final = f"SELECT {', '.join(PLAN_SEALED)}, seal FROM plan_rows"
_CONTACT_AT, _TEXT_AT = PLAN_SEALED.index("contact_id"), PLAN_SEALED.index("text")
_SEGMENTS_AT, _ENCODING_AT = PLAN_SEALED.index("segments"), PLAN_SEALED.index("encoding")
_UCS2_AT, _VARIANT_AT = PLAN_SEALED.index("ucs2_chars"), PLAN_SEALED.index("variant")


def release(
    ctx: Context, campaign: Campaign, *, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """The rest of a campaign whose winner is chosen given its text, a chunk per transaction,
    then the campaign marked released; returns (messages released, cancelled). `progress` is
    told the messages of each chunk."""
    assert campaign.ab is not None and campaign.winner is not None
    generation = campaign.plan_generation
    assert generation is not None
    content = campaign.variant_contents(ctx.links)[LABELS.index(campaign.winner)]
    codes = LinkCodes.for_keys(ctx.keys) if content.link_kinds else None
    released = cancelled = 0
    after = -1
    while True:
        now = ctx.now()
        with ctx.engine.begin() as conn:
            # The campaign's row first: one release at a time (SQLite's write lock, the row's
            # lock on PostgreSQL), and a pause seen as it is now.
            state = conn.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign.id)
                .values(rest_released_at=campaigns.c.rest_released_at)
                .returning(campaigns.c.paused_at, campaigns.c.rest_released_at)
            ).one()
            if state.rest_released_at is not None:
                break
            chunk = _release_chunk(
                conn, ctx, campaign, generation, content, codes, after,
                "paused" if state.paused_at is not None else "queued", now,
            )  # fmt: skip
            if chunk is None:
                conn.execute(
                    update(campaigns)
                    .where(campaigns.c.id == campaign.id)
                    .values(rest_released_at=now)
                )
                record(conn, ctx, campaign, "rest_released", now, winner=campaign.winner,
                       released=released, cancelled=cancelled)  # fmt: skip
                break
            after, done, dropped = chunk
            released += done
            cancelled += dropped
        if progress is not None:
            progress(done + dropped)
    return released, cancelled


def _release_chunk(
    conn: Connection, ctx: Context, campaign: Campaign, generation: int,
    content: ContentCheck, codes: LinkCodes | None, after: int, state: str, now: datetime,
) -> tuple[int, int, int] | None:  # fmt: skip
    """The next chunk of the rest after contact id `after`: its messages written (or
    cancelled), its plan rows sealed again, audited. Returns the last contact id, the
    messages released and cancelled; None when no row is left."""
    assert campaign.winner is not None
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        f"{_PLAN_SELECT} WHERE campaign_id = {q} AND generation = {q} AND ab_group = {q}"
        f" AND variant IS NULL AND decision = 'send' AND contact_id > {q}"
        f" ORDER BY contact_id LIMIT {RELEASE_CHUNK}",
        [campaign.id, generation, REST, after],
    )
    rows = [[bytes(v) if isinstance(v, memoryview) else v for v in found] for found in cursor]
    if not rows:
        return None
    ids = [int(row[_CONTACT_AT]) for row in rows]
    marks = ", ".join([q] * len(ids))
    cursor.execute(
        f"SELECT contact_id, id FROM outbox WHERE campaign_id = {q} AND state = 'held'"
        f" AND contact_id IN ({marks})",
        [campaign.id, *ids],
    )
    held = dict(cursor.fetchall())
    profile = "profile::text" if conn.dialect.name == "postgresql" else "profile"
    cursor.execute(
        f"SELECT id, {profile} FROM contacts WHERE advertiser_id = {q} AND id IN ({marks})",
        [campaign.advertiser.id, *ids],
    )
    profiles = dict(cursor.fetchall())
    links: dict[int, list[tuple[int, str]]] = {}
    if codes is not None:
        cursor.execute(
            f"SELECT contact_id, id, kind FROM message_links WHERE campaign_id = {q}"
            f" AND generation = {q} AND contact_id IN ({marks}) ORDER BY id",
            [campaign.id, generation, *ids],
        )
        for contact_id, link_id, kind in cursor.fetchall():
            links.setdefault(contact_id, []).append((link_id, kind))
    seal, written = current_sealer().plan_row, Written()
    stamp = adapt_datetime(conn, now)
    plan_updates: list[tuple[Any, ...]] = []
    queued: list[tuple[Any, ...]] = []
    dropped: list[tuple[Any, ...]] = []
    for row in rows:
        contact_id = int(row[_CONTACT_AT])
        message_id = held.get(contact_id)
        stored = profiles.get(contact_id)
        if message_id is None or stored is None:
            continue  # cancelled or erased meanwhile: nothing to send
        urls = [
            ctx.links.stop_link(codes.token(link_id))
            if kind == "stop"
            else ctx.links.short_link(codes.code(link_id))
            for link_id, kind in links.get(contact_id, [])
        ] if codes is not None else []  # fmt: skip
        made = render(content, personalization(json_loads(stored)), urls)
        blocked = made.block()  # decided by the core, as the plan would have
        if blocked is not None:
            dropped.append((blocked.value, stamp, stamp, message_id))
            continue
        old = row.pop()
        row[_TEXT_AT], row[_SEGMENTS_AT] = made.text, made.counted.segments
        row[_ENCODING_AT], row[_UCS2_AT] = made.counted.encoding, made.forcing[:40] or None
        row[_VARIANT_AT] = campaign.winner
        new = seal(row)
        written.rewrote(campaign.id, generation, None if old is None else bytes(old), new)
        plan_updates.append(
            (row[_TEXT_AT], row[_SEGMENTS_AT], row[_ENCODING_AT], row[_UCS2_AT],
             campaign.winner, new, campaign.id, generation, contact_id)
        )  # fmt: skip
        queued.append(
            (made.text, made.counted.encoding, made.counted.segments, state, stamp, message_id)
        )
    if plan_updates:
        cursor.executemany(
            f"UPDATE plan_rows SET text = {q}, segments = {q}, encoding = {q}, ucs2_chars = {q},"
            f" variant = {q}, seal = {q} WHERE campaign_id = {q} AND generation = {q}"
            f" AND contact_id = {q}",
            plan_updates,
        )
        cursor.executemany(
            f"UPDATE outbox SET text = {q}, encoding = {q}, parts = {q}, state = {q},"
            f" updated_at = {q} WHERE id = {q} AND state = 'held'",
            queued,
        )
        cursor.execute(
            f"UPDATE message_links SET variant = {q} WHERE campaign_id = {q} AND generation = {q}"
            f" AND contact_id IN ({marks})",
            [campaign.winner, campaign.id, generation, *ids],
        )
    if dropped:
        cursor.executemany(
            f"UPDATE outbox SET state = 'cancelled', reason = {q}, done_at = {q},"
            f" updated_at = {q} WHERE id = {q} AND state = 'held'",
            dropped,
        )
    if plan_updates or dropped:
        details = {"winner": campaign.winner, "released": len(queued), "cancelled": len(dropped)}
        record(conn, ctx, campaign, "rest_written", now, **with_rows(details, written))
    return ids[-1], len(queued), len(dropped)
