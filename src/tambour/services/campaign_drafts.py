"""A campaign defined from a form (the web editor): the values as typed, read as the command
line reads its options (lists as `a;b`, instants in Paris time, ISO 8601 or French), then the
use cases of services/campaigns.py and campaign_edit.py, which check and record them.

A form also refuses a text the plan would block for every recipient whatever their values: one
whose words alone, with the STOP mention, take more than rules/content.MAX_PARTS parts. (The
command line and the API keep defining such a campaign, blocked at its plan.) When a form has
problems of its own, the definition's are found with them, so that each field shows its own.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from tambour.contacts.values import parse_datetime
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import MAX_PARTS, check_content
from tambour.rules.fold import split_list
from tambour.rules.links import LinkBases
from tambour.services import campaign_definition as definition
from tambour.services import campaign_edit, campaigns
from tambour.services.advertisers import Advertiser
from tambour.services.campaign_definition import Definition
from tambour.services.campaigns import Campaign, Defined
from tambour.services.context import Context, InvalidInputError, Problem, refuse_any
from tambour.sms.text import count_text
from tambour.store.engine import reader

PARIS: Final = ZoneInfo("Europe/Paris")
FIRST_YEAR, LAST_YEAR = 2000, 2999  # as the API takes instants
FORM_INSTANT: Final = "%Y-%m-%dT%H:%M"  # an <input type="datetime-local">'s value

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "invalid_instant": (
        "{value!r} is not a date and time (2026-12-09T10:00 or 09/12/2026 10:00, Paris time)"
    ),
    "text_too_long": (
        "the text takes {parts} parts with its STOP mention, before any personalized value: "
        "a message of more than {most} parts is blocked; shorten it"
    ),
}


@dataclass(frozen=True, slots=True)
class Draft:
    """A campaign's definition as its form holds it, every value as typed: lists `a;b`,
    instants in Paris time ('' for none: as soon as planned, no deadline)."""

    name: str = ""
    nature: Nature = Nature.COMMERCIAL
    channel: Channel = Channel.SMS
    sender: str = ""
    text: str = ""
    categories: str = ""
    professions: str = ""
    tags: str = ""
    start: str = ""
    send_by: str = ""
    transaction_field: str = ""

    @classmethod
    def of(cls, campaign: Campaign) -> "Draft":
        """The form of a campaign as it is defined."""
        return cls(
            name=campaign.name,
            nature=campaign.nature,
            channel=campaign.channel,
            sender=campaign.sender,
            text=campaign.text,
            categories="; ".join(campaign.categories),
            professions="; ".join(campaign.professions),
            tags="; ".join(campaign.tags),
            start=form_instant(campaign.start_at),
            send_by=form_instant(campaign.send_by),
            transaction_field=campaign.transaction_field or "",
        )


def form_instant(instant: datetime | None) -> str:
    """An instant as a datetime-local field shows it, in Paris time; '' for none."""
    return "" if instant is None else instant.astimezone(PARIS).strftime(FORM_INSTANT)


def instant(value: str, field: str) -> datetime | None:
    """A form's instant: None when left empty; Paris time unless an offset is given.
    Refused (InvalidInputError for `field`): what is not a date and time of the years
    FIRST_YEAR to LAST_YEAR."""
    text = value.strip()
    if not text:
        return None
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None or not FIRST_YEAR <= parsed.astimezone(PARIS).year <= LAST_YEAR:
        said = TEXTS["invalid_instant"].format(value=value)
        raise InvalidInputError(field, "invalid_instant", said)
    return parsed.astimezone(UTC)


def instant_or_none(value: str) -> datetime | None:
    """A form's instant, None when empty or unreadable (for a preview, which refuses nothing)."""
    try:
        return instant(value, "start")
    except InvalidInputError:
        return None


def _instants(draft: Draft, problems: list[Problem]) -> tuple[datetime | None, datetime | None]:
    found: list[datetime | None] = []
    for field, value in (("start", draft.start), ("send_by", draft.send_by)):
        try:
            found.append(instant(value, field))
        except InvalidInputError as error:
            problems.extend(error.problems)
            found.append(None)
    return found[0], found[1]


