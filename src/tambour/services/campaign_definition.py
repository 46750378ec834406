"""What a campaign is, checked the same way when it is created and when it is edited: its
nature, channel, text, targeting, schedule and the transaction field of a transactional one.
"""

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tambour.rules.ab_tests import (
    LABELS,
    MAX_SHARE,
    MAX_TEST_MINUTES,
    MAX_VARIANTS,
    MIN_SHARE,
    WinnerBy,
)
from tambour.rules.codes import Channel, Nature
from tambour.rules.template import control_character, parse_template
from tambour.services import audit
from tambour.services.context import Problem

SUPPORTED_CHANNELS = (Channel.SMS,)
MAX_NAME = 200
# The name of a message sent by itself (services/messages.py `message_name`): its own.
RESERVED_NAME: Final = re.compile(r"message \d+", re.IGNORECASE)

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "name_required": "a campaign needs a name",
    "name_too_long": f"at most {MAX_NAME} characters",
    "name_reserved": "'message <number>' names the messages sent one by one: choose another",
    "phone_in_text": "{text!r} holds a phone number",
    "control_character": "holds a control character",
    "channel_not_supported": "{channel} campaigns are not supported yet (sms)",
    "text_empty": "the message is empty",
    "transaction_not_transactional": "only a transactional campaign names a transaction",
    "transaction_required": (
        "a transactional message answers one transaction of its recipient: name the contact "
        "field that carries it (order, appointment, delivery)"
    ),
    "send_by_past": "{send_by} is already past",
    "send_by_before_start": "{send_by} is not after the start ({start})",
    "too_many_variants": (
        "an A/B test has {most} variants at most: the campaign's text (A) and up to {others} more"
    ),
    "variant_empty": "variant {label} is empty",
    "variant_same_text": "variant {label} is the same text as variant {same}",
    "variant_links_differ": (
        "variant {label} does not carry the same links as variant A: every variant must have "
        "the same {{link:...}} addresses and {{stop_link}}, in the same order, so that their "
        "clicks compare"
    ),
    "test_share_range": "the test's share is a percentage from {low} to {high}",
    "test_duration_range": "the test lasts from 1 minute to {days} days",
    "ab_settings_without_variants": (
        "an A/B test's settings need variants: give the texts of variants B, C, D"
    ),
    "winner_by_unknown": "{value!r}: the winner is chosen by clicks or by optouts",
    "winner_by_clicks_without_link": (
        "a winner chosen by clicks needs a short link ({{link:https://...}}) in every variant: "
        "add one, or choose the winner by opt-outs"
    ),
}

DEFAULT_SHARE: Final = 20  # percent of the audience in an A/B test, unless said
DEFAULT_TEST_MINUTES: Final = 4 * 60  # how long it lasts, unless said


@dataclass(frozen=True, slots=True)
class ABTest:
    """An A/B test of a campaign: the texts of its other variants (B, C, D; A is the
    campaign's text), the share of the audience that tests them (percent), how the winner is
    chosen, and how long the test lasts once its first message is due (minutes)."""

    variants: tuple[str, ...]
    share: int = DEFAULT_SHARE
    winner_by: WinnerBy = WinnerBy.CLICKS
    minutes: int = DEFAULT_TEST_MINUTES

    @property
    def texts_count(self) -> int:
        return 1 + len(self.variants)


