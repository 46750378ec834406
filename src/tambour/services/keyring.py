"""Rotating the installation's secret key (tambour/keys.py).

The suppression-list hashes cannot be made again (an erased number exists only as its hash),
so a rotation keeps every advertiser's suppression key and changes what protects it: each key,
random, is stored again XOR-ed under the new installation key. The seal key (services/seals.py)
is kept likewise, stored wrapped in the installation table: the seals stay valid. The database
records the new key's id; all in one transaction. From then on the old key opens nothing of
the live database; it still opens the copies and backups made before, and whoever held both
the old key and such a copy knows the suppression and seal keys, which a rotation cannot change.
"""

from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from tambour.keys import Keys
from tambour.services import audit, installation, users, webhooks
from tambour.services.advertisers import stored_key, suppression_key
from tambour.services.context import Context, InvalidInputError
from tambour.services.link_codes import LINK_PURPOSE
from tambour.services.seals import SEAL_PURPOSE
from tambour.services.views import View
from tambour.store.engine import reader
from tambour.store.tables import advertisers

# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {"same_key": "the new key is the current one ({key_id})"}


@dataclass(frozen=True, slots=True)
class Rotation(View):
    old_key_id: str
    new_key_id: str
    advertisers: int  # whose suppression keys are now under the new key


def rotate(ctx: Context, new: Keys) -> Rotation:
    """Put the database under `new` in place of `ctx.keys` (checked to be its key)."""
    old = ctx.keys
    if new.key_id == old.key_id:
        said = TEXTS["same_key"].format(key_id=old.key_id)
        raise InvalidInputError("new", "same_key", said)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        # The seals cannot be made again without checking each row first: their key is kept.
        # So are the link codes: links already sent in messages keep working.
        installation.replace_key(conn, old, new, keep=(SEAL_PURPOSE, LINK_PURPOSE))
        webhooks.rewrap_secrets(conn, old, new)  # each endpoint's signing secrets
        users.rewrap_totp_secrets(conn, old, new)  # second factors of the web app
        rows = conn.execute(select(advertisers.c.id, advertisers.c.hash_key)).all()
        for advertiser_id, stored in rows:
            key = suppression_key(old, advertiser_id, stored)
            conn.execute(
                update(advertisers)
                .where(advertisers.c.id == advertiser_id)
                .values(hash_key=stored_key(new, advertiser_id, key))
            )
        audit.append(
            conn,
            actor=ctx.actor,
            action="keys.rotate",
            details={"from": old.key_id, "to": new.key_id, "advertisers": len(rows)},
            at=now,
        )
    return Rotation(old.key_id, new.key_id, len(rows))


def database_key_id(ctx: Context) -> str | None:
    """The id of the key the database records; None when it records none (a database not
    used yet, or one whose schema predates the record)."""
    try:
        with reader(ctx.engine) as conn:
            return installation.recorded_key_id(conn)
    except DBAPIError:  # no installation table yet
        return None
