"""Seals: a keyed digest of every evidence, suppression and plan row (rules.md section 6).

A seal is BLAKE2b-128 of the row's every column under a key derived from the installation's
secret key (tambour/keys.py), which is never in the database: whoever edits a row with SQL
cannot give it a valid seal, and `audit verify` names the row. Which rows exist is said by the
audit log: every entry that wrote rows lists them (`Written`), so a row removed, or one added
without an entry, is named too (services/ledger_proof.py walks both).

The encoding is one text per row: numbers and codes as written, instants as naive UTC text with
microseconds (SQLite's stored form, whatever the database), bytes in hex, values joined by NUL
(see `Sealer`). It must give the same text for the values a writer hands to the driver and for
those read back: `instant` accepts both forms.
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
    "variant", "ab_group",
)  # fmt: skip

_instants: dict[Any, str] = {}
_INSTANT_MEMO = 50_000
_CANONICAL_LENGTH = 26  # '2026-12-01 09:00:00.000000'


def instant(value: datetime | str | None) -> str:
    """An instant as sealed: naive UTC text with microseconds ('2026-12-01 09:00:00.000000'),
    from an aware or naive-UTC datetime or from SQLite's stored text; '' for none."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) == _CANONICAL_LENGTH:
        return value  # SQLite's stored form already
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


