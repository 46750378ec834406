"""One contact created or updated with its evidence, as typed values (the API's `POST
/contacts`), through the import's own path: the values become one row of the canonical file,
checked and converted by `import_prepare.prepare` and written by the importer's batch writer,
so the same checks, the same evidence rows and seals, the same suppressions and the same audit
entry (`contacts.import.rows`, source `api`) as a file of one row.

Stricter than a file on one point: a consent given must say when (`consent.at`) and how it can
be shown (`consent.method` or `consent.wording`). A file may leave them out (the import warns,
and the plan excludes such a consent); a caller of the API is told at once.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select

from tambour.contacts.reader import FileFormat, Record, Reject
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.rules.template import field_key
from tambour.services import advertisers
from tambour.services.advertisers import Advertiser
from tambour.services.context import Context, InvalidInputError, Problem, refuse_any
from tambour.services.import_prepare import PreparedBatch, prepare
from tambour.services.importer import ImportTally, write_batch
from tambour.store.tables import contacts

SOURCE: Final = "api"  # the evidence's source: where the facts were learnt
MAX_FIELDS: Final = 50  # personalization fields of one contact

TEXTS: Final = {
    "consent_not_dated": "a consent given says when it was given (its date)",
    "consent_unproven": (
        "a consent given says how it can be shown: its method (web_form, paper_form...) or the "
        "wording the person accepted"
    ),
    "list_separator": "{value!r} holds a ';', which separates the members of a list",
    "reserved_field": "{name!r} is a column of the contact itself, not a personalization field",
    "duplicate_field": "{name!r} and {other!r} are one field (case and accents do not matter)",
    "too_many_fields": "at most {most} personalization fields",
}

# Where each canonical column is in the typed input, for the errors of the row's checks.
_FIELDS: Final = {
    "phone": "number",
    "consent": "consent.given",
    "consent_at": "consent.at",
    "consent_channels": "consent.channels",
    "consent_method": "consent.method",
    "consent_checkbox_prechecked": "consent.checkbox_prechecked",
    "consent_bundled_with_terms": "consent.bundled_with_terms",
    "consent_advertiser": "consent.advertiser",
    "consent_wording": "consent.wording",
    "consent_source": "consent.source",
    "consent_proof": "consent.proof",
    "collected_at": "collection.at",
    "collected_by": "collection.by",
    "informed_at_collection": "collection.informed",
    "objection_offered_at_collection": "collection.objection_offered",
    "third_party_information_proof": "collection.third_party_information_proof",
    "last_purchase_at": "purchase.at",
    "purchased_categories": "purchase.categories",
    "opted_out": "opt_out",
    "opted_out_at": "opt_out.at",
    "opt_out_source": "opt_out.source",
}


@dataclass(frozen=True, slots=True)
class Consent:
    """A consent given (`given`) or withdrawn, with what proves it."""

    given: bool
    at: datetime | None = None
    channels: tuple[str, ...] = ()  # none: sms (SMS and MMS)
    method: str | None = None
    checkbox_prechecked: bool | None = None
    bundled_with_terms: bool | None = None
    advertiser: str | None = None  # whom it was given to (none: this advertiser)
    wording: str | None = None
    source: str | None = None
    proof: str | None = None


@dataclass(frozen=True, slots=True)
class Collection:
    """How and when the number was collected, and what the person was told then."""

    at: datetime | None = None
    by: str | None = None  # advertiser (none), or the third party it came from
    informed: bool | None = None
    objection_offered: bool | None = None
    third_party_information_proof: str | None = None


@dataclass(frozen=True, slots=True)
class Purchase:
    at: datetime | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Opposition:
    """An opt-out (a 33700 complaint by its source)."""

    at: datetime | None = None
    source: OptOutSource = OptOutSource.MANUAL


@dataclass(frozen=True, slots=True)
class ContactInput:
    """What a caller states about one contact: a later call updates the contact with what it
    states, and erases nothing it leaves out (as a later file does)."""

    number: str
    kind: ContactKind | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    postal_code: str | None = None
    tags: tuple[str, ...] = ()
    profession_tags: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    consent: Consent | None = None
    collection: Collection | None = None
    account_created_at: datetime | None = None
    purchase: Purchase | None = None
    last_activity_at: datetime | None = None
    member_since: datetime | None = None
    opt_out: Opposition | None = None


@dataclass(frozen=True, slots=True)
class SavedContact:
    id: int
    e164: str
    created: bool  # a new contact (else one of the advertiser's, updated or not)
    changed: bool  # its profile or evidence changed (always so when created)
    evidence_added: int


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _listed(values: tuple[str, ...], where: str, problems: list[Problem]) -> str | None:
    for index, value in enumerate(values):
        if ";" in value:
            said = TEXTS["list_separator"].format(value=value)
            problems.append(Problem(f"{where}[{index}]", "list_separator", said))
    return ";".join(values) or None


def _cells(given: ContactInput) -> dict[str, str | None]:
    """The canonical row the input states (None: an empty cell); InvalidInputError for what
    the API refuses before the row's own checks."""
    problems: list[Problem] = []
    consent, collection = given.consent, given.collection
    purchase, opposition = given.purchase, given.opt_out
    cells: dict[str, str | None] = {
        "phone": given.number,
        "external_id": given.external_id,
        "first_name": given.first_name,
        "last_name": given.last_name,
        "company": given.company,
        "kind": None if given.kind is None else given.kind.value,
        "profession_tags": _listed(given.profession_tags, "profession_tags", problems),
        "postal_code": given.postal_code,
        "tags": _listed(given.tags, "tags", problems),
        "account_created_at": _when(given.account_created_at),
        "last_activity_at": _when(given.last_activity_at),
        "member_since": _when(given.member_since),
    }
    if consent is not None:
        if consent.given and consent.at is None:
            problems.append(Problem("consent.at", "consent_not_dated", TEXTS["consent_not_dated"]))
        if consent.given and not (consent.method or consent.wording):
            said = TEXTS["consent_unproven"]
            problems.append(Problem("consent.method", "consent_unproven", said))
        cells |= {
            "consent": _yes_no(consent.given),
            "consent_at": _when(consent.at),
            "consent_channels": _listed(consent.channels, "consent.channels", problems),
            "consent_method": consent.method,
            "consent_checkbox_prechecked": _yes_no(consent.checkbox_prechecked),
            "consent_bundled_with_terms": _yes_no(consent.bundled_with_terms),
            "consent_advertiser": consent.advertiser,
            "consent_wording": consent.wording,
            "consent_source": consent.source,
            "consent_proof": consent.proof,
        }
    if collection is not None:
        cells |= {
            "collected_at": _when(collection.at),
            "collected_by": collection.by,
            "informed_at_collection": _yes_no(collection.informed),
            "objection_offered_at_collection": _yes_no(collection.objection_offered),
            "third_party_information_proof": collection.third_party_information_proof,
        }
    if purchase is not None:
        cells |= {
            "last_purchase_at": _when(purchase.at),
            "purchased_categories": _listed(purchase.categories, "purchase.categories", problems),
        }
    if opposition is not None:
        cells |= {
            "opted_out": "yes",
            "opted_out_at": _when(opposition.at),
            "opt_out_source": opposition.source.value,
        }
    if len(given.fields) > MAX_FIELDS:
        said = TEXTS["too_many_fields"].format(most=MAX_FIELDS)
        problems.append(Problem("fields", "too_many_fields", said))
    canonical = {field_key(name) for name in CANONICAL_COLUMNS}
    seen: dict[str, str] = {}
    for name, value in given.fields.items():
        key = field_key(name)
        if key in canonical:
            said = TEXTS["reserved_field"].format(name=name)
            problems.append(Problem(f"fields.{name}", "reserved_field", said))
        elif key in seen:
            said = TEXTS["duplicate_field"].format(name=name, other=seen[key])
            problems.append(Problem(f"fields.{name}", "duplicate_field", said))
        else:
            seen[key] = name
            cells[name] = value
    refuse_any(problems)
    return cells


