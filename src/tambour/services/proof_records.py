"""What `proof` hands over (services/proof.py reads it): plain frozen records, and their JSON
form, every instant in Paris time with its offset."""

import re
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from tambour.rules.labels import label
from tambour.services.advertisers import Advertiser
from tambour.services.campaigns import Campaign

PARIS: Final = ZoneInfo("Europe/Paris")
RULES_MD: Final = Path(__file__).resolve().parents[3] / "docs" / "rules.md"
# The sections of docs/rules.md whose tables word each code.
_SECTIONS: Final = {"4": "legal bases", "5": "exclusion reasons", "6": "sending window"}


def paris_iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(PARIS).isoformat()


@dataclass(frozen=True, slots=True)
class Rule:
    """A code of docs/rules.md: its French label and, when the page is at hand, its wording."""

    code: str
    label: str
    section: str | None  # "4", "5", "6"
    wording: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "section": f"docs/rules.md §{self.section}" if self.section else None,
            "wording": self.wording,
        }


@cache
def _wordings() -> dict[str, tuple[str, str]]:
    """code -> (section, wording) from the tables of docs/rules.md §4 to §6 (empty when the
    page is not beside the package: an installed copy without the repository)."""
    try:
        page = RULES_MD.read_text(encoding="utf-8")
    except OSError:
        return {}
    found: dict[str, tuple[str, str]] = {}
    section = None
    for line in page.splitlines():
        heading = re.match(r"## (\d+)\. ", line)
        if heading:
            section = heading.group(1) if heading.group(1) in _SECTIONS else None
            continue
        row = re.match(r"\| `([a-z0-9_]+)` \| [^|]+ \| (.+) \|\s*$", line)
        if section and row:
            found.setdefault(row.group(1), (section, row.group(2).replace("`", "")))
    return found


def rule(code: str) -> Rule:
    section, wording = _wordings().get(code, (None, None))
    return Rule(code, label(code), section, wording)


@dataclass(frozen=True, slots=True)
class Fact:
    """An evidence row of the contact."""

    id: int
    kind: str
    at: datetime | None  # when it happened; None: the source did not say
    data: dict[str, Any]
    source: str  # the import file, command or reply that recorded it
    recorded_at: datetime
    recorded_by: str
    seal_ok: bool  # its seal matches its content (nobody edited it outside Tambour)


