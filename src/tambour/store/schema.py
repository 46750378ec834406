"""Schema version: `tambour db upgrade` runs the Alembic migrations; every other command refuses
to run on a database whose schema is behind (or ahead: written by a newer Tambour)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaMismatchError(RuntimeError):
    """The database's schema is not the one this version of Tambour knows."""


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to the newest schema; returns (before, after) revisions."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, head_revision()


def ensure_current(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
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
