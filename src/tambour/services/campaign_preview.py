"""What a campaign's text will be when it leaves, while the marketer writes it: its encoding,
characters and parts, the characters that force UCS-2 with their GSM-7 alternatives, the STOP
mention and the advertiser's identity as they will appear, the campaign-level blocks the text
has already, and the exact message for one chosen contact (the editor's live counter and phone
preview).

Nothing here decides or counts by itself: the text is checked by the core's content check
(rules/content.py), rendered and counted by the very code a plan uses (rules/planning.Planner:
the template filled with a contact's usable values, the STOP mention appended, sms/text.py's
count), so that the editor shows what the plan will store. Reads only.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select

from tambour.contacts.ledger import PERSONAL_FIELDS, personalization
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import MAX_PARTS, ContentCheck, Finding, check_content, names_advertiser
from tambour.rules.decision import Decision
from tambour.rules.facts import CampaignFacts
from tambour.rules.links import LinkBases
from tambour.rules.planning import Planner
from tambour.rules.template import Template, field_key
from tambour.services import contacts as contact_service
from tambour.services.advertisers import Advertiser
from tambour.services.context import Context, NotFoundError
from tambour.sms.text import (
    GSM7_PART_UNITS,
    GSM7_SINGLE_UNITS,
    UCS2_PART_UNITS,
    UCS2_SINGLE_UNITS,
    TextCount,
    gsm7_alternative,
    with_gsm7_alternatives,
)
from tambour.store.engine import reader, single_read
from tambour.store.tables import contacts

SAMPLE: Final = 500  # the latest contacts read for the fields they have
SHORT_LIST: Final = 8  # contacts offered for the phone preview
_SEND: Final = Decision(send=True)  # the planner renders a message for a send only

TEXTS: Final = {"contact_not_found": "{slug} has no contact {e164}"}


@dataclass(frozen=True, slots=True)
class Forcing:
    """A character that forces the whole message into UCS-2: how often it occurs, and the
    GSM-7 text that may replace it (None: none; the message stays UCS-2 while it is there)."""

    char: str
    count: int
    alternative: str | None

    @property
    def code_point(self) -> str:
        return f"U+{ord(self.char):04X}" if len(self.char) == 1 else ""


@dataclass(frozen=True, slots=True)
class Counted:
    """A message as it leaves: its encoding, characters, units (septets or UTF-16 units),
    parts, and the units left in its current part before one more is needed."""

    text: str
    encoding: str  # GSM-7 or UCS-2
    characters: int
    units: int
    segments: int
    units_per_part: int  # 160 / 153 (GSM-7), 70 / 67 (UCS-2): single or concatenated
    left: int  # units left in the current part
    forcing: tuple[Forcing, ...]  # the characters that force UCS-2, each once, in order

    @property
    def too_long(self) -> bool:
        return self.segments > MAX_PARTS

    @property
    def replaceable(self) -> tuple[Forcing, ...]:
        return tuple(f for f in self.forcing if f.alternative is not None)


def counted(count: TextCount, text: str) -> Counted:
    """`count` (sms/text.count_text of `text`) with what a writer reads from it."""
    ucs2 = count.encoding == "UCS-2"
    single, part = (
        (UCS2_SINGLE_UNITS, UCS2_PART_UNITS) if ucs2 else (GSM7_SINGLE_UNITS, GSM7_PART_UNITS)
    )
    per_part = single if count.segments <= 1 else part
    used = count.units_per_segment[-1] if count.units_per_segment else 0
    times = Counter(c.char for c in count.non_gsm)
    forcing = tuple(Forcing(char, n, gsm7_alternative(char)) for char, n in times.items())
    return Counted(
        text=text,
        encoding=count.encoding,
        characters=len(text),
        units=count.units,
        segments=count.segments,
        units_per_part=per_part,
        left=per_part - used,
        forcing=forcing,
    )


@dataclass(frozen=True, slots=True)
class ContactPreview:
    """The exact message one contact would receive, and what it costs."""

    contact_id: int
    e164: str
    name: str  # first and last name, '' when the contact has none
    message: Counted
    missing: tuple[str, ...]  # placeholders with no value for this contact and no default
    empty: bool  # the personalized text, before the STOP mention, is blank


@dataclass(frozen=True, slots=True)
class Preview:
    """The text as written, with the STOP mention as it will be appended; the placeholders
    are counted as written (`{first_name}`): each recipient's values change the count, see
    `contact`."""

    written: Counted
    stop_suffix: str  # '' when the text has its own mention, or needs none (transactional)
    sender: str
    sender_identifies: bool  # the sender ID is one of the advertiser's brand names
    text_identifies: bool  # the text names the advertiser
    prospection: bool
    blocks: tuple[Finding, ...]  # the campaign-level blocks of the content check
    placeholders: tuple[str, ...]  # the names of the text's placeholders, each once
    contact: ContactPreview | None
    max_parts: int = MAX_PARTS

    @property
    def block_codes(self) -> tuple[str, ...]:
        return tuple(str(b.code) for b in self.blocks)


def _as_written(template: Template) -> dict[str, str]:
    """Each placeholder's value as its own name in braces: the text counted as written."""
    return {p.key: "{" + p.name + "}" for p in template.placeholders}