@dataclass(frozen=True, slots=True)
class Part:
    """A part of a message the carrier took, under its id, with its receipt when one came."""

    part: int
    of_parts: int  # 0: the carrier did not take every part
    message_id: str
    outcome: str | None  # delivered, failed, expired, unknown; None while waiting
    error_code: int | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a message's dispatch trail."""

    at: datetime | None
    what: str
    audit_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """The outbox message of a `send` row, queued at launch, and what became of it."""

    id: int
    state: str
    reason: str | None  # why held, cancelled, expired or unknown (a rules.md code)
    sender: str
    attempts: int
    send_at: datetime  # due from (a held message's next window)
    send_by: datetime | None
    queued_at: datetime
    submitted_at: datetime | None
    valid_until: datetime | None
    done_at: datetime | None
    error_code: int | None
    error: str | None
    parts: tuple[Part, ...]
    trail: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Planned:
    """The recipient in one campaign's current plan: the decision and what it rests on."""

    campaign: Campaign
    generation: int
    contact_id: int
    decision: str  # send, exclude
    rule: Rule  # the basis of a send, the reason of an exclusion
    deferral: Rule | None  # why the send time is later than the start
    territory: str | None
    timezone: str | None
    postal_code: str | None
    send_at: datetime | None
    segments: int | None
    encoding: str | None
    ucs2_chars: str | None
    text: str | None
    retain_until: datetime | None
    seen_evidence: int  # the largest evidence id the plan saw
    seal_ok: bool
    evidence: tuple[Fact, ...]  # what the plan weighed
    evidence_since: tuple[Fact, ...]  # recorded after the plan
    message: Message | None
    audit: tuple[int, ...]  # seqs of the entries that made and launched the plan
    # An A/B test (migration 0023): the variant of the text (A-D; None for the rest until the
    # winner is chosen) and the group: `test` (drawn at random) or `rest` (the winner's text).
    variant: str | None = None
    ab_group: str | None = None

    @property
    def frozen(self) -> bool:
        return self.campaign.launched_at is not None

    def as_dict(self) -> dict[str, Any]:
        c = self.campaign
        return {
            "campaign": {
                "name": c.name,
                "nature": c.nature.value,
                "sender": c.sender,
                "status": c.status,
                "start": paris_iso(c.start_at),
                "send_by": paris_iso(c.send_by),
                "planned_at": paris_iso(c.planned_at),
                "launched_at": paris_iso(c.launched_at),
                "cancelled_at": paris_iso(c.cancelled_at),
                "generation": self.generation,
                "frozen": self.frozen,
            },
            "decision": self.decision,
            "basis": self.rule.code if self.decision == "send" else None,
            "reason": self.rule.code if self.decision != "send" else None,
            "rule": self.rule.as_dict(),
            "plan_row": {
                "contact_id": self.contact_id,
                "deferral": self.deferral.as_dict() if self.deferral else None,
                "territory": self.territory,
                "timezone": self.timezone,
                "postal_code": self.postal_code,
                "send_at": paris_iso(self.send_at),
                "send_at_local": (
                    self.send_at.astimezone(ZoneInfo(self.timezone)).isoformat()
                    if self.send_at and self.timezone
                    else None
                ),
                "segments": self.segments,
                "encoding": self.encoding,
                "ucs2_chars": self.ucs2_chars,
                "text": self.text,
                "variant": self.variant,
                "ab_group": self.ab_group,
                "retain_until": paris_iso(self.retain_until),
                "seen_evidence": self.seen_evidence,
                "seal_ok": self.seal_ok,
            },
            "evidence": plain(self.evidence),
            "evidence_since_plan": plain(self.evidence_since),
            "message": plain(self.message),
            "audit": list(self.audit),
        }


@dataclass(frozen=True, slots=True)
class Suppressed:
    """The number's entry in the advertiser's suppression list (a keyed hash: survives erasure)."""

    id: int
    source: str
    suppressed_at: datetime
    recorded_at: datetime
    seal_ok: bool


@dataclass(frozen=True, slots=True)
class Replied:
    """A reply the number sent to the advertiser."""

    id: int
    to: str
    text: str
    meaning: str  # stop, start, other
    status: str  # new, read, opted_out
    received_at: datetime
    handled_at: datetime | None
    handled_by: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """An audit entry that wrote or names rows of this proof, and its place in the chain."""

    seq: int
    at: datetime
    actor: str
    action: str
    prev_hash: str
    hash: str
    intact: bool  # its stored hash is the hash of its content
    covers: tuple[str, ...]  # the rows of this proof it names


@dataclass(frozen=True, slots=True)
class Proof:
    advertiser: Advertiser
    number: str  # E.164
    made_at: datetime
    contact: dict[str, Any] | None  # None: the number is no contact of the advertiser
    evidence: tuple[Fact, ...]  # the contact's whole timeline
    plans: tuple[Planned, ...]  # most recent first
    campaign: str | None  # the campaign asked for, when one was
    suppression: Suppressed | None
    replies: tuple[Replied, ...]
    audit: tuple[Entry, ...]  # in chain order
    # The hosted forms the person filled in (services/form_submissions.py), oldest first.
    forms: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "advertiser": {"slug": self.advertiser.slug, "name": self.advertiser.name},
            "number": self.number,
            "made_at": paris_iso(self.made_at),
            "contact": self.contact,
            "evidence": plain(self.evidence),
            "campaign": self.campaign,
            "campaigns": plain(self.plans),
            "suppression": plain(self.suppression),
            "replies": plain(self.replies),
            "audit": plain(self.audit),
            "forms": plain(self.forms),
        }


def plain(value: Any) -> Any:
    """A record as JSON data: a record with `as_dict` by it, another by its fields; instants in
    Paris time, tuples as lists."""
    if isinstance(value, datetime):
        return paris_iso(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
