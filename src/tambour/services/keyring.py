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

from sqlalchemy import select, update

from tambour.keys import Keys
from tambour.services import audit, installation
from tambour.services.advertisers import stored_key, suppression_key
from tambour.services.context import Context, ServiceError
from tambour.services.seals import SEAL_PURPOSE
from tambour.store.tables import advertisers


@dataclass(frozen=True, slots=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    advertisers: int  # whose suppression keys are now under the new key


def rotate(ctx: Context, new: Keys) -> Rotation:
    """Put the database under `new` in place of `ctx.keys` (checked to be its key)."""
    old = ctx.keys
    if new.key_id == old.key_id:
        raise ServiceError(f"the new key is the current one ({old.key_id})")
    now = ctx.now()
    with ctx.engine.begin() as conn:
        # The seals cannot be made again without checking each row first: their key is kept.
        installation.replace_key(conn, old, new, keep=(SEAL_PURPOSE,))
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
