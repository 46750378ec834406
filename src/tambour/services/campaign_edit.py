"""Fixing a campaign before it leaves: `edit` changes its definition (the current plan is
dropped, since it decided on the old one), `delete` removes it and its plan (its name is free
again). Both only while it is a draft or planned; both audited, the dropped plan rows listed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, Final

from sqlalchemy import Connection, delete, update

from tambour.rules.codes import Nature
from tambour.rules.content import ContentCheck
from tambour.services import campaign_definition as definition
from tambour.services.campaigns import (
    PLANNABLE,
    Campaign,
    definition_of,
    locate,
    record,
    resolve,
    sender_id,
)
from tambour.services.context import (
    ConflictError,
    Context,
    InvalidInputError,
    Problem,
    ServiceError,
    refuse_any,
)
from tambour.services.seals import Written, with_rows
from tambour.store.tables import campaigns, plan_rows


class Keep(Enum):
    """An option not given: the campaign keeps what it has."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "campaign_launched": (
        "{name!r} was launched: it cannot be {doing}; cancel it and create a new one"
    ),
    "campaign_cancelled": "{name!r} is {status}: it cannot be {doing}",
    "nothing_to_change": (
        "nothing to change: give the text, sender, targeting or schedule to change"
    ),
    "nothing_changed": "{name!r} has this definition already: nothing changed",
}


@dataclass(frozen=True, slots=True)
class Changes:
    """What to change; `KEEP` (the default) leaves a part as it is. `start` or `send_by`
    None clears it (as soon as possible, no deadline); `transaction_field` None clears it.
    Named as `campaigns.create` names them (a refusal's `field`)."""

    nature: Nature | Keep = KEEP
    sender: str | Keep = KEEP
    text: str | Keep = KEEP
    categories: Sequence[str] | Keep = KEEP
    professions: Sequence[str] | Keep = KEEP
    tags: Sequence[str] | Keep = KEEP
    start: datetime | Keep | None = KEEP
    send_by: datetime | Keep | None = KEEP
    transaction_field: str | Keep | None = KEEP
    # An A/B test: `variants` [] removes it; settings not given keep the test's own.
    variants: Sequence[str] | Keep = KEEP
    test_share: int | Keep = KEEP
    winner_by: str | Keep = KEEP
    test_minutes: int | Keep = KEEP


@dataclass(frozen=True, slots=True)
class Edited:
    campaign: Campaign
    content: ContentCheck
    changed: tuple[str, ...]  # the parts that changed, by name
    plan_dropped: bool  # it had a plan, now gone: plan again


@dataclass(frozen=True, slots=True)
class Deleted:
    name: str
    advertiser: str
    was: str  # draft or planned
    plan_rows: int  # rows of its plans removed


def _not_editable(campaign: Campaign, doing: str) -> ServiceError:
    code = "campaign_launched" if campaign.status == "launched" else "campaign_cancelled"
    said = TEXTS[code].format(name=campaign.name, status=campaign.status, doing=doing)
    return ConflictError(said, code=code)


def _drop_plans(conn: Connection, campaign: Campaign) -> int:
    """Delete every plan row of `campaign` (the current plan and any left by an interrupted
    plan); bump its generation counter so that a plan being made meanwhile is discarded."""
    return conn.execute(
        delete(plan_rows).where(
            plan_rows.c.campaign_id == campaign.id,
            plan_rows.c.advertiser_id == campaign.advertiser.id,
        )
    ).rowcount


def _changed(old: definition.Definition, new: definition.Definition) -> tuple[str, ...]:
    before, after = old.stored(), new.stored()
    return tuple(name for name in after if after[name] != before[name])


