"""A campaign defined from a form (the web editor): the values as typed, read as the command
line reads its options (lists as `a;b`, instants in Paris time, ISO 8601 or French), then the
use cases of services/campaigns.py and campaign_edit.py, which check and record them.

A form also refuses a text the plan would block for every recipient whatever their values: one
whose words alone, with the STOP mention, take more than rules/content.MAX_PARTS parts. (The
command line and the API keep defining such a campaign, blocked at its plan.) When a form has
problems of its own, the definition's are found with them, so that each field shows its own.

An A/B test is its variants' texts (B, C, D: those left blank are left out, in their order),
the share tested in percent, the winner's criterion and the test's duration in hours ("1,5" or
"1.5"): without any variant's text the settings are ignored, and an edit removes the campaign's
test. The use cases name a variant's problem by its place among the texts given
(`variants[0]`...): `form_field` says which of the form's fields it is.
"""

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from tambour import i18n
from tambour.contacts.values import parse_datetime
from tambour.rules.ab_tests import LABELS
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import MAX_PARTS, check_content
from tambour.rules.fold import split_list
from tambour.rules.links import LinkBases
from tambour.services import campaign_definition as definition
from tambour.services import campaign_edit, campaigns
from tambour.services.advertisers import Advertiser
from tambour.services.campaign_definition import (
    DEFAULT_SHARE,
    DEFAULT_TEST_MINUTES,
    ABTest,
    Definition,
)
from tambour.services.campaigns import Campaign, Defined
from tambour.services.context import Context, InvalidInputError, Problem, refuse_any
from tambour.sms.text import count_text
from tambour.store.engine import reader

PARIS: Final = ZoneInfo("Europe/Paris")
FIRST_YEAR, LAST_YEAR = 2000, 2999  # as the API takes instants
FORM_INSTANT: Final = "%Y-%m-%dT%H:%M"  # an <input type="datetime-local">'s value
VARIANT_FIELDS: Final = ("variant_b", "variant_c", "variant_d")  # the form's B, C, D

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "invalid_instant": (
        "{value!r} is not a date and time (2026-12-09T10:00 or 09/12/2026 10:00, Paris time)"
    ),
    "text_too_long": (
        "the text takes {parts} parts with its STOP mention, before any personalized value: "
        "a message of more than {most} parts is blocked; shorten it"
    ),
    "test_share_range": "{value!r} is not a whole percentage from 1 to 100",
    "invalid_hours": "{value!r} is not a number of hours (4, 1.5 or 1,5)",
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
    # An A/B test: the texts of variants B, C, D ('' for none), the share tested (percent),
    # the winner's criterion ('' for the default: clicks when the text has a short link),
    # the test's duration in hours.
    variants: tuple[str, ...] = ("",) * len(VARIANT_FIELDS)
    test_share: str = str(DEFAULT_SHARE)
    winner_by: str = ""
    test_hours: str = str(DEFAULT_TEST_MINUTES // 60)

    @classmethod
    def of(cls, campaign: Campaign, language: str | None = None) -> "Draft":
        """The form of a campaign as it is defined (a test's hours written as `language`
        writes a number)."""
        ab = campaign.ab
        texts = tuple(ab.variants) if ab else ()
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
            variants=(texts + ("",) * len(VARIANT_FIELDS))[: len(VARIANT_FIELDS)],
            test_share=str(ab.share) if ab else str(DEFAULT_SHARE),
            winner_by=ab.winner_by.value if ab else "",
            test_hours=form_hours(ab.minutes if ab else DEFAULT_TEST_MINUTES, language),
        )

    @property
    def variant_texts(self) -> tuple[str, ...]:
        """The variants' texts given, in their order: those left blank left out."""
        return tuple(text for text in self.variants if text.strip())


def form_hours(minutes: int, language: str | None = None) -> str:
    """A test's duration as its field shows it: hours, to the minute (1,5 in French)."""
    return i18n.format_decimal(round(minutes / 60, 3), language)


