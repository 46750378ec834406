"""message minutes: messages sent, delivered and failed per campaign and minute, kept by triggers

Revision ID: 0016
Revises: 0015

The dashboard and a live campaign's chart counted these by reading every outbox row of the
campaigns concerned: seconds on a campaign of a million messages. `message_minutes` holds the
same counts, kept exact by triggers on `outbox` whatever writes it (a worker, an operator's
decision, plain SQL), so they read a row per campaign and minute that saw messages leave or
settle:

- `sent`: the messages in a sent state (submitted, delivered, failed, expired) by the minute of
  their `submitted_at`;
- `delivered`, `failed`: the messages in that state by the minute of their `done_at`.

A row's contribution is added when it is written and taken away when it is changed or
deleted, so a change of state, of instant or of campaign moves it. Minutes are whole minutes
since 1970 in UTC. `shard`: on PostgreSQL the server process (pg_backend_pid) of the
transaction that wrote, so two workers never wait for each other's counts (nor deadlock on
them); readers add the shards up. SQLite has one writer at a time: shard 0.

PostgreSQL counts an UPDATE statement once, from its transition tables (a worker's batch of
settled messages is one upsert per campaign and minute, not one per message); INSERT and DELETE
count row by row, only for rows in a counted state (a launch's queued rows cost nothing).
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SENT = "('submitted', 'delivered', 'failed', 'expired')"
SETTLED = "('delivered', 'failed')"


def _contributions(row: str, sign: str, minute: str, source: str = "") -> str:
    """SELECT (advertiser_id, minute, campaign_id, sent, delivered, failed) of the rows `row`
    (NEW, OLD, or a transition table's alias), counted `sign` (1 or -1)."""
    return (
        f"SELECT {row}.advertiser_id AS advertiser_id, {minute.format(f'{row}.submitted_at')}"
        f" AS minute, {row}.campaign_id AS campaign_id, {sign} AS sent, 0 AS delivered,"
        f" 0 AS failed {source} WHERE {row}.state IN {SENT} AND {row}.submitted_at IS NOT NULL"
        f" UNION ALL SELECT {row}.advertiser_id, {minute.format(f'{row}.done_at')},"
        f" {row}.campaign_id, 0, {sign} * (CASE WHEN {row}.state = 'delivered' THEN 1 ELSE 0 END),"
        f" {sign} * (CASE WHEN {row}.state = 'failed' THEN 1 ELSE 0 END) {source}"
        f" WHERE {row}.state IN {SETTLED} AND {row}.done_at IS NOT NULL"
    )


def _upsert(contributions: list[str], shard: str, existing: str) -> str:
    """Add the contributions up by campaign and minute (those that cancel out write nothing), in
    one order (two transactions of one shard never lock the same rows in opposite orders)."""
    union = " UNION ALL ".join(contributions)
    return (
        "INSERT INTO message_minutes (advertiser_id, minute, campaign_id, shard, sent, delivered,"
        f" failed) SELECT advertiser_id, minute, campaign_id, {shard}, sum(sent), sum(delivered),"
        f" sum(failed) FROM ({union}) AS counted GROUP BY advertiser_id, minute, campaign_id"
        " HAVING sum(sent) <> 0 OR sum(delivered) <> 0 OR sum(failed) <> 0"
        " ORDER BY advertiser_id, minute, campaign_id"
        " ON CONFLICT (advertiser_id, minute, campaign_id, shard) DO UPDATE SET"
        f" sent = {existing}.sent + excluded.sent,"
        f" delivered = {existing}.delivered + excluded.delivered,"
        f" failed = {existing}.failed + excluded.failed"
    )


_SQLITE_MINUTE = "CAST(strftime('%s', {}) AS INTEGER) / 60"
_PG_MINUTE = "floor(extract(epoch FROM {}) / 60)::integer"
_PG_SHARD = "pg_backend_pid()"


def _sqlite_upgrade() -> list[str]:
    """Row triggers (SQLite has no other), one per count a write can change, each a single
    upsert whose WHEN is false for a write that leaves that count as it was: a claim fires
    none, a submit one, a receipt one."""

    def sent(row: str) -> str:
        return f"{row}.state IN {SENT} AND {row}.submitted_at IS NOT NULL"

    def settled(row: str) -> str:
        return f"{row}.state IN {SETTLED} AND {row}.done_at IS NOT NULL"

    same_owner = "old.campaign_id = new.campaign_id AND old.advertiser_id = new.advertiser_id"
    same_sent = f"{sent('old')} AND {sent('new')} AND old.submitted_at IS new.submitted_at"
    same_settled = (
        f"{settled('old')} AND {settled('new')} AND old.state IS new.state"
        " AND old.done_at IS new.done_at"
    )

    def add(row: str, sign: str, kind: str) -> str:
        at = _SQLITE_MINUTE.format(f"{row}.submitted_at" if kind == "sent" else f"{row}.done_at")
        counts = (
            f"{sign}, 0, 0"
            if kind == "sent"
            else f"0, {sign} * ({row}.state = 'delivered'), {sign} * ({row}.state = 'failed')"
        )
        return (
            "INSERT INTO message_minutes (advertiser_id, minute, campaign_id, shard, sent,"
            f" delivered, failed) VALUES ({row}.advertiser_id, {at}, {row}.campaign_id, 0,"
            f" {counts}) ON CONFLICT (advertiser_id, minute, campaign_id, shard) DO UPDATE SET"
            " sent = sent + excluded.sent, delivered = delivered + excluded.delivered,"
            " failed = failed + excluded.failed"
        )

    def trigger(name: str, event: str, when: str, row: str, sign: str, kind: str) -> str:
        return (
            f"CREATE TRIGGER outbox_minutes_{name} AFTER {event} ON outbox WHEN {when}"
            f" BEGIN {add(row, sign, kind)}; END"
        )

    update = "UPDATE OF state, submitted_at, done_at, campaign_id, advertiser_id"
    return [
        trigger("insert_sent", "INSERT", sent("new"), "new", "1", "sent"),
        trigger("insert_settled", "INSERT", settled("new"), "new", "1", "settled"),
        trigger(
            "update_sent_in", update,
            f"{sent('new')} AND NOT ({same_sent} AND {same_owner})", "new", "1", "sent",
        ),
        trigger(
            "update_sent_out", update,
            f"{sent('old')} AND NOT ({same_sent} AND {same_owner})", "old", "-1", "sent",
        ),
        trigger(
            "update_settled_in", update,
            f"{settled('new')} AND NOT ({same_settled} AND {same_owner})", "new", "1", "settled",
        ),
        trigger(
            "update_settled_out", update,
            f"{settled('old')} AND NOT ({same_settled} AND {same_owner})", "old", "-1",
            "settled",
        ),
        trigger("delete_sent", "DELETE", sent("old"), "old", "-1", "sent"),
        trigger("delete_settled", "DELETE", settled("old"), "old", "-1", "settled"),
    ]  # fmt: skip


SQLITE_TRIGGERS = (
    "insert_sent", "insert_settled", "update_sent_in", "update_sent_out", "update_settled_in",
    "update_settled_out", "delete_sent", "delete_settled",
)  # fmt: skip


def _pg_upgrade() -> list[str]:
    def function(name: str, rows: list[tuple[str, str, str]]) -> str:
        contributions = [_contributions(row, sign, _PG_MINUTE, src) for row, sign, src in rows]
        return (
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" {_upsert(contributions, _PG_SHARD, 'message_minutes')}; RETURN NULL; END $$"
        )

    return [
        function("outbox_minutes_of_row_inserted", [("NEW", "1", "")]),
        function("outbox_minutes_of_row_deleted", [("OLD", "-1", "")]),
        function(
            "outbox_minutes_of_update",
            [("n", "1", "FROM outbox_new AS n"), ("o", "-1", "FROM outbox_old AS o")],
        ),
        f"CREATE TRIGGER outbox_minutes_insert AFTER INSERT ON outbox FOR EACH ROW"
        f" WHEN (NEW.state IN {SENT}) EXECUTE FUNCTION outbox_minutes_of_row_inserted()",
        f"CREATE TRIGGER outbox_minutes_delete AFTER DELETE ON outbox FOR EACH ROW"
        f" WHEN (OLD.state IN {SENT}) EXECUTE FUNCTION outbox_minutes_of_row_deleted()",
        "CREATE TRIGGER outbox_minutes_update AFTER UPDATE ON outbox"
        " REFERENCING OLD TABLE AS outbox_old NEW TABLE AS outbox_new"
        " FOR EACH STATEMENT EXECUTE FUNCTION outbox_minutes_of_update()",
    ]


def _backfill(minute: str) -> str:
    """The counts of the rows already there (shard 0)."""
    contributions = [_contributions("outbox", "1", minute, "FROM outbox")]
    return _upsert(contributions, "0", "message_minutes")


def upgrade() -> None:
    op.create_table(
        "message_minutes",
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "advertiser_id", "minute", "campaign_id", "shard", name=op.f("pk_message_minutes")
        ),
    )
    op.create_index(
        "ix_message_minutes_campaign_id_minute", "message_minutes", ["campaign_id", "minute"]
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(_backfill(_PG_MINUTE if postgresql else _SQLITE_MINUTE))
    for statement in _pg_upgrade() if postgresql else _sqlite_upgrade():
        op.execute(statement)
    # The dashboard's opt-outs and complaints of a period: an advertiser's entries by date.
    op.create_index(
        "ix_suppressions_advertiser_id_suppressed_at",
        "suppressions",
        ["advertiser_id", "suppressed_at"],
    )
    # The audit page: an advertiser's entries, newest first.
    op.create_index("ix_audit_log_advertiser_id_seq", "audit_log", ["advertiser_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_advertiser_id_seq", table_name="audit_log")
    op.drop_index("ix_suppressions_advertiser_id_suppressed_at", table_name="suppressions")
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS outbox_minutes_{trigger} ON outbox")
        for function in ("row_inserted", "row_deleted", "update"):
            op.execute(f"DROP FUNCTION IF EXISTS outbox_minutes_of_{function}()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS outbox_minutes_{trigger}")
    op.drop_index("ix_message_minutes_campaign_id_minute", table_name="message_minutes")
    op.drop_table("message_minutes")
