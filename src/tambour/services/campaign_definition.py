"""What a campaign is, checked the same way when it is created and when it is edited: its
nature, channel, text, targeting, schedule and the transaction field of a transactional one.
"""

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tambour.rules.codes import Channel, Nature
from tambour.rules.template import control_character
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
}


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
    return found


def audit_details(definition: Definition) -> dict[str, Any]:
    """The definition as an audit entry states it: its columns, the text by its digest and
    the instants in ISO 8601."""
    details = definition.stored()
    text = details.pop("text")
    details["text_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    for column, said in (("start_at", "start"), ("send_by", "send_by")):
        value = details.pop(column)
        details[said] = value.isoformat() if value else None
    return details