def fact_fingerprint(kind: str, at: datetime | str | None, data: str) -> bytes:
    """The fingerprint of a stored fact, made again from its kind, time and JSON text as
    `contacts.ledger.Evidence.fingerprint` made it (the POSIX time's repr)."""
    if at is None:
        stamp = ""
    else:
        when = datetime.fromisoformat(at) if isinstance(at, str) else at
        stamp = repr((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    return hashlib.blake2b(f"{kind}|{stamp}|{data}".encode(), digest_size=16).digest()


_NONE = "\x01"  # a free-text column's None: no value Tambour writes holds this character


@dataclass(frozen=True, slots=True)
class Sealer:
    """Seals rows under the installation's seal key.

    A row is encoded as its values joined by NUL: unambiguous for every row Tambour writes,
    since none of their texts may hold a NUL (imports and texts refuse control characters,
    and PostgreSQL cannot store one), so no other row shares its encoding."""

    key: bytes = field(repr=False)
    _base: Any = field(init=False, repr=False, compare=False)
    # What plan rows share, encoded (see plan_row).
    _outcomes: dict[tuple[Any, ...], str] = field(init=False, repr=False, compare=False)
    _messages: dict[tuple[str | None, ...], bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Keyed once: a copy per row costs a quarter less than keying each hash anew.
        object.__setattr__(self, "_base", hashlib.blake2b(key=self.key, digest_size=16))
        object.__setattr__(self, "_outcomes", {})
        object.__setattr__(self, "_messages", {})

    @classmethod
    def of(cls, keys: Keys) -> "Sealer":
        return cls(keys.derive(SEAL_PURPOSE))

    def _digest(self, text: str) -> bytes:
        hashed = self._base.copy()
        hashed.update(text.encode())
        return hashed.digest()  # type: ignore[no-any-return]

    def evidence(self, row: Sequence[Any]) -> bytes:
        """The seal of an evidence row, its values in EVIDENCE_SEALED order. The fact itself
        (kind, time, data) is covered through its fingerprint, which `fact_fingerprint` makes
        again from them: an import seals millions of rows, a verify checks them once."""
        rid, aid, cid, kind, _at, _data, fingerprint, source, recorded_at, by = row
        return self._digest(
            f"e\0{rid}\0{aid}\0{cid}\0{kind}\0{fingerprint.hex()}\0{instant(recorded_at)}\0"
            f"{source}\0{by}"
        )

    def facts_rows(
        self,
        ids: Iterable[int],
        advertiser_id: int,
        source: str,
        recorded_at: Any,
        recorded_by: str,
        facts: Iterable[tuple[int, Iterable[Sequence[Any]]]],
    ) -> list[tuple[Any, ...]]:
        """Evidence rows as stored (EVIDENCE_SEALED order, then the seal `evidence` gives), for
        facts recorded together, as an import's batch is: one advertiser, source, instant and
        author. `facts` lists each contact's id with its facts, each (kind, occurred_at, data,
        fingerprint, anything: the caller's, not stored); `ids` gives the rows' ids in turn.

        An import seals millions of rows: what they share is encoded once, and each row's own
        values are hashed before it, as one text with them."""
        between = f"\0{advertiser_id}\0"
        tail = f"\0{instant(recorded_at)}\0{source}\0{recorded_by}".encode()
        copy, next_id = self._base.copy, iter(ids).__next__
        stored: list[tuple[Any, ...]] = []
        append = stored.append
        for cid, contact_facts in facts:
            for kind, at, data, fingerprint, _ in contact_facts:
                rid = next_id()
                hashed = copy()
                hashed.update(f"e\0{rid}{between}{cid}\0{kind}\0{fingerprint.hex()}".encode())
                hashed.update(tail)
                append((rid, advertiser_id, cid, kind, at, data, fingerprint, source, recorded_at,
                        recorded_by, hashed.digest()))  # fmt: skip
        return stored

    def suppression(self, row: Sequence[Any]) -> bytes:
        """The seal of a suppression entry, its values in SUPPRESSION_SEALED order."""
        rid, aid, phone_hash, source, suppressed_at, recorded_at = row
        return self._digest(
            f"s\0{rid}\0{aid}\0{phone_hash.hex()}\0{source}\0{instant(suppressed_at)}\0"
            f"{instant(recorded_at)}"
        )

    def plan_row(self, row: Sequence[Any]) -> bytes:
        """The seal of a plan row, its values in PLAN_SEALED order (codes as their values,
        instants as the writer hands them to the driver or as read back).

        A plan seals a million rows: what its rows share is encoded once and remembered, values
        that are equal being written alike (texts, codes and instants). The decision's columns
        from `decision` to `send_at` (a plan has a few outcomes), and the row's last three
        values (postal code, the characters forcing UCS-2, the message text: a few messages),
        hashed on their own as UTF-8 (the bytes the whole row's text encodes to)."""
        (cid, gen, contact, aid, e164, decision, basis, reason, deferral, territory, zone,
         postal, send_at, segments, encoding, ucs2, text, profile, seen, retain, variant,
         group) = row  # fmt: skip
        outcome = (decision, basis, reason, deferral, territory, zone, send_at)
        encoded = self._outcomes.get(outcome)
        if encoded is None:
            encoded = _remember(
                self._outcomes,
                outcome,
                f"{decision}\0{basis}\0{reason}\0{deferral}\0{territory}\0{zone}\0"
                f"{instant(send_at)}\0",
            )
        message = (postal, ucs2, text)
        utf8 = self._messages.get(message)
        if utf8 is None:
            utf8 = _remember(
                self._messages,
                message,
                f"{_NONE if postal is None else postal}\0{_NONE if ucs2 is None else ucs2}\0"
                f"{_NONE if text is None else text}".encode(),
            )
        hashed = self._base.copy()
        hashed.update(
            f"p\0{cid}\0{gen}\0{contact}\0{aid}\0{e164}\0{encoded}{segments}\0{encoding}\0"
            f"{instant(retain)}\0{profile.hex()}\0{seen}\0".encode()
        )
        hashed.update(utf8)
        if variant is not None or group is not None:
            # An A/B test's row (migration 0023): its variant and group sealed too. A row of
            # no test is sealed as before the test existed, so older seals still hold.
            hashed.update(f"\0ab\0{variant or ''}\0{group or ''}".encode())
        return hashed.digest()  # type: ignore[no-any-return]


_MEMO = 20_000  # values a Sealer remembers of each kind (it forgets them all past this)


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(memo) >= _MEMO:
        memo.clear()
    memo[key] = value
    return value


SEAL_SPACE = 1 << 128  # plan digests add seals up modulo this


def seal_number(seal: bytes) -> int:
    """A seal as a number, for a digest of many rows that does not depend on their order."""
    return int.from_bytes(seal, "big")


@dataclass(frozen=True, slots=True)
class PlanWritten:
    """A plan generation as its audit entry lists it: its rows and the sum of their seals."""

    campaign_id: int
    generation: int
    rows: int
    seal_sum: int  # modulo SEAL_SPACE

    def as_list(self) -> list[Any]:
        return [self.campaign_id, self.generation, self.rows, f"{self.seal_sum:032x}"]


@dataclass
class Written:
    """The rows one audited action wrote, as its audit entry lists them: evidence and
    suppression ids, suppression entries rewritten in place with their new seal (an older
    copy written back keeps a valid seal of its own: the log says which is the latest), plan
    generations, and the campaigns whose plan was dropped (edited or deleted: none current)."""

    evidence: list[int] = field(default_factory=list)
    suppressions: list[int] = field(default_factory=list)
    rewritten: list[tuple[int, bytes]] = field(default_factory=list)  # suppression id, seal
    plans: list[PlanWritten] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)  # campaign ids left without a plan
    # An erasure (services/erasure.py) or the retention run: evidence rows whose data it
    # blanked (their seals hold: they cover the fingerprint, not the data), and plan rows it
    # rewrote (without number or text) and sealed again, by plan generation: (campaign id,
    # generation) -> [rows, the sum of their new seals less the old, modulo SEAL_SPACE], what
    # `audit verify` adds to the sum of seals the plan's own entry gives.
    erased_evidence: list[int] = field(default_factory=list)
    plan_rewritten: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    def rewrote(
        self, campaign_id: int, generation: int, before: bytes | None, after: bytes
    ) -> None:
        """A plan row sealed again; `before` None: a row not sealed yet (an old ledger's)."""
        found = self.plan_rewritten.setdefault((campaign_id, generation), [0, 0])
        found[0] += 1
        if before is not None:
            found[1] = (found[1] + seal_number(after) - seal_number(before)) % SEAL_SPACE

    def add(self, other: "Written") -> None:
        self.evidence += other.evidence
        self.suppressions += other.suppressions
        self.rewritten += other.rewritten
        self.plans += other.plans
        self.dropped += other.dropped
        self.erased_evidence += other.erased_evidence
        for key, (rows, delta) in other.plan_rewritten.items():
            found = self.plan_rewritten.setdefault(key, [0, 0])
            found[0] += rows
            found[1] = (found[1] + delta) % SEAL_SPACE

    def __bool__(self) -> bool:
        return bool(
            self.evidence or self.suppressions or self.rewritten or self.plans or self.dropped
            or self.erased_evidence or self.plan_rewritten
        )  # fmt: skip

    def as_details(self) -> dict[str, Any]:
        """What the audit entry says: id runs (compact), rewritten entries, plans."""
        said: dict[str, Any] = {}
        if self.evidence:
            said["evidence"] = id_ranges(self.evidence)
        if self.suppressions:
            said["suppressions"] = id_ranges(self.suppressions)
        if self.rewritten:
            said["suppressions_rewritten"] = [[rid, seal.hex()] for rid, seal in self.rewritten]
        if self.plans:
            said["plans"] = [p.as_list() for p in self.plans]
        if self.dropped:
            said["plans_dropped"] = list(self.dropped)
        if self.erased_evidence:
            said["evidence_erased"] = id_ranges(self.erased_evidence)
        if self.plan_rewritten:
            said["plan_sums_rewritten"] = [
                [c, g, rows, f"{delta:032x}"]
                for (c, g), (rows, delta) in sorted(self.plan_rewritten.items())
            ]
        return said


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