def length_problem(
    advertiser: Advertiser, draft: Draft, links: LinkBases | None = None
) -> Problem | None:
    """The text's words alone (placeholders left out, links at their final length) with the
    STOP mention it will carry, when they take more than MAX_PARTS parts: every recipient's
    message would be blocked."""
    bases = links or LinkBases()
    content = check_content(
        text=draft.text, sender=draft.sender.strip(), nature=draft.nature,
        channel=draft.channel, advertiser=advertiser.facts, links=bases,
    )  # fmt: skip
    stand_ins = bases.stand_ins(content.link_kinds)
    literal = content.template.render({}, stand_ins)
    appended = stand_ins[-1] if content.appended_stop_link else None
    parts = count_text(content.final_text(literal, appended)).segments
    if parts <= MAX_PARTS:
        return None
    said = TEXTS["text_too_long"].format(parts=parts, most=MAX_PARTS)
    return Problem("text", "text_too_long", said)


def _form_problems(
    ctx: Context, advertiser: Advertiser, draft: Draft, *, named: bool
) -> list[Problem]:
    """The form's own problems (its instants, a text too long); when there is one, with every
    problem of the definition, found as the use cases find them (name, sender, text...)."""
    problems: list[Problem] = []
    start, send_by = _instants(draft, problems)
    too_long = length_problem(advertiser, draft, ctx.links)
    if too_long is not None:
        problems.append(too_long)
    if not problems:
        return []
    if named:
        name = definition.name_problem(draft.name.strip())
        if name is not None:
            problems.insert(0, name)
    try:
        sender = campaigns.sender_id(draft.sender, advertiser)
    except InvalidInputError as error:
        problems.extend(error.problems)
        sender = draft.sender
    wanted = Definition(
        nature=draft.nature, channel=draft.channel, sender=sender, text=draft.text,
        categories=split_list(draft.categories), professions=split_list(draft.professions),
        tags=split_list(draft.tags), start_at=start, send_by=send_by,
        transaction_field=definition.transaction_field(draft.transaction_field),
    )  # fmt: skip
    fields = {p.field for p in problems}
    problems += [p for p in definition.problems(wanted, ctx.now()) if p.field not in fields]
    return problems


def create(ctx: Context, advertiser: Advertiser, draft: Draft) -> Defined:
    """Define the campaign of the form (services/campaigns.create). Refused with every
    problem found (InvalidInputError), a name the advertiser has already (ConflictError)."""
    refuse_any(_form_problems(ctx, advertiser, draft, named=True))
    problems: list[Problem] = []
    start, send_by = _instants(draft, problems)
    return campaigns.create(
        ctx, slug=advertiser.slug, name=draft.name, nature=draft.nature, sender=draft.sender,
        text=draft.text, channel=draft.channel, categories=split_list(draft.categories),
        professions=split_list(draft.professions), tags=split_list(draft.tags), start=start,
        send_by=send_by, transaction_field=draft.transaction_field,
    )  # fmt: skip


def edit(
    ctx: Context, advertiser: Advertiser, campaign_id: int, draft: Draft
) -> campaign_edit.Edited | None:
    """Change the campaign `campaign_id` to the form's definition (campaign_edit.edit: its
    plan, if any, is dropped); None when the form changes nothing. The name stays. Refused as
    campaign_edit.edit refuses (a launched or cancelled campaign, a bad definition)."""
    refuse_any(_form_problems(ctx, advertiser, draft, named=False))
    problems: list[Problem] = []
    start, send_by = _instants(draft, problems)
    changes = campaign_edit.Changes(
        nature=draft.nature, sender=draft.sender, text=draft.text,
        categories=split_list(draft.categories), professions=split_list(draft.professions),
        tags=split_list(draft.tags), start=start, send_by=send_by,
        transaction_field=draft.transaction_field,
    )  # fmt: skip
    try:
        return campaign_edit.edit(
            ctx, slug=advertiser.slug, campaign_id=campaign_id, changes=changes
        )
    except InvalidInputError as error:
        if error.code == "nothing_changed":
            return None
        raise


def get(ctx: Context, advertiser: Advertiser, campaign_id: int) -> Campaign:
    """The advertiser's campaign `campaign_id`; NotFoundError when it has none of that id
    (another advertiser's is not found either)."""
    with reader(ctx.engine) as conn:
        return campaigns.locate(conn, slug=advertiser.slug, campaign_id=campaign_id)
