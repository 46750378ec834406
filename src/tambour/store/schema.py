"""Schema version: `tambour db upgrade` runs the Alembic migrations; every other command refuses
to run on a database whose schema is behind (or ahead: written by a newer Tambour)."""

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

    from tambour.keys import Keys

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic is imported only to migrate or to explain a mismatch: it costs every command a fifth
# of a second to load, and a command on a current schema needs none of it.
_REVISION = re.compile(r'^revision = "(\w+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision = "(\w+)"', re.MULTILINE)


class SchemaMismatchError(RuntimeError):
    """The database's schema is not the one this version of Tambour knows."""


def alembic_config(engine: Engine, keys: "Keys | None" = None) -> "Config":
    """The migrations' configuration; `keys`, the installation's secret key, for the steps
    that need it (0007 keeps legacy suppression keys under it), else the process's."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    if keys is not None:
        config.attributes["keys"] = keys
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


@cache
def quick_head() -> str | None:
    """The newest revision, read from the migration files without Alembic: the one no other
    names as its `down_revision` (None if that is not exactly one; tested against Alembic)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:  # no such table: an empty database
            return None


def upgrade(engine: Engine, keys: "Keys | None" = None) -> tuple[str | None, str]:
    """Migrate to the newest schema; returns (before, after) revisions."""
    from alembic import command

    before = current_revision(engine)
    config = alembic_config(engine, keys)
    command.upgrade(config, "head")
    if config.attributes.get("compact"):
        compact(engine)
    return before, head_revision()


def compact(engine: Engine) -> None:
    """Rewrite the database so that values a migration replaced (legacy keys) do not linger
    in its free pages: SQLite VACUUM, then the write-ahead log emptied; PostgreSQL VACUUM FULL
    of the advertisers, the one table concerned (dead row versions are left by UPDATE)."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if engine.dialect.name == "sqlite":
            raw.execute("VACUUM")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            raw.commit()
            raw.autocommit = True
            try:
                raw.execute("VACUUM FULL advertisers")
            finally:
                raw.autocommit = False


def ensure_current(engine: Engine) -> None:
    current = current_revision(engine)
    if current is not None and current == quick_head():
        return
    from alembic.script import ScriptDirectory

    head = head_revision()
    if current == head:
        return
    script = ScriptDirectory(str(MIGRATIONS))
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaMismatchError(
            f"the database schema ({current}) is newer than this Tambour knows ({head}): "
            "upgrade Tambour"
        )
    state = "empty" if current is None else f"at {current}"
    raise SchemaMismatchError(
        f"the database schema is {state}, this Tambour needs {head}: run `tambour db upgrade`"
    )
