"""One row of the canonical contact file (rules.md section 2), parsed and checked field by field.

A row with any invalid field is rejected whole by the importer: `parse_row` returns every error
found (field, value, reason) so the rejects file can say what to fix. An unparseable phone number
is not an error here (the planner reports it as `invalid_number`): the importer decides.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tambour.contacts.values import parse_bool, parse_datetime
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.rules.fold import fold, split_list
from tambour.sms.phone import PhoneInfo, parse_phone

CANONICAL_COLUMNS = (
    "phone", "external_id", "first_name", "last_name", "company", "kind", "profession_tags",
    "postal_code", "tags", "consent", "consent_at", "consent_channels", "consent_method",
    "consent_checkbox_prechecked", "consent_bundled_with_terms", "consent_advertiser",
    "consent_wording", "consent_source", "consent_proof", "collected_at", "collected_by",
    "informed_at_collection", "objection_offered_at_collection", "third_party_information_proof",
    "account_created_at", "last_purchase_at", "purchased_categories", "opted_out",
    "opted_out_at", "opt_out_source", "last_activity_at", "member_since",
)  # fmt: skip

_KINDS = {
    "person": ContactKind.PERSON, "particulier": ContactKind.PERSON, "b2c": ContactKind.PERSON,
    "professional": ContactKind.PROFESSIONAL, "professionnel": ContactKind.PROFESSIONAL,
    "pro": ContactKind.PROFESSIONAL, "b2b": ContactKind.PROFESSIONAL,
}  # fmt: skip
CONSENT_CHANNELS = frozenset({"sms", "mms", "fax", "email"})


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(slots=True)
class CanonicalRow:
    """Typed values of one row; None where the cell was empty. (Not frozen: building a frozen
    dataclass of 33 fields costs three times as much, on the import's hot path.)"""

    phone_raw: str
    phone: PhoneInfo
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    kind: ContactKind = ContactKind.PERSON
    kind_stated: bool = False  # the file said the kind (else a new contact is a person)
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
    member_since: datetime | None = None  # a member of (or in regular contact with) the body
    extra: Mapping[str, str] = field(default_factory=dict)  # personalization fields


SEVERAL_NUMBERS = re.compile(r"[;,/|&]|\d\s+(?:et|ou|and|or)\s+\+?\d", re.IGNORECASE)
# A number a spreadsheet stored as a number and wrote back in scientific notation, with a
# decimal point or (French Excel) a decimal comma: `6.12346E+08`, `6,12346E+08`. One number,
# lost: the importer says how to export it again.
SCIENTIFIC = re.compile(r"\s*\d(?:[.,]\d+)?[eE]\+?\d+\s*")


def _text(value: str) -> str | None:
    return value.strip() or None


def _kind(value: str) -> ContactKind | None:
    key = value.strip().casefold()
    if not key:
        return None
    if key not in _KINDS:
        raise ValueError(f"{value.strip()!r} is not a kind (person or professional)")
    return _KINDS[key]


def _channels(value: str) -> tuple[str, ...] | None:
    channels = tuple(c.casefold() for c in split_list(value))
    if not channels:
        return None
    unknown = [c for c in channels if c not in CONSENT_CHANNELS]
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r} (sms, mms, fax, email)")
    return channels


# What French files write for an opt-out's source (folded), besides the codes themselves: a
# row whose source cannot be read is rejected whole, and its opposition with it.
_OPT_OUT_SOURCE_WORDS: dict[str, OptOutSource] = {
    "stop": OptOutSource.SMS_STOP,
    "sms": OptOutSource.SMS_STOP,
    "stop sms": OptOutSource.SMS_STOP,
    "sms stop": OptOutSource.SMS_STOP,
    "reponse stop": OptOutSource.SMS_STOP,
    "mot cle stop": OptOutSource.SMS_STOP,
    "desinscription sms": OptOutSource.SMS_STOP,
    "lien": OptOutSource.LINK,
    "lien de desinscription": OptOutSource.LINK,
    "lien desinscription": OptOutSource.LINK,
    "url": OptOutSource.LINK,
    "page de desinscription": OptOutSource.LINK,
    "unsubscribe link": OptOutSource.LINK,
    "33700": OptOutSource.COMPLAINT_33700,
    "spam": OptOutSource.COMPLAINT_33700,
    "signalement": OptOutSource.COMPLAINT_33700,
    "signalement 33700": OptOutSource.COMPLAINT_33700,
    "signalement spam": OptOutSource.COMPLAINT_33700,
    "plainte": OptOutSource.COMPLAINT_33700,
    "manuel": OptOutSource.MANUAL,
    "manuelle": OptOutSource.MANUAL,
    "service client": OptOutSource.MANUAL,
    "telephone": OptOutSource.MANUAL,
    "courrier": OptOutSource.MANUAL,
    "e-mail": OptOutSource.MANUAL,
    "email": OptOutSource.MANUAL,
    "boutique": OptOutSource.MANUAL,
    "magasin": OptOutSource.MANUAL,
    "rgpd": OptOutSource.DATA_REQUEST,
    "demande rgpd": OptOutSource.DATA_REQUEST,
    "droit d'opposition": OptOutSource.DATA_REQUEST,
    "demande d'opposition": OptOutSource.DATA_REQUEST,
    "cnil": OptOutSource.DATA_REQUEST,
}