def _check(
    advertiser: Advertiser,
    text: str,
    nature: Nature,
    sender: str,
    transaction_field: str | None,
    links: LinkBases,
) -> ContentCheck:
    return check_content(
        text=text,
        sender=sender.strip(),
        nature=nature,
        channel=Channel.SMS,
        advertiser=advertiser.facts,
        transaction_field=transaction_field,
        links=links,
    )


def _planner(
    content: ContentCheck, advertiser: Advertiser, nature: Nature, now: datetime, links: LinkBases
) -> Planner:
    """A planner whose messages carry links of their final length (stand-ins)."""
    facts = CampaignFacts(nature=nature, channel=Channel.SMS, start=now)
    stand_ins = links.stand_ins(content.link_kinds)
    return Planner(facts, advertiser.facts, content, now, stand_ins)


def preview(
    ctx: Context,
    advertiser: Advertiser,
    *,
    text: str,
    nature: Nature,
    sender: str,
    transaction_field: str | None = None,
    contact_id: int | None = None,
    number: str | None = None,
) -> Preview:
    """The counter and previews of `text` for `advertiser` (as the page read it already): the
    message as written, and, for the contact `contact_id` or of `number` (any notation) when
    one is given, its own message. Refused: a number that is not one (InvalidInputError,
    field `number`), a contact the advertiser does not have (NotFoundError)."""
    now = ctx.now().astimezone(UTC)
    content = _check(advertiser, text, nature, sender, transaction_field, ctx.links)
    template = content.template
    planner = _planner(content, advertiser, nature, now, ctx.links)
    written = planner.message(_SEND, _as_written(template))
    assert written.text is not None and written.counted is not None
    contact = None
    if number and number.strip():
        contact = _contact_by_number(ctx, advertiser, number.strip(), planner)
    elif contact_id is not None:
        contact = _contact_by_id(ctx, advertiser, contact_id, planner)
    return Preview(
        written=counted(written.counted, written.text),
        stop_suffix=content.stop_suffix,
        sender=sender.strip(),
        sender_identifies=names_advertiser(sender.strip(), "", advertiser.facts),
        text_identifies=names_advertiser("", content.literal, advertiser.facts),
        prospection=nature is not Nature.TRANSACTIONAL,
        blocks=content.blocks,
        placeholders=tuple(dict.fromkeys(p.name for p in template.placeholders)),
        contact=contact,
    )


def _name(profile: Mapping[str, Any]) -> str:
    """A contact's first and last name, '' when it has none."""
    return " ".join(str(profile[k]) for k in ("first_name", "last_name") if profile.get(k))


def _contact_preview(
    planner: Planner, contact_id: int, e164: str, profile: Mapping[str, Any]
) -> ContactPreview:
    values = personalization(profile)
    planned = planner.message(_SEND, values)
    assert planned.text is not None and planned.counted is not None
    return ContactPreview(
        contact_id=contact_id,
        e164=e164,
        name=_name(profile),
        message=counted(planned.counted, planned.text),
        missing=planned.missing,
        empty=planned.empty,
    )


