"""audit log append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)

Revision ID: 0002
Revises: 0001

Both databases raise an integrity error ("audit_log is append-only") on a change. Whoever may
drop a trigger (a PostgreSQL superuser, the owner of the SQLite file) can still rewrite the log:
the hash chain and the anchor kept outside the database (services/audit.py) detect that.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PG_UPGRADE = [
    # restrict_violation (23001): drivers report it as an IntegrityError, like SQLite's ABORT.
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
]
_PG_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
]

_SQLITE_UPGRADE = [
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
]
_SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS audit_log_no_update",
]


def _run(postgresql: list[str], sqlite: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"no append-only triggers for {dialect}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(_PG_UPGRADE, _SQLITE_UPGRADE)


def downgrade() -> None:
    _run(_PG_DOWNGRADE, _SQLITE_DOWNGRADE)
