"""Evidence as dated facts (rules.md section 1), and the facts the decision needs derived from them.

Pure: a canonical row becomes a contact profile and a list of evidence events; a contact's
events (in any order) fold back into `ContactFacts`. Evidence is never overwritten: a fact stated
twice yields the same fingerprint, so re-importing a file adds nothing.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from tambour.contacts.row import CanonicalRow
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.rules.facts import Collection, Consent, ContactFacts, OptOut
from tambour.rules.fold import fold_set
from tambour.rules.template import field_key
from tambour.sms.phone import PhoneInfo


class EvidenceKind(StrEnum):
    CONSENT_GIVEN = "consent_given"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    COLLECTED = "collected"
    ACCOUNT_CREATED = "account_created"
    PURCHASE = "purchase"
    ACTIVITY = "activity"
    OPT_OUT = "opt_out"
    COMPLAINT = "complaint"
    ERASURE = "erasure"
    MEMBERSHIP = "membership"  # a member of, or in regular contact with, the organisation


# One compact, key-sorted JSON text per value: what is stored and what is fingerprinted.
canonical_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


class Evidence:
    """One dated fact. Its JSON text and fingerprint are computed once, when first asked for
    (the importer needs both for every fact; reading the ledger back needs neither)."""

    __slots__ = ("_fingerprint", "_json", "at", "data", "kind")

    def __init__(
        self, kind: EvidenceKind, at: datetime | None, data: Mapping[str, Any] | None = None
    ) -> None:
        self.kind = kind
        self.at = at
        self.data: Mapping[str, Any] = data if data is not None else {}
        self._json: str | None = None
        self._fingerprint: bytes | None = None

    @property
    def data_json(self) -> str:
        if self._json is None:
            self._json = canonical_json(self.data)
        return self._json

    @property
    def fingerprint(self) -> bytes:
        """The same fact gives the same 16 bytes, whoever records it, when, and in which zone
        its time was written."""
        if self._fingerprint is None:
            at = repr(self.at.timestamp()) if self.at else ""
            key = f"{self.kind.value}|{at}|{self.data_json}".encode()
            self._fingerprint = hashlib.blake2b(key, digest_size=16).digest()
        return self._fingerprint

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Evidence):
            return NotImplemented
        return (self.kind, self.at, dict(self.data)) == (other.kind, other.at, dict(other.data))

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"Evidence({self.kind.value!r}, {self.at!r}, {dict(self.data)!r})"


PROFILE_FIELDS = (
    "external_id", "first_name", "last_name", "company", "postal_code", "profession_tags", "tags"
)  # fmt: skip


def profile_of(row: CanonicalRow) -> dict[str, Any]:
    """Identity, segmentation and personalization: attributes, replaced on re-import."""
    profile: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        value = getattr(row, name)
        if value:
            profile[name] = list(value) if isinstance(value, tuple) else value
    if row.extra:
        profile["fields"] = dict(row.extra)
    return profile


# Profile fields a message template may use besides the imported custom columns.
PERSONAL_FIELDS = ("external_id", "first_name", "last_name", "company", "postal_code")


def personalization(profile: Mapping[str, Any]) -> dict[str, str]:
    """A contact's values for a message template (`{first_name}`, `{ville}`...), keyed by
    `field_key`: the custom columns, then the profile's own fields, which win a clash."""
    fields = profile.get("fields")
    values = {field_key(k): v for k, v in fields.items()} if fields else {}
    for name in PERSONAL_FIELDS:
        value = profile.get(name)
        if value:
            values[name] = value
    return values


def profile_hash(kind: str, profile_json: str) -> bytes:
    """Detects a changed profile without reading it back: over the kind and the profile's JSON."""
    return hashlib.blake2b(f"{kind}|{profile_json}".encode(), digest_size=16).digest()


def merge_profiles(base: Mapping[str, Any], stated: Mapping[str, Any]) -> dict[str, Any]:
    """`base` updated with what a later file `stated`: a column a file does not have, or leaves
    empty, is not stated and erases nothing. Personalization fields merge one by one."""
    merged = dict(base)
    for key, value in stated.items():
        if key == "fields":
            merged["fields"] = {**base.get("fields", {}), **value}
        else:
            merged[key] = value
    return merged


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], False)}