def _contact_by_id(
    ctx: Context, advertiser: Advertiser, contact_id: int, planner: Planner
) -> ContactPreview | None:
    """The preview for the advertiser's contact `contact_id`; None when it has none (erased
    since the list was shown: the preview is left out, nothing is refused)."""
    with single_read(ctx.engine) as conn:  # one statement: no transaction around it
        row = conn.execute(
            select(contacts.c.id, contacts.c.e164, contacts.c.profile).where(
                contacts.c.advertiser_id == advertiser.id,
                contacts.c.id == contact_id,
                contacts.c.e164.is_not(None),
            )
        ).first()
    if row is None:
        return None
    return _contact_preview(planner, row.id, row.e164, row.profile)


def _contact_by_number(
    ctx: Context, advertiser: Advertiser, number: str, planner: Planner
) -> ContactPreview:
    e164 = contact_service.valid_number(number, "number")
    with single_read(ctx.engine) as conn:
        row = conn.execute(
            select(contacts.c.id, contacts.c.e164, contacts.c.profile).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164
            )
        ).first()
    if row is None:
        said = TEXTS["contact_not_found"].format(slug=advertiser.slug, e164=e164)
        raise NotFoundError(said, code="contact_not_found", field="number")
    return _contact_preview(planner, row.id, row.e164, row.profile)


def replace_gsm7(text: str) -> str:
    """`text` with every character that forces UCS-2 and has a GSM-7 alternative replaced by
    it (’ by ', « and » by ", – by -, … by ...); é, è, à and the other characters of the GSM-7
    alphabet stay, and so do characters without an alternative (an emoji)."""
    return with_gsm7_alternatives(text)


# --- the personalization fields and the contacts of the phone preview -------------------------


@dataclass(frozen=True, slots=True)
class FieldUse:
    """A contact field a text may name: `{name}`, and how many of the contacts read have it."""

    name: str
    key: str
    count: int

    @property
    def placeholder(self) -> str:
        return "{" + self.name + "}"


@dataclass(frozen=True, slots=True)
class Choice:
    """A contact offered for the phone preview."""

    contact_id: int
    e164: str
    name: str


@dataclass(frozen=True, slots=True)
class Personalization:
    fields: tuple[FieldUse, ...]  # the profile's own fields first, then the custom columns
    sampled: int  # contacts read (the latest, at most SAMPLE)
    contacts: tuple[Choice, ...]  # the latest contacts, at most SHORT_LIST


def personalization_fields(ctx: Context, advertiser: Advertiser) -> Personalization:
    """The fields the advertiser's latest contacts have (the profile's own: first_name...,
    then the imported custom columns, under the spelling first met), with how many of them
    have each, and the latest few contacts to preview a message for."""
    with reader(ctx.engine) as conn:
        rows = conn.execute(
            select(contacts.c.id, contacts.c.e164, contacts.c.profile)
            .where(contacts.c.advertiser_id == advertiser.id, contacts.c.e164.is_not(None))
            .order_by(contacts.c.id.desc())
            .limit(SAMPLE)
        ).all()
    own: Counter[str] = Counter()
    custom: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for row in rows:
        profile = row.profile or {}
        for name in PERSONAL_FIELDS:
            if profile.get(name):
                own[name] += 1
        for name, value in (profile.get("fields") or {}).items():
            key = field_key(name)
            if value and key not in PERSONAL_FIELDS:
                spelling.setdefault(key, name)
                custom[key] += 1
    fields = [FieldUse(name, name, own[name]) for name in PERSONAL_FIELDS if own[name]]
    fields += [FieldUse(spelling[key], key, n) for key, n in sorted(custom.items())]
    choices = tuple(
        Choice(
            row.id,
            row.e164,
            _name(row.profile or {}),
        )
        for row in rows[:SHORT_LIST]
    )
    return Personalization(tuple(fields), len(rows), choices)