def ab_test(
    variants: Sequence[str] | None,
    *,
    text: str,
    share: int | None = None,
    winner_by: str | None = None,
    minutes: int | None = None,
    base: ABTest | None = None,
) -> tuple[ABTest | None, list[Problem]]:
    """The A/B test the entry points were given, and what is wrong with how it was given:
    `variants` None keeps those of `base` (an edit), [] means no test; settings not given keep
    `base`'s, else the defaults (a winner by clicks when the campaign's `text` has a short
    link, else by opt-outs). Settings without variants are refused."""
    texts = tuple(base.variants if base else ()) if variants is None else tuple(variants)
    if not texts:
        given = [n for n, v in (("test_share", share), ("winner_by", winner_by),
                                ("test_duration", minutes)) if v is not None]  # fmt: skip
        said = TEXTS["ab_settings_without_variants"]
        return None, [Problem(name, "ab_settings_without_variants", said) for name in given]
    if winner_by is not None:
        try:
            chosen = WinnerBy(winner_by)
        except ValueError:
            said = TEXTS["winner_by_unknown"].format(value=winner_by)
            return None, [Problem("winner_by", "winner_by_unknown", said)]
    elif base is not None:
        chosen = base.winner_by
    else:
        has_link = any(link.kind == "go" for link in parse_template(text).links)
        chosen = WinnerBy.CLICKS if has_link else WinnerBy.OPTOUTS
    return ABTest(
        variants=texts,
        share=share if share is not None else base.share if base else DEFAULT_SHARE,
        winner_by=chosen,
        minutes=minutes if minutes is not None else base.minutes if base else DEFAULT_TEST_MINUTES,
    ), []


@dataclass(frozen=True, slots=True)
class Definition:
    """The parts of a campaign a marketer chooses (the sender as stored: one of the
    advertiser's sender IDs, checked by the caller)."""

    nature: Nature
    channel: Channel
    sender: str
    text: str
    categories: tuple[str, ...]
    professions: tuple[str, ...]
    tags: tuple[str, ...]
    start_at: datetime | None  # None: as soon as possible
    send_by: datetime | None
    transaction_field: str | None
    ab: ABTest | None = None

    def stored(self) -> dict[str, Any]:
        """The campaigns row's columns."""
        return {
            "nature": self.nature.value,
            "channel": self.channel.value,
            "sender": self.sender,
            "text": self.text,
            "categories": list(self.categories),
            "professions": list(self.professions),
            "tags": list(self.tags),
            "start_at": self.start_at,
            "send_by": self.send_by,
            "transaction_field": self.transaction_field,
            "variants": list(self.ab.variants) if self.ab else None,
            "test_share": self.ab.share if self.ab else None,
            "winner_by": self.ab.winner_by.value if self.ab else None,
            "test_minutes": self.ab.minutes if self.ab else None,
        }


def listed(values: Iterable[str]) -> tuple[str, ...]:
    """A list of categories, professions or tags as stored: each stripped, the empty left out."""
    return tuple(stripped for value in values if (stripped := value.strip()))


def transaction_field(value: str | None) -> str | None:
    return (value or "").strip() or None


def name_problem(name: str) -> Problem | None:
    """What is wrong with a campaign's name (parameter `name`), or None."""
    if not name:
        return Problem("name", "name_required", TEXTS["name_required"])
    if len(name) > MAX_NAME:
        return Problem("name", "name_too_long", TEXTS["name_too_long"])
    if RESERVED_NAME.fullmatch(name):
        return Problem("name", "name_reserved", TEXTS["name_reserved"])
    if audit.looks_like_phone(name):
        return Problem("name", "phone_in_text", TEXTS["phone_in_text"].format(text=name))
    if "\x00" in name or control_character(name) is not None:
        return Problem("name", "control_character", TEXTS["control_character"])
    return None


