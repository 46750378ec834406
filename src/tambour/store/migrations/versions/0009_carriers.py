"""carrier-grade dispatch: receipts matched per carrier, to the most recent part

Revision ID: 0009
Revises: 0008

- `outbox_parts.carrier` and `.submitted_at`: carriers reuse message ids (after a restart, or
  when their counter wraps), so a receipt names the most recent part with its id at its
  carrier, not whichever the worker remembered. Parts recorded before have carrier '' (the one
  `[transport]`) and no time: older than any part recorded from now on.
- `outbox.carrier`: which carrier took a message (status and metrics by carrier).
- `early_receipts.carrier`, `.recipient`, `.sender`: a receipt that came before its part, or
  for a message a dead worker left `unknown`, keeps the addresses that tell which message it
  proves was taken (indexed by recipient); `ix_outbox_unknown` finds the messages in doubt.
- `workers`: the workers alive, by their heartbeat: an account's `account_tps` is shared among
  those sending through it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("carrier", sa.String(40), nullable=True))
    op.drop_index("ix_outbox_parts_carrier_key", table_name="outbox_parts")
    with op.batch_alter_table("outbox_parts") as batch:
        batch.add_column(sa.Column("carrier", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_parts_carrier_key", "outbox_parts", ["carrier", "carrier_key"])
    op.drop_index("ix_early_receipts_carrier_key", table_name="early_receipts")
    with op.batch_alter_table("early_receipts") as batch:
        batch.add_column(sa.Column("carrier", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("recipient", sa.String(21), nullable=True))
        batch.add_column(sa.Column("sender", sa.String(21), nullable=True))
    op.create_index("ix_early_receipts_carrier_key", "early_receipts", ["carrier", "carrier_key"])
    op.create_index("ix_early_receipts_recipient", "early_receipts", ["recipient"])
    op.create_table(
        "workers",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("carriers", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_workers")),
    )
    unknown = sa.text("state = 'unknown'")
    op.create_index(
        "ix_outbox_unknown",
        "outbox",
        ["done_at"],
        postgresql_where=unknown,
        sqlite_where=unknown,
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_index("ix_outbox_unknown", table_name="outbox")
    op.drop_index("ix_early_receipts_recipient", table_name="early_receipts")
    op.drop_index("ix_early_receipts_carrier_key", table_name="early_receipts")
    with op.batch_alter_table("early_receipts") as batch:
        batch.drop_column("sender")
        batch.drop_column("recipient")
        batch.drop_column("carrier")
    op.create_index("ix_early_receipts_carrier_key", "early_receipts", ["carrier_key"])
    op.drop_index("ix_outbox_parts_carrier_key", table_name="outbox_parts")
    with op.batch_alter_table("outbox_parts") as batch:
        batch.drop_column("submitted_at")
        batch.drop_column("carrier")
    op.create_index("ix_outbox_parts_carrier_key", "outbox_parts", ["carrier_key"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("carrier")
