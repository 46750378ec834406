"""A contact's evidence written back as one canonical row (rules.md section 2).

One row holds one fact of each kind: the latest consent, collection and opt-out, the first
account, the last purchase (with every category bought) and the last activity. Importing the
row again states facts the ledger already holds, so it adds nothing.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tambour.contacts.ledger import Evidence, EvidenceKind, latest
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.contacts.values import PARIS
from tambour.rules.codes import OptOutSource
from tambour.rules.facts import OptOut

# The columns holding an instant (ISO 8601 in Paris time here; a spreadsheet form may write
# them otherwise: outfiles.TableStyle.time).
TIME_COLUMNS = (
    "consent_at", "collected_at", "account_created_at", "last_purchase_at", "opted_out_at",
    "last_activity_at", "member_since",
)  # fmt: skip


def _when(at: datetime | None) -> str:
    return at.astimezone(PARIS).isoformat() if at else ""


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


def canonical_cells(
    e164: str,
    kind: str,
    profile: Mapping[str, Any],
    events: Iterable[Evidence],
    suppression: OptOut | None = None,
) -> dict[str, str]:
    """One canonical row; `suppression` is the suppression-list entry (an opposition that
    may have no evidence, for a number opted out before it was a contact)."""
    cells = dict.fromkeys(CANONICAL_COLUMNS, "")
    cells["phone"] = e164
    cells["kind"] = kind
    for name in ("external_id", "first_name", "last_name", "company", "postal_code"):
        cells[name] = str(profile.get(name, ""))
    cells["profession_tags"] = ";".join(profile.get("profession_tags", ()))
    cells["tags"] = ";".join(profile.get("tags", ()))
    for name, value in profile.get("fields", {}).items():
        cells[name] = value
    by_kind: dict[EvidenceKind, list[Evidence]] = {k: [] for k in EvidenceKind}
    for event in events:
        by_kind[event.kind].append(event)

    consent = latest(by_kind[EvidenceKind.CONSENT_GIVEN] + by_kind[EvidenceKind.CONSENT_WITHDRAWN])
    if consent is not None:
        given = consent.kind is EvidenceKind.CONSENT_GIVEN
        data = consent.data
        cells.update(
            consent=_yes(given),
            consent_at=_when(consent.at),
            consent_channels=";".join(data.get("channels", ())) if given else "",
            consent_method=data.get("method", ""),
            consent_checkbox_prechecked=_yes(data.get("prechecked")) if given else "",
            consent_bundled_with_terms=_yes(data.get("bundled_with_terms")) if given else "",
            consent_advertiser=data.get("advertiser", ""),
            consent_wording=data.get("wording", ""),
            consent_source=data.get("source", ""),
            consent_proof=data.get("proof", ""),
        )
    collected = latest(by_kind[EvidenceKind.COLLECTED])
    if collected is not None:
        data = collected.data
        cells.update(
            collected_at=_when(collected.at),
            collected_by=data.get("by", ""),
            informed_at_collection=_yes(data.get("informed")),
            objection_offered_at_collection=_yes(data.get("objection_offered")),
            third_party_information_proof=data.get("third_party_proof", ""),
        )
    accounts = [e.at for e in by_kind[EvidenceKind.ACCOUNT_CREATED] if e.at]
    cells["account_created_at"] = _when(min(accounts, default=None))
    purchase = latest(by_kind[EvidenceKind.PURCHASE])
    if purchase is not None:  # the last purchase as it was stated: a fact, not a blend
        cells["last_purchase_at"] = _when(purchase.at)
        cells["purchased_categories"] = ";".join(purchase.data.get("categories", ()))
    activity = [e.at for e in by_kind[EvidenceKind.ACTIVITY] if e.at]
    cells["last_activity_at"] = _when(max(activity, default=None))
    memberships = [e.at for e in by_kind[EvidenceKind.MEMBERSHIP] if e.at]
    cells["member_since"] = _when(min(memberships, default=None))
    opt_out = latest(by_kind[EvidenceKind.OPT_OUT] + by_kind[EvidenceKind.COMPLAINT])
    if opt_out is not None:
        cells.update(
            opted_out="yes",
            opted_out_at=_when(opt_out.at),
            opt_out_source=str(opt_out.data.get("source", "")),
        )
    complained = opt_out is not None and opt_out.kind is EvidenceKind.COMPLAINT
    if suppression is not None and (
        opt_out is None or (suppression.source is OptOutSource.COMPLAINT_33700 and not complained)
    ):
        cells.update(
            opted_out="yes",
            opted_out_at=_when(suppression.at),
            opt_out_source=suppression.source.value,
        )
    return cells