def problems(definition: Definition, now: datetime) -> list[Problem]:
    """Everything wrong with `definition` at `now`, each with the parameter it is about (as
    `campaigns.create` and `campaign_edit.Changes` name them); [] when none."""
    found: list[Problem] = []
    if definition.channel not in SUPPORTED_CHANNELS:
        said = TEXTS["channel_not_supported"].format(channel=definition.channel.value)
        found.append(Problem("channel", "channel_not_supported", said))
    if not definition.text.strip():
        found.append(Problem("text", "text_empty", TEXTS["text_empty"]))
    control = control_character(definition.text, allowed="\n\r")
    if control is not None:
        found.append(Problem("text", "control_character", control))
    for part, values in (
        ("categories", definition.categories),
        ("professions", definition.professions),
        ("tags", definition.tags),
    ):
        found.extend(
            Problem(f"{part}[{index}]", "control_character", TEXTS["control_character"])
            for index, value in enumerate(values)
            if control_character(value) is not None
        )
    field = definition.transaction_field
    if field is not None and definition.nature is not Nature.TRANSACTIONAL:
        said = TEXTS["transaction_not_transactional"]
        found.append(Problem("transaction_field", "transaction_not_transactional", said))
    elif field is None and definition.nature is Nature.TRANSACTIONAL:
        said = TEXTS["transaction_required"]
        found.append(Problem("transaction_field", "transaction_required", said))
    for name, value in (("start", definition.start_at), ("send_by", definition.send_by)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")  # a caller's bug, not input
    send_by, start = definition.send_by, definition.start_at
    if send_by is not None:
        if send_by <= now:
            said = TEXTS["send_by_past"].format(send_by=send_by.isoformat())
            found.append(Problem("send_by", "send_by_past", said))
        elif start is not None and send_by <= start:
            said = TEXTS["send_by_before_start"].format(
                send_by=send_by.isoformat(), start=start.isoformat()
            )
            found.append(Problem("send_by", "send_by_before_start", said))
    if definition.ab is not None:
        found += ab_problems(definition.text, definition.ab)
    return found


def ab_problems(text: str, ab: ABTest) -> list[Problem]:
    """What is wrong with an A/B test of the campaign text `text` (variants are named
    `variants[0]`... for B...)."""
    found: list[Problem] = []
    if ab.texts_count > MAX_VARIANTS:
        said = TEXTS["too_many_variants"].format(most=MAX_VARIANTS, others=MAX_VARIANTS - 1)
        found.append(Problem("variants", "too_many_variants", said))
        return found
    links = _links(text)
    texts = [text, *ab.variants]
    for index, variant in enumerate(ab.variants):
        label, where = LABELS[index + 1], f"variants[{index}]"
        if not variant.strip():
            said = TEXTS["variant_empty"].format(label=label)
            found.append(Problem(where, "variant_empty", said))
            continue
        control = control_character(variant, allowed="\n\r")
        if control is not None:
            found.append(Problem(where, "control_character", control))
            continue
        same = texts.index(variant)
        if same <= index:
            said = TEXTS["variant_same_text"].format(label=label, same=LABELS[same])
            found.append(Problem(where, "variant_same_text", said))
        elif _links(variant) != links:
            said = TEXTS["variant_links_differ"].format(label=label)
            found.append(Problem(where, "variant_links_differ", said))
    if not MIN_SHARE <= ab.share <= MAX_SHARE:
        said = TEXTS["test_share_range"].format(low=MIN_SHARE, high=MAX_SHARE)
        found.append(Problem("test_share", "test_share_range", said))
    if not 1 <= ab.minutes <= MAX_TEST_MINUTES:
        said = TEXTS["test_duration_range"].format(days=MAX_TEST_MINUTES // (24 * 60))
        found.append(Problem("test_duration", "test_duration_range", said))
    if ab.winner_by is WinnerBy.CLICKS and not any(kind == "go" for kind, _ in links):
        said = TEXTS["winner_by_clicks_without_link"]
        found.append(Problem("winner_by", "winner_by_clicks_without_link", said))
    return found


def _links(text: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((link.kind, link.target) for link in parse_template(text).links)


def audit_details(definition: Definition) -> dict[str, Any]:
    """The definition as an audit entry states it: its columns, the text by its digest and
    the instants in ISO 8601."""
    details = definition.stored()
    text = details.pop("text")
    details["text_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    variants = details.pop("variants")
    details["variants_sha256"] = (
        None if variants is None else [hashlib.sha256(v.encode()).hexdigest() for v in variants]
    )
    for column, said in (("start_at", "start"), ("send_by", "send_by")):
        value = details.pop(column)
        details[said] = value.isoformat() if value else None
    return details
