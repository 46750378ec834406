"""The proof of one recipient of a campaign (services/proof.py), named by its contact id once
the number is found: a page asks for the number in a form and shows the proof at an address
that holds no phone number (addresses end up in histories, logs and proxies).

Every read names the advertiser: another's campaign or contact is not found, exactly as one
that does not exist.
"""

from typing import Final

from sqlalchemy import select

from tambour.services import proof as proofs
from tambour.services.campaigns import locate
from tambour.services.contacts import valid_number
from tambour.services.context import Context, NotFoundError
from tambour.services.proof_records import Proof
from tambour.store.engine import reader
from tambour.store.tables import contacts

TEXTS: Final = {
    "number_not_found": "{slug} has no contact with this number",
    "contact_not_found": "{slug} has no contact {contact_id}",
}


def find_recipient(ctx: Context, *, slug: str, campaign_id: int, number: str) -> int:
    """The contact id of `number` (any notation) at advertiser `slug`, for the proof of
    campaign `campaign_id`. Refused: a number that cannot be read (InvalidInputError, field
    `number`), no contact with it (NotFoundError `number_not_found`, field `number`)."""
    e164 = valid_number(number)
    with reader(ctx.engine) as conn:
        campaign = locate(conn, slug=slug, campaign_id=campaign_id)
        found = conn.execute(
            select(contacts.c.id).where(
                contacts.c.advertiser_id == campaign.advertiser.id, contacts.c.e164 == e164
            )
        ).scalar()
    if found is None:
        said = TEXTS["number_not_found"].format(slug=slug)
        raise NotFoundError(said, code="number_not_found", field="number")
    return int(found)


def recipient_proof(ctx: Context, *, slug: str, campaign_id: int, contact_id: int) -> Proof:
    """The proof of contact `contact_id` in campaign `campaign_id` of advertiser `slug`: what
    `tambour proof NUMBER --campaign NAME` shows. NotFoundError for a campaign or a contact not
    the advertiser's, or a contact erased since (its number is gone)."""
    with reader(ctx.engine) as conn:
        campaign = locate(conn, slug=slug, campaign_id=campaign_id)
        e164 = conn.execute(
            select(contacts.c.e164).where(
                contacts.c.id == contact_id, contacts.c.advertiser_id == campaign.advertiser.id
            )
        ).scalar()
    if e164 is None:
        said = TEXTS["contact_not_found"].format(slug=slug, contact_id=contact_id)
        raise NotFoundError(said, code="contact_not_found", field="contact")
    return proofs.proof(ctx, slug=slug, number=e164, campaign=campaign.name)
