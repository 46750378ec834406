"""Facts about this installation kept in the database: the id of its secret key (never the key:
tambour/keys.py), checked by every command, and the purpose keys a key rotation kept, stored
wrapped under the current key.

A database is tied to one key from its first use. A command started with another key (a
missing TAMBOUR_SECRET_KEY, another machine's key file) stops with a clear message instead of
reading every advertiser's suppression key wrong and missing the opt-outs hashed under it.
"""

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tambour.keys import Keys
from tambour.services.context import ConflictError
from tambour.store.engine import reader
from tambour.store.tables import installation

KEY_ID = "key_id"
_KEPT = "kept:"  # + purpose: a purpose key kept by a rotation, wrapped under the current key
_KEEP_PURPOSE = "kept"


class KeyMismatchError(ConflictError):
    """The database was made with another secret key than the one this process has."""


def mismatch(recorded: str, keys: Keys) -> KeyMismatchError:
    return KeyMismatchError(
        f"this database's secret key is {recorded}, but the key read from {keys.origin} is "
        f"{keys.key_id}: run with the database's own key (TAMBOUR_SECRET_KEY, TAMBOUR_KEY_FILE "
        "or ~/.config/tambour/secret.key), or its opt-outs would not be recognized",
        code="secret_key_mismatch",
    )


def recorded_key_id(conn: Connection, *, lock: bool = False) -> str | None:
    """The id the database records; `lock`: held until the transaction ends (PostgreSQL;
    SQLite's writers are one at a time anyway), so that a key rotation and a writer that
    wraps a new key under the current one never cross."""
    query = select(installation.c.value).where(installation.c.name == KEY_ID)
    return conn.execute(query.with_for_update() if lock else query).scalar()


def check_key(conn: Connection, keys: Keys, *, lock: bool = False) -> None:
    """Raise KeyMismatchError when the database records another key than `keys`."""
    recorded = recorded_key_id(conn, lock=lock)
    if recorded is not None and recorded != keys.key_id:
        raise mismatch(recorded, keys)


def adopt_key(conn: Connection, keys: Keys) -> None:
    """Record `keys` as the database's key on first use; refuse another key afterwards.
    Inside the caller's transaction, which keeps the record locked (a rotation waits)."""
    recorded = recorded_key_id(conn, lock=True)
    if recorded is None:
        conn.execute(insert(installation), {"name": KEY_ID, "value": keys.key_id})
    elif recorded != keys.key_id:
        raise mismatch(recorded, keys)


def with_kept(conn: Connection, keys: Keys) -> Keys:
    """`keys` with the purpose keys the database keeps (after a rotation), once checked."""
    check_key(conn, keys)
    kept = {
        name.removeprefix(_KEPT): _wrapped(keys, name, bytes.fromhex(value))
        for name, value in conn.execute(
            select(installation.c.name, installation.c.value).where(
                installation.c.name.startswith(_KEPT)
            )
        )
    }
    return keys.with_kept(kept) if kept else keys


def ensure_key(engine: Engine, keys: Keys) -> Keys:
    """For an entry point: `keys` checked against the database's (recorded on its first use:
    a second writer racing it fails on the primary key, and is checked again), with the
    purpose keys the database keeps."""
    with reader(engine) as conn:
        recorded = recorded_key_id(conn)
        if recorded is not None:
            return with_kept(conn, keys)
    try:
        with engine.begin() as conn:
            adopt_key(conn, keys)
    except IntegrityError:
        pass
    with reader(engine) as conn:
        return with_kept(conn, keys)


def keys_if_any(engine: Engine, keys: Keys) -> Keys:
    """`ensure_key` without recording, on a database that may predate the installation
    table (before a migration): `keys` when it has none."""
    try:
        with reader(engine) as conn:
            return with_kept(conn, keys)
    except DBAPIError:  # no installation table yet: nothing recorded
        return keys


def replace_key(conn: Connection, old: Keys, new: Keys, keep: tuple[str, ...]) -> None:
    """Record `new` as the database's key in place of `old` (a rotation, in its transaction),
    keeping the keys of the purposes `keep` (and of those kept already) as they were under
    `old`: stored wrapped under `new`."""
    check_key(conn, old, lock=True)
    purposes = sorted({*keep, *(name for name, _ in old.kept)})
    conn.execute(delete(installation).where(installation.c.name.startswith(_KEPT)))
    if purposes:
        conn.execute(
            insert(installation),
            [
                {"name": _KEPT + p, "value": _wrapped(new, _KEPT + p, old.derive(p)).hex()}
                for p in purposes
            ],
        )
    done = conn.execute(
        update(installation).where(installation.c.name == KEY_ID).values(value=new.key_id)
    )
    if done.rowcount == 0:
        conn.execute(insert(installation), {"name": KEY_ID, "value": new.key_id})


def _wrapped(keys: Keys, name: str, value: bytes) -> bytes:
    return keys.wrap(_KEEP_PURPOSE, name.encode(), value)
