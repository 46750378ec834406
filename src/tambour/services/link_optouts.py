"""The one-click opt-out link (issue 17): the page a recipient opens from a message names the
advertiser; pressing its button opts the number out at once (source `link`: evidence,
suppression entry, `contact.opted_out` webhook, audit). Opening the page changes nothing, so
link scanners that only fetch it opt nobody out. Pressing twice is pressing once.

The token names a link row (services/link_codes.py), which names the message's campaign and
contact: no phone number in the URL. A token whose check fails, or whose link is gone (a plan
dropped), is not found."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from tambour.rules.codes import OptOutSource
from tambour.services import advertisers, optouts
from tambour.services.context import Context, NotFoundError
from tambour.services.link_codes import LinkCodes
from tambour.services.views import View
from tambour.store.engine import reader
from tambour.store.tables import advertisers as advertiser_rows
from tambour.store.tables import contacts, message_links

TEXTS = {"unknown_link": "this opt-out link is unknown or no longer valid"}


@dataclass(frozen=True, slots=True)
class StopLink(View):
    """What the opt-out page shows: whose messages, and whether the number is opted out
    through this link already (when)."""

    advertiser: str  # the advertiser's name
    opted_out_at: datetime | None
    form_value: str  # what the page's form must bring back (services/link_codes.py)


def _link(conn: Connection, codes: LinkCodes, token: str) -> tuple[int, int, int, datetime | None]:
    """(link id, advertiser id, contact id, used_at) of an opt-out token, else NotFoundError."""
    link_id = codes.token_id(token)
    row = None
    if link_id is not None:
        row = conn.execute(
            select(
                message_links.c.id,
                message_links.c.advertiser_id,
                message_links.c.contact_id,
                message_links.c.used_at,
            ).where(message_links.c.id == link_id, message_links.c.kind == "stop")
        ).first()
    if row is None:
        raise NotFoundError(TEXTS["unknown_link"], code="unknown_link", field="token")
    return row[0], row[1], row[2], row[3]


def _advertiser_name(conn: Connection, advertiser_id: int) -> str:
    return str(
        conn.execute(
            select(advertiser_rows.c.name).where(advertiser_rows.c.id == advertiser_id)
        ).scalar_one()
    )


def show(ctx: Context, *, token: str) -> StopLink:
    """The opt-out page of `token` (NotFoundError: unknown or gone). Changes nothing."""
    codes = LinkCodes.for_keys(ctx.keys)
    with reader(ctx.engine) as conn:
        _, advertiser_id, _, used_at = _link(conn, codes, token)
        name = _advertiser_name(conn, advertiser_id)
    return StopLink(name, used_at, codes.form_value(token))


def opt_out(ctx: Context, *, token: str) -> StopLink:
    """Opt the number of `token`'s message out of its advertiser's messages, at once; again
    for a link used already: nothing more is recorded."""
    codes = LinkCodes.for_keys(ctx.keys)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        link_id, advertiser_id, contact_id, used_at = _link(conn, codes, token)
        claimed = conn.execute(
            update(message_links)
            .where(message_links.c.id == link_id, message_links.c.used_at.is_(None))
            .values(used_at=now)
        ).rowcount
        if claimed:
            advertiser = advertisers.by_ids(conn, [advertiser_id])[advertiser_id]
            e164 = conn.execute(
                select(contacts.c.e164).where(
                    contacts.c.advertiser_id == advertiser_id, contacts.c.id == contact_id
                )
            ).scalar_one_or_none()
            if e164 is not None:  # an erased contact's number is on the suppression list
                optouts.opt_out(
                    conn, ctx, advertiser, e164, OptOutSource.LINK, now, now, link=link_id
                )
            used_at = now
        name = _advertiser_name(conn, advertiser_id)
    return StopLink(name, used_at, codes.form_value(token))