def evidence_of(row: CanonicalRow) -> list[Evidence]:
    """The dated facts one canonical row states."""
    events: list[Evidence] = []
    if row.consent is True:
        events.append(
            Evidence(
                EvidenceKind.CONSENT_GIVEN,
                row.consent_at,
                _compact(
                    {
                        "channels": sorted(row.consent_channels),
                        "method": row.consent_method,
                        "prechecked": bool(row.consent_prechecked),
                        "bundled_with_terms": bool(row.consent_bundled_with_terms),
                        "advertiser": row.consent_advertiser,
                        "wording": row.consent_wording,
                        "source": row.consent_source,
                        "proof": row.consent_proof,
                    }
                ),
            )
        )
    elif row.consent is False:  # undated: a withdrawal only of a consent recorded before it
        events.append(Evidence(EvidenceKind.CONSENT_WITHDRAWN, row.consent_at))
    collection = _compact(
        {
            "by": row.collected_by,
            "informed": bool(row.informed_at_collection),
            "objection_offered": bool(row.objection_offered_at_collection),
            "third_party_proof": row.third_party_information_proof,
        }
    )
    if collection or row.collected_at is not None:
        events.append(Evidence(EvidenceKind.COLLECTED, row.collected_at, collection))
    if row.account_created_at is not None:
        events.append(Evidence(EvidenceKind.ACCOUNT_CREATED, row.account_created_at))
    if row.last_purchase_at is not None or row.purchased_categories:
        events.append(
            Evidence(
                EvidenceKind.PURCHASE,
                row.last_purchase_at,
                _compact({"categories": list(row.purchased_categories)}),
            )
        )
    if row.last_activity_at is not None:
        events.append(Evidence(EvidenceKind.ACTIVITY, row.last_activity_at))
    if row.member_since is not None:
        events.append(Evidence(EvidenceKind.MEMBERSHIP, row.member_since))
    if row.opted_out or row.opt_out_source is not None:
        source = row.opt_out_source or OptOutSource.MANUAL
        kind = (
            EvidenceKind.COMPLAINT
            if source is OptOutSource.COMPLAINT_33700
            else EvidenceKind.OPT_OUT
        )
        events.append(Evidence(kind, row.opted_out_at, {"source": source.value}))
    return events


def latest(events: list[Evidence]) -> Evidence | None:
    """The latest dated event, else the last recorded undated one."""
    if len(events) < 2:  # the usual case: one fact of the kind, or none
        return events[0] if events else None
    dated = [e for e in events if e.at is not None]
    if dated:
        return max(dated, key=lambda e: e.at or datetime.min)
    return events[-1] if events else None


# The kinds facts_of tells apart, read once: a member of an enum is looked up anew each time
# it is named (Python 3.11), and facts_of names them for every fact of every contact planned.
_GIVEN = EvidenceKind.CONSENT_GIVEN
_WITHDRAWN = EvidenceKind.CONSENT_WITHDRAWN
_COLLECTED = EvidenceKind.COLLECTED
_ACCOUNT = EvidenceKind.ACCOUNT_CREATED
_PURCHASE = EvidenceKind.PURCHASE
_ACTIVITY = EvidenceKind.ACTIVITY
_OPT_OUT = EvidenceKind.OPT_OUT
_COMPLAINT = EvidenceKind.COMPLAINT
_MEMBERSHIP = EvidenceKind.MEMBERSHIP
_SOURCES = {source.value: source for source in OptOutSource}
_MANUAL = OptOutSource.MANUAL.value


