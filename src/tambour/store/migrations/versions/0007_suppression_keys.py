"""suppression keys out of the database

Revision ID: 0007
Revises: 0006

Each advertiser's suppression-list hashes were keyed by a random key stored in
`advertisers.hash_key`: a copy of the database let anyone test numbers against the erased
ones. The key now comes from the installation's secret key, kept outside the database
(tambour/keys.py, services/advertisers.suppression_key). A database made before cannot have its
hashes made again (an erased number exists only as its hash), so each legacy key is kept,
XOR-ed with a pad drawn from the installation key: the same key as before for Tambour, no key
at all for whoever holds the database alone. The installation key's id is recorded, and every
later command checks it (services/installation.py).

The key is the one `tambour db upgrade` runs with (alembic attributes "keys"), else the
process's (TAMBOUR_SECRET_KEY, TAMBOUR_KEY_FILE or ~/.config/tambour/secret.key). It is needed
only when there are advertisers. The downgrade stores each key in clear again (needs the key).

What the upgrade cannot reach: a copy or backup of the database, or of its write-ahead log,
made before it still holds the keys in clear. store/schema.upgrade compacts the database after
this step (SQLite VACUUM, PostgreSQL VACUUM FULL advertisers) so that the old values do not
linger in free pages of the live database.
"""

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_PURPOSE = "suppression"  # services/advertisers.SUPPRESSION_PURPOSE, frozen here
_KEY_ID = "key_id"  # services/installation.KEY_ID


def _keys() -> Any:
    given = context.config.attributes.get("keys")
    if given is not None:
        return given
    from tambour.keys import current

    return current()


def _pad(keys: Any, advertiser_id: int, value: bytes) -> bytes:
    return bytes(keys.wrap(_PURPOSE, b"advertiser:%d" % advertiser_id, value))


def _advertisers() -> list[Any]:
    return list(op.get_bind().execute(sa.text("SELECT id, hash_key FROM advertisers ORDER BY id")))


def _recorded_key_id(keys: Any) -> str | None:
    """The id the database records, checked against `keys` (None: none recorded yet)."""
    recorded: str | None = (
        op.get_bind()
        .execute(sa.text("SELECT value FROM installation WHERE name = :name"), {"name": _KEY_ID})
        .scalar()
    )
    if recorded is not None and recorded != keys.key_id:
        raise RuntimeError(
            f"this database's secret key is {recorded}, the key given is {keys.key_id}: "
            "migrate with the database's own key"
        )
    return recorded


def upgrade() -> None:
    bind = op.get_bind()
    rows = _advertisers()
    if not rows:
        return
    keys = _keys()
    recorded = _recorded_key_id(keys)
    for row in rows:
        legacy = bytes(row.hash_key) if row.hash_key is not None else None
        bind.execute(
            sa.text("UPDATE advertisers SET hash_key = :stored WHERE id = :id"),
            # A row without a key (none should be) gets the installation's, stored as None.
            {"stored": _pad(keys, row.id, legacy) if legacy else None, "id": row.id},
        )
    if recorded is None:
        bind.execute(
            sa.text("INSERT INTO installation (name, value) VALUES (:name, :value)"),
            {"name": _KEY_ID, "value": keys.key_id},
        )
    context.config.attributes["compact"] = True  # store/schema.upgrade: drop the old pages


def downgrade() -> None:
    bind = op.get_bind()
    rows = _advertisers()
    if not rows:
        return
    keys = _keys()
    _recorded_key_id(keys)
    for row in rows:
        stored = bytes(row.hash_key) if row.hash_key is not None else bytes(32)
        bind.execute(
            sa.text("UPDATE advertisers SET hash_key = :key WHERE id = :id"),
            {"key": _pad(keys, row.id, stored), "id": row.id},
        )
