"""One row of the canonical contact file (rules.md section 2), parsed and checked field by field.

A row with any invalid field is rejected whole by the importer: `parse_row` returns every error
found (field, value, reason) so the rejects file can say what to fix. An unparseable phone number
is not an error here (the planner reports it as `invalid_number`): the importer decides.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from tambour.contacts.values import parse_bool, parse_datetime, parse_list
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.sms.phone import PhoneInfo, parse_phone

CANONICAL_COLUMNS = (
    "phone", "external_id", "first_name", "last_name", "company", "kind", "profession_tags",
    "postal_code", "tags", "consent", "consent_at", "consent_channels", "consent_method",
    "consent_checkbox_prechecked", "consent_bundled_with_terms", "consent_advertiser",
    "consent_wording", "consent_source", "consent_proof", "collected_at", "collected_by",
    "informed_at_collection", "objection_offered_at_collection", "third_party_information_proof",
    "account_created_at", "last_purchase_at", "purchased_categories", "opted_out",
    "opted_out_at", "opt_out_source", "last_activity_at",
)  # fmt: skip

_KINDS = {
    "person": ContactKind.PERSON, "particulier": ContactKind.PERSON, "b2c": ContactKind.PERSON,
    "professional": ContactKind.PROFESSIONAL, "professionnel": ContactKind.PROFESSIONAL,
    "pro": ContactKind.PROFESSIONAL, "b2b": ContactKind.PROFESSIONAL,
}  # fmt: skip
CONSENT_CHANNELS = frozenset({"sms", "mms", "fax", "email"})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class CanonicalRow:
    """Typed values of one row; None where the cell was empty."""

    phone_raw: str
    phone: PhoneInfo
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    kind: ContactKind = ContactKind.PERSON
    profession_tags: tuple[str, ...] = ()
    postal_code: str | None = None
    tags: tuple[str, ...] = ()
    consent: bool | None = None
    consent_at: datetime | None = None
    consent_channels: tuple[str, ...] = ("sms",)
    consent_method: str | None = None
    consent_prechecked: bool | None = None
    consent_bundled_with_terms: bool | None = None
    consent_advertiser: str | None = None
    consent_wording: str | None = None
    consent_source: str | None = None
    consent_proof: str | None = None
    collected_at: datetime | None = None
    collected_by: str | None = None
    informed_at_collection: bool | None = None
    objection_offered_at_collection: bool | None = None
    third_party_information_proof: str | None = None
    account_created_at: datetime | None = None
    last_purchase_at: datetime | None = None
    purchased_categories: tuple[str, ...] = ()
    opted_out: bool | None = None
    opted_out_at: datetime | None = None
    opt_out_source: OptOutSource | None = None
    last_activity_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # personalization fields


class _Cells:
    """Reads one row's cells, collecting every error instead of stopping at the first."""

    def __init__(self, cells: Mapping[str, str | None]) -> None:
        self.cells = cells
        self.errors: list[FieldError] = []

    def text(self, name: str) -> str | None:
        value = (self.cells.get(name) or "").strip()
        return value or None

    def typed(self, name: str, parse: Callable[[str], T | None], default: T) -> T:
        raw = self.cells.get(name) or ""
        try:
            value = parse(raw)
        except ValueError as error:
            self.errors.append(FieldError(name, raw, str(error)))
            return default
        return default if value is None else value


def _kind(value: str) -> ContactKind | None:
    key = value.strip().casefold()
    if not key:
        return None
    if key not in _KINDS:
        raise ValueError(f"{value.strip()!r} is not a kind (person or professional)")
    return _KINDS[key]


def _channels(value: str) -> tuple[str, ...] | None:
    channels = tuple(c.casefold() for c in parse_list(value))
    if not channels:
        return None
    unknown = [c for c in channels if c not in CONSENT_CHANNELS]
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r} (sms, mms, fax, email)")
    return channels


def _opt_out_source(value: str) -> OptOutSource | None:
    key = value.strip().casefold()
    if not key:
        return None
    try:
        return OptOutSource(key)
    except ValueError:
        choices = ", ".join(s.value for s in OptOutSource)
        raise ValueError(f"{value.strip()!r} is not an opt-out source ({choices})") from None


def _postal_code(value: str) -> str | None:
    code = value.strip().replace(" ", "")
    if not code:
        return None
    if len(code) == 4 and code.isdigit():
        code = "0" + code  # spreadsheets drop the leading zero of 01000-09999
    if not (len(code) == 5 and (code.isdigit() or code[:2].upper() in ("2A", "2B"))):
        raise ValueError(f"{value.strip()!r} is not a French postal code (5 digits)")
    return code.upper()


def parse_row(
    cells: Mapping[str, str | None], default_region: str = "FR"
) -> tuple[CanonicalRow | None, list[FieldError]]:
    """Parse one row keyed by canonical column names (unknown names become `extra`).

    Returns the row, or None with every field error when any field is invalid.
    """
    c = _Cells(cells)
    phone_raw = c.text("phone")
    if phone_raw is None:
        c.errors.append(FieldError("phone", "", "the phone number is missing"))
        phone_raw = ""
    dt, bool_ = parse_datetime, parse_bool
    row = CanonicalRow(
        phone_raw=phone_raw,
        phone=parse_phone(phone_raw, default_region),
        external_id=c.text("external_id"),
        first_name=c.text("first_name"),
        last_name=c.text("last_name"),
        company=c.text("company"),
        kind=c.typed("kind", _kind, ContactKind.PERSON),
        profession_tags=c.typed("profession_tags", parse_list, ()),
        postal_code=c.typed("postal_code", _postal_code, None),
        tags=c.typed("tags", parse_list, ()),
        consent=c.typed("consent", bool_, None),
        consent_at=c.typed("consent_at", dt, None),
        consent_channels=c.typed("consent_channels", _channels, ("sms",)),
        consent_method=c.text("consent_method"),
        consent_prechecked=c.typed("consent_checkbox_prechecked", bool_, None),
        consent_bundled_with_terms=c.typed("consent_bundled_with_terms", bool_, None),
        consent_advertiser=c.text("consent_advertiser"),
        consent_wording=c.text("consent_wording"),
        consent_source=c.text("consent_source"),
        consent_proof=c.text("consent_proof"),
        collected_at=c.typed("collected_at", dt, None),
        collected_by=c.text("collected_by"),
        informed_at_collection=c.typed("informed_at_collection", bool_, None),
        objection_offered_at_collection=c.typed("objection_offered_at_collection", bool_, None),
        third_party_information_proof=c.text("third_party_information_proof"),
        account_created_at=c.typed("account_created_at", dt, None),
        last_purchase_at=c.typed("last_purchase_at", dt, None),
        purchased_categories=c.typed("purchased_categories", parse_list, ()),
        opted_out=c.typed("opted_out", bool_, None),
        opted_out_at=c.typed("opted_out_at", dt, None),
        opt_out_source=c.typed("opt_out_source", _opt_out_source, None),
        last_activity_at=c.typed("last_activity_at", dt, None),
        extra={
            k: (v or "").strip()
            for k, v in cells.items()
            if k not in CANONICAL_COLUMNS and k and (v or "").strip()
        },
    )
    if c.errors:
        return None, c.errors
    return row, []