def hours_minutes(value: str) -> int | None:
    """A duration typed in hours (4, 1.5 or 1,5) in whole minutes; None when it is not a
    number (a duration out of range is the definition's to refuse)."""
    try:
        hours = float(value.strip().replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(hours) or abs(hours) > 10**6:
        return None
    return round(hours * 60)


@dataclass(frozen=True, slots=True)
class ABForm:
    """A form's A/B test as the use cases take it (None for a setting left to its default)."""

    variants: tuple[str, ...]
    share: int | None
    winner_by: str | None
    minutes: int | None


def ab_form(draft: Draft) -> tuple[ABForm | None, list[Problem]]:
    """The draft's A/B test, None when no variant has a text (its settings then ignored), and
    the form's own problems with it: a share or a duration that is not a number."""
    texts = draft.variant_texts
    if not texts:
        return None, []
    problems: list[Problem] = []
    share: int | None = None
    typed = draft.test_share.strip()
    if typed:
        try:
            share = int(typed)
        except ValueError:
            said = TEXTS["test_share_range"].format(value=draft.test_share)
            problems.append(Problem("test_share", "test_share_range", said))
    minutes: int | None = None
    if draft.test_hours.strip():
        minutes = hours_minutes(draft.test_hours)
        if minutes is None:
            said = TEXTS["invalid_hours"].format(value=draft.test_hours)
            problems.append(Problem("test_duration", "invalid_hours", said))
    found = ABForm(texts, share, draft.winner_by.strip() or None, minutes)
    return found, problems


def form_field(draft: Draft, field: str | None) -> str:
    """The form's field a use case's problem is about ('' for none): a variant's by its place
    among the texts given (`variants[1]`: the second text written, in C or D), the test's
    duration in hours, any other by its name without an index (`tags[2]`: tags)."""
    name = field or ""
    if name.startswith("variants["):
        given = [i for i, text in enumerate(draft.variants) if text.strip()]
        index = name[len("variants[") :].split("]")[0]
        if index.isdigit() and int(index) < len(given) and given[int(index)] < len(VARIANT_FIELDS):
            return VARIANT_FIELDS[given[int(index)]]
        return "variants"
    if name == "test_duration":
        return "test_hours"
    return name.split("[")[0]


def variant_label(field: str) -> str:
    """The variant a field of the form holds: B, C or D."""
    return LABELS[1 + VARIANT_FIELDS.index(field)]


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
    ctx: Context, advertiser: Advertiser, draft: Draft, *, named: bool, base: ABTest | None = None
) -> list[Problem]:
    """The form's own problems (its instants, a text or a variant too long, a test's share or
    duration that is not a number); when there is one, with every problem of the definition,
    found as the use cases find them (name, sender, text, the A/B test...). `base`: the test
    of the campaign edited, whose settings a form leaving one empty keeps."""
    problems: list[Problem] = []
    start, send_by = _instants(draft, problems)
    too_long = length_problem(advertiser, draft, ctx.links)
    if too_long is not None:
        problems.append(too_long)
    ab, ab_problems = ab_form(draft)
    problems += ab_problems
    for index, text in enumerate(ab.variants if ab else ()):
        longer = length_problem(advertiser, replace(draft, text=text), ctx.links)
        if longer is not None:
            problems.append(Problem(f"variants[{index}]", "text_too_long", longer.message))
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
    test = None
    if ab is not None:
        test, settings = definition.ab_test(
            ab.variants, text=draft.text, share=ab.share, winner_by=ab.winner_by,
            minutes=ab.minutes, base=base,
        )  # fmt: skip
        problems += settings
    wanted = Definition(
        nature=draft.nature, channel=draft.channel, sender=sender, text=draft.text,
        categories=split_list(draft.categories), professions=split_list(draft.professions),
        tags=split_list(draft.tags), start_at=start, send_by=send_by,
        transaction_field=definition.transaction_field(draft.transaction_field), ab=test,
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
    ab, _ = ab_form(draft)
    return campaigns.create(
        ctx, slug=advertiser.slug, name=draft.name, nature=draft.nature, sender=draft.sender,
        text=draft.text, channel=draft.channel, categories=split_list(draft.categories),
        professions=split_list(draft.professions), tags=split_list(draft.tags), start=start,
        send_by=send_by, transaction_field=draft.transaction_field,
        variants=ab.variants if ab else (), test_share=ab.share if ab else None,
        winner_by=ab.winner_by if ab else None, test_minutes=ab.minutes if ab else None,
    )  # fmt: skip


def edit(
    ctx: Context, advertiser: Advertiser, campaign_id: int, draft: Draft
) -> campaign_edit.Edited | None:
    """Change the campaign `campaign_id` to the form's definition (campaign_edit.edit: its
    plan, if any, is dropped); None when the form changes nothing. The name stays; a form
    without any variant's text removes the campaign's A/B test. Refused as campaign_edit.edit
    refuses (a launched or cancelled campaign, a bad definition)."""
    base = get(ctx, advertiser, campaign_id).ab
    refuse_any(_form_problems(ctx, advertiser, draft, named=False, base=base))
    problems: list[Problem] = []
    start, send_by = _instants(draft, problems)
    ab, _ = ab_form(draft)
    keep = campaign_edit.KEEP
    changes = campaign_edit.Changes(
        nature=draft.nature, sender=draft.sender, text=draft.text,
        categories=split_list(draft.categories), professions=split_list(draft.professions),
        tags=split_list(draft.tags), start=start, send_by=send_by,
        transaction_field=draft.transaction_field,
        variants=list(ab.variants) if ab else [],
        test_share=keep if ab is None or ab.share is None else ab.share,
        winner_by=keep if ab is None or ab.winner_by is None else ab.winner_by,
        test_minutes=keep if ab is None or ab.minutes is None else ab.minutes,
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
