"""What a campaign is, checked the same way when it is created and when it is edited: its
nature, channel, text, targeting, schedule and the transaction field of a transactional one.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tambour.rules.codes import Channel, Nature
from tambour.rules.fold import split_list
from tambour.rules.template import control_character
from tambour.services import audit
from tambour.services.context import ServiceError

SUPPORTED_CHANNELS = (Channel.SMS,)
MAX_NAME = 200


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


def choice(value: str, kinds: type[Nature] | type[Channel], option: str) -> Any:
    """`value` as one of `kinds`, or a refusal naming the choices."""
    try:
        return kinds(value.strip().casefold())
    except ValueError:
        choices = ", ".join(k.value for k in kinds)
        raise ServiceError(f"{option}: {value!r} is not one of {choices}") from None


def listed(value: str) -> tuple[str, ...]:
    """A `a;b` list option as stored."""
    return tuple(split_list(value))


def transaction_field(value: str | None) -> str | None:
    return (value or "").strip() or None


def name_problem(name: str) -> str | None:
    if not name:
        return "--name: a campaign needs a name"
    if len(name) > MAX_NAME:
        return f"--name: at most {MAX_NAME} characters"
    if audit.looks_like_phone(name):
        return f"--name: {name!r} holds a phone number"
    if "\x00" in name or control_character(name) is not None:
        return "--name: holds a control character"
    return None


def problems(definition: Definition, now: datetime) -> list[str]:
    """Everything wrong with `definition` at `now`, each naming its option; [] when none."""
    found: list[str] = []
    if definition.channel not in SUPPORTED_CHANNELS:
        found.append(f"--channel: {definition.channel.value} campaigns are not supported yet (sms)")
    if not definition.text.strip():
        found.append("--text: the message is empty")
    control = control_character(definition.text, allowed="\n\r")
    if control is not None:
        found.append(f"--text: {control}")
    for option, values in (
        ("--categories", definition.categories),
        ("--professions", definition.professions),
        ("--tags", definition.tags),
    ):
        if any(control_character(v) is not None for v in values):
            found.append(f"{option}: holds a control character")
    field = definition.transaction_field
    if field is not None and definition.nature is not Nature.TRANSACTIONAL:
        found.append("--transaction-field: only a transactional campaign names a transaction")
    elif field is None and definition.nature is Nature.TRANSACTIONAL:
        found.append(
            "--transaction-field: a transactional message answers one transaction of its "
            "recipient: name the contact field that carries it (order, appointment, delivery)"
        )
    for option, value in (("--start", definition.start_at), ("--send-by", definition.send_by)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{option} must be timezone-aware")  # the CLI gives Paris time
    send_by, start = definition.send_by, definition.start_at
    if send_by is not None:
        if send_by <= now:
            found.append(f"--send-by: {send_by.isoformat()} is already past")
        elif start is not None and send_by <= start:
            found.append(f"--send-by: {send_by.isoformat()} is not after --start")
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