def _opt_out_source(value: str) -> OptOutSource | None:
    key = value.strip().casefold()
    if not key:
        return None
    try:
        return OptOutSource(key)
    except ValueError:
        pass
    found = _OPT_OUT_SOURCE_WORDS.get(fold(value).replace("_", " "))
    if found is not None:
        return found
    choices = ", ".join(s.value for s in OptOutSource)
    raise ValueError(
        f"{value.strip()!r} is not an opt-out source ({choices}, or STOP, lien, 33700, manuel, "
        "RGPD...)"
    )


def _postal_code(value: str) -> str | None:
    code = value.strip().replace(" ", "")
    if not code:
        return None
    if len(code) == 4 and code.isdigit():
        code = "0" + code  # spreadsheets drop the leading zero of 01000-09999
    if not (len(code) == 5 and (code.isdigit() or code[:2].upper() in ("2A", "2B"))):
        raise ValueError(f"{value.strip()!r} is not a French postal code (5 digits)")
    return code.upper()


def _nonempty_list(value: str) -> tuple[str, ...] | None:
    return split_list(value) or None


# Column -> (CanonicalRow attribute, parser). A parser returns None for "no value" and raises
# ValueError with what was expected. Table-driven: a row costs one lookup per non-empty cell.
COLUMN_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "external_id": ("external_id", _text),
    "first_name": ("first_name", _text),
    "last_name": ("last_name", _text),
    "company": ("company", _text),
    "kind": ("kind", _kind),
    "profession_tags": ("profession_tags", _nonempty_list),
    "postal_code": ("postal_code", _postal_code),
    "tags": ("tags", _nonempty_list),
    "consent": ("consent", parse_bool),
    "consent_at": ("consent_at", parse_datetime),
    "consent_channels": ("consent_channels", _channels),
    "consent_method": ("consent_method", _text),
    "consent_checkbox_prechecked": ("consent_prechecked", parse_bool),
    "consent_bundled_with_terms": ("consent_bundled_with_terms", parse_bool),
    "consent_advertiser": ("consent_advertiser", _text),
    "consent_wording": ("consent_wording", _text),
    "consent_source": ("consent_source", _text),
    "consent_proof": ("consent_proof", _text),
    "collected_at": ("collected_at", parse_datetime),
    "collected_by": ("collected_by", _text),
    "informed_at_collection": ("informed_at_collection", parse_bool),
    "objection_offered_at_collection": ("objection_offered_at_collection", parse_bool),
    "third_party_information_proof": ("third_party_information_proof", _text),
    "account_created_at": ("account_created_at", parse_datetime),
    "last_purchase_at": ("last_purchase_at", parse_datetime),
    "purchased_categories": ("purchased_categories", _nonempty_list),
    "opted_out": ("opted_out", parse_bool),
    "opted_out_at": ("opted_out_at", parse_datetime),
    "opt_out_source": ("opt_out_source", _opt_out_source),
    "last_activity_at": ("last_activity_at", parse_datetime),
    "member_since": ("member_since", parse_datetime),
}
assert set(COLUMN_PARSERS) | {"phone"} == set(CANONICAL_COLUMNS)
# Columns kept as written, stripped (no parser can refuse them).
TEXT_COLUMNS = frozenset(c for c, (_, parse) in COLUMN_PARSERS.items() if parse is _text)


def parse_row(
    cells: Mapping[str, str | None], default_region: str = "FR"
) -> tuple[CanonicalRow | None, list[FieldError]]:
    """Parse one row keyed by canonical column names (unknown names become `extra`).

    Returns the row, or None with every field error when any field is invalid. An opt-out
    date with an empty `opted_out` is an opt-out (`opted_out: no` with a date is none).
    """
    values: dict[str, Any] = {}
    extra: dict[str, str] = {}
    errors: list[FieldError] = []
    phone_raw = ""
    for name, raw in cells.items():
        if not raw:
            continue
        spec = COLUMN_PARSERS.get(name)
        if spec is None:
            if name == "phone":
                phone_raw = raw.strip()
            elif name:
                kept = raw.strip()
                if kept:
                    extra[name] = kept
            continue
        attribute, parse = spec
        try:
            value = parse(raw)
        except ValueError as error:
            errors.append(FieldError(name, raw, str(error)))
            continue
        if value is not None:
            values[attribute] = value
    if not phone_raw:
        errors.append(FieldError("phone", "", "the phone number is missing"))
    elif SEVERAL_NUMBERS.search(phone_raw) and not SCIENTIFIC.fullmatch(phone_raw):
        errors.append(
            FieldError("phone", phone_raw, "holds more than one number (one number a row)")
        )
    if errors:
        return None, errors
    values["kind_stated"] = "kind" in values
    if "opted_out_at" in values and "opted_out" not in values:
        # A date of opt-out (`Date de désinscription`) with no yes/no beside it says the person
        # opted out: without this it would state nothing, and the opposition would be lost.
        values["opted_out"] = True
    return CanonicalRow(
        phone_raw, parse_phone(phone_raw, default_region), extra=extra, **values
    ), []
