"""Reading contacts back: one contact with its evidence and standing, or the canonical export."""

from typing import IO, Any

from tambour.contacts.export import TIME_COLUMNS, canonical_cells
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.outfiles import PLAIN, TableStyle, TableWriter
from tambour.rules.template import field_key
from tambour.services import advertisers, audit, ledger_reads
from tambour.services.context import Context, NotFoundError, ServiceError
from tambour.services.standing import standing
from tambour.sms.phone import parse_phone
from tambour.store.engine import reader


def show(ctx: Context, *, slug: str, number: str) -> dict[str, Any]:
    phone = parse_phone(number)
    if phone.e164 is None or not phone.valid:
        raise ServiceError(f"{number!r} is not a valid phone number")
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        contact = ledger_reads.find(conn, advertiser, phone.e164)
        if contact is None:
            raise NotFoundError(f"{slug} has no contact {phone.e164}")
        events = ledger_reads.timeline(conn, advertiser, contact.id)
    return {
        "contact": {
            "e164": contact.e164,
            "kind": contact.kind.value,
            **contact.profile,
            "created_at": contact.created_at.isoformat(),
            "updated_at": contact.updated_at.isoformat(),
            "suppressed": (
                {
                    "at": contact.suppression.at.isoformat() if contact.suppression.at else None,
                    "source": contact.suppression.source.value,
                }
                if contact.suppression
                else None
            ),
        },
        "evidence": events,
        "standing": standing(contact.facts(), advertiser.facts, ctx.now()),
    }


def export(ctx: Context, *, slug: str, out: IO[str], style: TableStyle = PLAIN) -> int:
    """Write the advertiser's contacts as a canonical CSV; returns the number of rows.

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
