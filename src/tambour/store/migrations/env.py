"""Alembic environment: the engine comes from the caller (tambour.store.schema)."""

from alembic import context

from tambour.store.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by building a copy and dropping the original: with foreign keys
        # on, dropping advertisers while sender_ids or campaigns rows refer to it fails (and
        # deferring the checks does not help: the copy's rows do not count for them). They are
        # switched off, outside any transaction (SQLite ignores the pragma inside one), and
        # every reference is checked before the migrations commit.
        raw = connection.connection.driver_connection
        raw.execute("PRAGMA foreign_keys = OFF")
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration leaves broken references: {broken[:5]}")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys = ON")
