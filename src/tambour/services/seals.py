"""Seals: a keyed digest of every evidence, suppression and plan row (rules.md section 6).

A seal is BLAKE2b-128 of the row's every column under a key derived from the installation's
secret key (tambour/keys.py), which is never in the database: whoever edits a row with SQL
cannot give it a valid seal, and `audit verify` names the row. Which rows exist is said by the
audit log: every entry that wrote rows lists them (`Written`), so a row removed, or one added
without an entry, is named too (services/ledger_proof.py walks both).

The encoding is one text per row: numbers and codes as written, instants as naive UTC text with
microseconds (SQLite's stored form, whatever the database), bytes in hex, free text prefixed with
its length, so that no two rows share an encoding. It must give the same text for the values a
writer hands to the driver and for those read back: `instant` accepts both forms.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tambour.keys import Keys
from tambour.keys import current as current_keys
from tambour.services.audit import id_ranges

SEAL_PURPOSE = "seal"

# The columns sealed, in order: every column of the row.
EVIDENCE_SEALED = (
    "id", "advertiser_id", "contact_id", "kind", "occurred_at", "data", "fingerprint", "source",
    "recorded_at", "recorded_by",
)  # fmt: skip
SUPPRESSION_SEALED = (
    "id", "advertiser_id", "phone_hash", "source", "suppressed_at", "recorded_at",
)  # fmt: skip
PLAN_SEALED = (
    "campaign_id", "generation", "contact_id", "advertiser_id", "e164", "decision", "basis",
    "reason", "deferral", "territory", "timezone", "postal_code", "send_at", "segments",
    "encoding", "ucs2_chars", "text", "seen_profile", "seen_evidence", "retain_until",
)  # fmt: skip

_instants: dict[Any, str] = {}
_INSTANT_MEMO = 50_000


def instant(value: datetime | str | None) -> str:
    """An instant as sealed: naive UTC text with microseconds ('2026-12-01 09:00:00.000000'),
    from an aware or naive-UTC datetime or from SQLite's stored text; '' for none."""
    if value is None:
        return ""
    found = _instants.get(value)
    if found is not None:
        return found
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    text = parsed.isoformat(" ", "microseconds")
    if len(_instants) >= _INSTANT_MEMO:
        _instants.clear()
    _instants[value] = text
    return text


def _text(value: str | None) -> str:
    """Free text, unambiguous: its length, a colon, itself ('-' for none)."""
    return "-" if value is None else f"{len(value)}:{value}"


@dataclass(frozen=True, slots=True)
class Sealer:
    """Seals rows under the installation's seal key."""

    key: bytes = field(repr=False)

    @classmethod
    def of(cls, keys: Keys) -> "Sealer":
        return cls(keys.derive(SEAL_PURPOSE))

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode(), key=self.key, digest_size=16).digest()

    def evidence(self, row: Sequence[Any]) -> bytes:
        """The seal of an evidence row, its values in EVIDENCE_SEALED order; `data` as the
        stored JSON text."""
        rid, aid, cid, kind, at, data, fingerprint, source, recorded_at, by = row
        return self._digest(
            f"e|{rid}|{aid}|{cid}|{kind}|{instant(at)}|{bytes(fingerprint).hex()}|"
            f"{instant(recorded_at)}|{_text(source)}|{_text(by)}|{_text(data)}"
        )

    def suppression(self, row: Sequence[Any]) -> bytes:
        """The seal of a suppression entry, its values in SUPPRESSION_SEALED order."""
        rid, aid, phone_hash, source, suppressed_at, recorded_at = row
        return self._digest(
            f"s|{rid}|{aid}|{bytes(phone_hash).hex()}|{source}|{instant(suppressed_at)}|"
            f"{instant(recorded_at)}"
        )

    def plan_row(self, row: Sequence[Any]) -> bytes:
        """The seal of a plan row, its values in PLAN_SEALED order (codes as their values,
        instants as the writer hands them to the driver or as read back)."""
        (cid, gen, contact, aid, e164, decision, basis, reason, deferral, territory, zone,
         postal, send_at, segments, encoding, ucs2, text, profile, seen, retain) = row  # fmt: skip
        return self._digest(
            f"p|{cid}|{gen}|{contact}|{aid}|{e164}|{decision}|{basis}|{reason}|{deferral}|"
            f"{territory}|{zone}|{instant(send_at)}|{segments}|{encoding}|{instant(retain)}|"
            f"{bytes(profile).hex()}|{seen}|{_text(postal)}|{_text(ucs2)}|{_text(text)}"
        )


@dataclass
class Written:
    """The rows one audited action wrote, as its audit entry lists them: evidence and
    suppression ids, and plan generations (campaign, generation, rows)."""

    evidence: list[int] = field(default_factory=list)
    suppressions: list[int] = field(default_factory=list)
    plans: list[tuple[int, int, int]] = field(default_factory=list)

    def add(self, other: "Written") -> None:
        self.evidence += other.evidence
        self.suppressions += other.suppressions
        self.plans += other.plans

    def __bool__(self) -> bool:
        return bool(self.evidence or self.suppressions or self.plans)

    def as_details(self) -> dict[str, Any]:
        """What the audit entry says: id runs (compact), and plan generations."""
        said: dict[str, Any] = {}
        if self.evidence:
            said["evidence"] = id_ranges(self.evidence)
        if self.suppressions:
            said["suppressions"] = id_ranges(self.suppressions)
        if self.plans:
            said["plans"] = [list(p) for p in self.plans]
        return said


def ranges_of(said: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    return [(int(first), int(last)) for first, last in said]


_sealers: dict[bytes, Sealer] = {}


def current_sealer() -> Sealer:
    """The sealer of the process's key (tambour.keys.current(), installed by the Context)."""
    key = current_keys().derive(SEAL_PURPOSE)  # a rotation may keep an older seal key
    found = _sealers.get(key)
    if found is None:
        found = _sealers[key] = Sealer(key)
    return found


def with_rows(details: dict[str, Any], written: "Written") -> dict[str, Any]:
    """An audit entry's details with the rows its action wrote (`rows`), when it wrote any."""
    if written:
        details["rows"] = written.as_details()
    return details