def _refusal(rejects: list[list[Reject]]) -> InvalidInputError:
    """The row's refusal by the import's checks, each problem at its place in the input."""
    problems = []
    for reject in (r for record in rejects for r in record):
        where = _FIELDS.get(reject.field, reject.field) or None
        code = "invalid_phone" if reject.field == "phone" else "invalid_value"
        problems.append(Problem(where, code, reject.reason))
    return InvalidInputError.many(problems)


def save(ctx: Context, *, slug: str, contact: ContactInput) -> SavedContact:
    """Create or update advertiser `slug`'s contact `contact.number` with what `contact`
    states; refused (InvalidInputError, each problem at its field) when any value is, as
    the import would reject its row, or a consent given lacks its date or proof."""
    now = ctx.now()
    batch = prepared(contact, ctx.engine.dialect.name, now)
    with ctx.engine.begin() as conn:
        advertiser = advertisers.get(conn, slug)
        return write(conn, advertiser, batch, source=SOURCE, actor=ctx.actor, now=now)


def prepared(contact: ContactInput, dialect: str, now: datetime) -> PreparedBatch:
    """`contact` as the one prepared row of an import batch, checked as `save` says."""
    cells = _cells(contact)
    columns = tuple(name for name, value in cells.items() if value is not None and value != "")
    row = [str(cells[name]) for name in columns]
    fmt = FileFormat("utf-8", ",", columns, columns)
    record: Record = (2, row, [])  # line 2: the row after a header
    batch = prepare(fmt, [record], dialect, now, fast=False)
    if batch.rejects or not batch.rows:
        raise _refusal(batch.rejects or [[Reject(2, "phone", "the phone number is missing", ())]])
    return batch


def write(
    conn: Connection,
    advertiser: Advertiser,
    batch: PreparedBatch,
    *,
    source: str,
    actor: str,
    now: datetime,
) -> SavedContact:
    """Write a `prepared` contact in the caller's transaction, as the importer writes a row:
    the same evidence rows and seals, suppressions and audit entry, from `source`."""
    (row,) = batch.rows
    e164 = row[0]
    tally = ImportTally(file=source, dry_run=False)
    write_batch(conn, advertiser, batch.rows, tally, source=source, actor=actor, now=now)
    contact_id = conn.execute(
        select(contacts.c.id).where(
            contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164
        )
    ).scalar_one()
    return SavedContact(
        id=contact_id,
        e164=e164,
        created=bool(tally.created),
        changed=bool(tally.created or tally.updated),
        evidence_added=tally.evidence_added,
    )
