"""Reading contacts back: one contact with its evidence and standing, or the canonical export."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Final

from tambour.contacts.export import TIME_COLUMNS, canonical_cells
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.outfiles import PLAIN, TableStyle, TableWriter
from tambour.rules.template import field_key
from tambour.services import advertisers, audit, ledger_reads
from tambour.services.context import Context, InvalidInputError, NotFoundError
from tambour.services.ledger_reads import Event, StoredContact
from tambour.services.standing import Standing, standing
from tambour.services.views import as_json
from tambour.sms.phone import parse_phone
from tambour.store.engine import reader

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {
    "invalid_phone": "{number!r} is not a valid phone number",
    "contact_not_found": "{slug} has no contact {e164}",
}


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One contact: its profile, its evidence in recording order, and its standing today."""

    contact: StoredContact
    evidence: tuple[Event, ...]
    standing: Mapping[str, Standing]  # by campaign nature: commercial, non_commercial

    def as_dict(self) -> dict[str, Any]:
        contact = self.contact
        suppressed = contact.suppression
        return {
            "contact": {
                "e164": contact.e164,
                "kind": contact.kind.value,
                **contact.profile,
                "created_at": contact.created_at.isoformat(),
                "updated_at": contact.updated_at.isoformat(),
                "suppressed": (
                    {"at": as_json(suppressed.at), "source": suppressed.source.value}
                    if suppressed
                    else None
                ),
            },
            "evidence": as_json(self.evidence),
            "standing": as_json(self.standing),
        }


def valid_number(number: str, field: str = "number") -> str:
    """`number` (any notation) in E.164, or InvalidInputError for parameter `field`."""
    phone = parse_phone(number)
    if phone.e164 is None or not phone.valid:
        said = TEXTS["invalid_phone"].format(number=number)
        raise InvalidInputError(field, "invalid_phone", said)
    return phone.e164


def show(ctx: Context, *, slug: str, number: str) -> ContactRecord:
    """The contact `number` (any notation) of advertiser `slug`; NotFoundError when it has
    none (or the advertiser is unknown)."""
    e164 = valid_number(number)
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        contact = ledger_reads.find(conn, advertiser, e164)
        if contact is None:
            said = TEXTS["contact_not_found"].format(slug=slug, e164=e164)
            raise NotFoundError(said, code="contact_not_found", field="number")
        events = ledger_reads.timeline(conn, advertiser, contact.id)
    return ContactRecord(
        contact, tuple(events), standing(contact.facts(), advertiser.facts, ctx.now())
    )


PROGRESS_EVERY: Final = 1000  # rows between two calls of an export's `progress`


def export(
    ctx: Context,
    *,
    slug: str,
    out: IO[str],
    style: TableStyle = PLAIN,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the advertiser's contacts as a canonical CSV; returns the number of rows.
    `progress` hears the rows written, every PROGRESS_EVERY (it may raise to stop the export).

    Two passes over the contacts, both streamed: the first finds the personalization columns.
    No cell is a formula to a spreadsheet (`outfiles.spreadsheet_cell`; the importer reads
    them back as they were). `style`: `outfiles.EXCEL` for French Excel (semicolons, Paris
    times as dd/mm/yyyy hh:mm:ss, which the importer reads as well).
    """
    count = 0
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        # Personalization columns by folded name ('Ville' and 'ville' are one column, as the
        # importer reads them), under the first spelling met.
        spelling: dict[str, str] = {}
        for contact in ledger_reads.stream(conn, advertiser):
            for name in contact.profile.get("fields", {}):
                spelling.setdefault(field_key(name), name)
        columns = [*CANONICAL_COLUMNS, *spelling.values()]
        table = TableWriter(out, style, columns, TIME_COLUMNS)
        for contact in ledger_reads.stream(conn, advertiser):
            cells = canonical_cells(
                contact.e164, contact.kind.value, contact.profile, contact.events,
                contact.suppression,
            )  # fmt: skip
            for name in contact.profile.get("fields", {}):
                column = spelling[field_key(name)]
                if column != name:
                    cells[column] = cells.pop(name)
            table.row([cells.get(column, "") for column in columns])
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
        if progress is not None and count % PROGRESS_EVERY:
            progress(count % PROGRESS_EVERY)
    with ctx.engine.begin() as conn:
        audit.append(
            conn,
            actor=ctx.actor,
            action="contacts.export",
            advertiser_id=advertiser.id,
            details={"rows": count},
            at=ctx.now(),
        )
    return count