def facts_of(
    phone: PhoneInfo,
    kind: ContactKind,
    profile: Mapping[str, Any],
    events: Iterable[Evidence],
    *,
    first_seen_at: datetime | None = None,
    suppression: OptOut | None = None,
    transaction_reference: str | None = None,
) -> ContactFacts:
    """Fold a contact's evidence, in recording order, into the facts the decision needs.

    Called for every contact of a campaign's audience: kept lean (nothing made for absent
    kinds)."""
    by_kind: dict[EvidenceKind, list[Evidence]] = {}
    withdrawals: list[Evidence] = []
    lifted: set[int] | None = None  # undated opt-outs a later START lifted (ids of events)
    for event in events:
        event_kind = event.kind
        found = by_kind.get(event_kind)
        if found is None:
            by_kind[event_kind] = [event]
        else:
            found.append(event)
        # "consent: no" without a date withdraws the consents recorded before it (its time is
        # unknown: later than theirs) until a consent is recorded after it; with no consent
        # before it, it says nothing.
        if event_kind is _WITHDRAWN:
            if event.at is not None or _GIVEN in by_kind:
                withdrawals.append(event)
        elif event_kind is _GIVEN:
            if withdrawals:
                withdrawals = [w for w in withdrawals if w.at is not None]
            # An opt-out of unknown date is later than any consent, except a START the person
            # sent after it was recorded (a START is dated when received: its order is known).
            if lifted is not None and event.data.get("method") == _START_METHOD:
                lifted.update(id(e) for e in by_kind.get(_OPT_OUT, ()) if e.at is None)
        elif event_kind is _OPT_OUT and event.at is None and lifted is None:
            lifted = set()
    given = by_kind.get(_GIVEN)
    consents = tuple(map(_consent, given)) if given else ()
    if withdrawals:
        consents += tuple(Consent(given=False, at=e.at) for e in withdrawals)
    collected = by_kind.get(_COLLECTED)
    collection = _collection(latest(collected)) if collected else _NOT_COLLECTED
    opted_out, complaints = by_kind.get(_OPT_OUT), by_kind.get(_COMPLAINT)
    opt_outs: tuple[OptOut, ...] = ()
    if opted_out or complaints:
        opposed = (opted_out or []) + (complaints or [])
        if lifted:
            opposed = [e for e in opposed if id(e) not in lifted]
        opt_outs = tuple(_opt_out(e) for e in opposed)
    purchases = by_kind.get(_PURCHASE)
    bought = [c for p in purchases for c in p.data.get("categories", ())] if purchases else ()
    account, activity = by_kind.get(_ACCOUNT), by_kind.get(_ACTIVITY)
    memberships = by_kind.get(_MEMBERSHIP)
    return ContactFacts(
        phone=phone,
        kind=kind,
        postal_code=profile.get("postal_code"),
        profession_tags=fold_set(profile.get("profession_tags", ())),
        tags=fold_set(profile.get("tags", ())),
        consents=consents,
        collection=collection,
        account_created_at=_earliest(account) if account else None,
        last_purchase_at=_most_recent(purchases) if purchases else None,
        purchased_categories=fold_set(bought),
        opt_outs=opt_outs,
        last_activity_at=_most_recent(activity) if activity else None,
        first_seen_at=first_seen_at,
        suppression=suppression,
        membership_at=_earliest(memberships) if memberships else None,
        transaction_reference=transaction_reference,
    )


_NOT_COLLECTED = Collection()
_START_METHOD = "sms_keyword"  # the consent a START reply records


def _collection(event: Evidence | None) -> Collection:
    if event is None:
        return _NOT_COLLECTED
    data = event.data
    return Collection(
        at=event.at,
        by=data.get("by"),
        informed=bool(data.get("informed")),
        objection_offered=bool(data.get("objection_offered")),
        third_party_proof=data.get("third_party_proof"),
    )


def _opt_out(event: Evidence) -> OptOut:
    stated = event.data.get("source", _MANUAL)
    source = _SOURCES.get(stated) if isinstance(stated, str) else None
    return OptOut(source or OptOutSource(stated), event.at)


def _consent(event: Evidence) -> Consent:
    data = event.data
    return Consent(
        given=True,
        at=event.at,
        channels=frozenset(data.get("channels", ("sms",))),
        method=data.get("method"),
        prechecked=bool(data.get("prechecked")),
        bundled_with_terms=bool(data.get("bundled_with_terms")),
        advertiser=data.get("advertiser"),
        wording=data.get("wording"),
        source=data.get("source"),
        proof=data.get("proof"),
    )


def _earliest(events: list[Evidence]) -> datetime | None:
    if len(events) < 2:
        return events[0].at if events else None
    return min((e.at for e in events if e.at is not None), default=None)


def _most_recent(events: list[Evidence]) -> datetime | None:
    if len(events) < 2:
        return events[0].at if events else None
    return max((e.at for e in events if e.at is not None), default=None)


def facts_of_row(
    row: CanonicalRow,
    first_seen_at: datetime | None = None,
    *,
    transaction_reference: str | None = None,
) -> ContactFacts:
    """The facts one canonical row states, as the ledger would derive them after importing it."""
    return facts_of(
        row.phone,
        row.kind,
        profile_of(row),
        evidence_of(row),
        first_seen_at=first_seen_at,
        transaction_reference=transaction_reference,
    )