def edit(
    ctx: Context, *, name: str | None = None, slug: str | None = None, changes: Changes,
    campaign_id: int | None = None,
) -> Edited:  # fmt: skip
    """Change a draft or planned campaign (named by its name or by its id). The new
    definition is checked as at creation; a plan made on the old one is dropped (plan again,
    then launch). Refused: a launched or cancelled campaign (ConflictError), a bad definition
    or one that changes nothing (InvalidInputError)."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = locate(conn, name=name, slug=slug, campaign_id=campaign_id, lock=True)
        if campaign.status not in PLANNABLE:
            raise _not_editable(campaign, "edited")
        old = definition_of(campaign)
        given: dict[str, Any] = {}
        if not isinstance(changes.nature, Keep):
            given["nature"] = Nature(changes.nature)
        if not isinstance(changes.sender, Keep):
            given["sender"] = sender_id(changes.sender, campaign.advertiser)
        if not isinstance(changes.text, Keep):
            given["text"] = changes.text
        for part in ("categories", "professions", "tags"):
            value = getattr(changes, part)
            if not isinstance(value, Keep):
                given[part] = definition.listed(value)
        for part, stored in (("start", "start_at"), ("send_by", "send_by")):
            value = getattr(changes, part)
            if not isinstance(value, Keep):
                given[stored] = value
        if not isinstance(changes.transaction_field, Keep):
            given["transaction_field"] = definition.transaction_field(changes.transaction_field)
        ab_given = {
            part: value
            for part in ("variants", "test_share", "winner_by", "test_minutes")
            if not isinstance(value := getattr(changes, part), Keep)
        }
        ab_problems: list[Problem] = []
        if ab_given:
            given["ab"], ab_problems = definition.ab_test(
                ab_given.get("variants"), text=given.get("text", old.text),
                share=ab_given.get("test_share"), winner_by=ab_given.get("winner_by"),
                minutes=ab_given.get("test_minutes"), base=old.ab,
            )  # fmt: skip
        if not given:
            raise InvalidInputError(None, "nothing_to_change", TEXTS["nothing_to_change"])
        new = replace(old, **given)
        refuse_any(ab_problems + definition.problems(new, now))
        changed = _changed(old, new)
        if not changed:
            said = TEXTS["nothing_changed"].format(name=campaign.name)
            raise InvalidInputError(None, "nothing_changed", said)
        dropped = campaign.plan_generation is not None
        removed = _drop_plans(conn, campaign)
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(
                **new.stored(),
                status="draft",
                plan_generation=None,
                planned_at=None,
                plan_summary=None,
                generations=campaigns.c.generations + 1,
            )
        )
        edited = resolve(conn, campaign.name, campaign.advertiser.slug)
        content = edited.content(ctx.links)
        details = definition.audit_details(new)
        record(
            conn, ctx, edited, "edit", now, changed=list(changed),
            **{k: details[k] for k in _audited(changed)},
            plan_dropped=campaign.plan_generation, plan_rows_removed=removed,
            blocks=[b.code.value for b in content.blocks],
            **with_rows({}, Written(dropped=[campaign.id] if dropped else [])),
        )  # fmt: skip
    return Edited(edited, content, changed, dropped)


def _audited(changed: tuple[str, ...]) -> list[str]:
    """The audit details' names of the changed parts (the text by its digest)."""
    names = {"text": "text_sha256", "start_at": "start", "variants": "variants_sha256"}
    return [names.get(part, part) for part in changed]


def delete_campaign(
    ctx: Context, *, name: str | None = None, slug: str | None = None,
    campaign_id: int | None = None,
) -> Deleted:  # fmt: skip
    """Remove a draft or planned campaign (named by its name or by its id) and its plan; its
    name can be used again. Its audit entries stay: the log says it existed, what it was,
    and that it was deleted."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        campaign = locate(conn, name=name, slug=slug, campaign_id=campaign_id, lock=True)
        if campaign.status not in PLANNABLE:
            raise _not_editable(campaign, "deleted")
        had_plan = campaign.plan_generation is not None
        removed = _drop_plans(conn, campaign)
        conn.execute(
            delete(campaigns).where(
                campaigns.c.id == campaign.id,
                campaigns.c.advertiser_id == campaign.advertiser.id,
            )
        )
        record(
            conn, ctx, campaign, "delete", now, was=campaign.status,
            plan_rows_removed=removed,
            **with_rows({}, Written(dropped=[campaign.id] if had_plan else [])),
        )  # fmt: skip
    return Deleted(campaign.name, campaign.advertiser.slug, campaign.status, removed)
