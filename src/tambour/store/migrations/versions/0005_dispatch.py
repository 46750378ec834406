"""dispatch: what the workers record of each message, its parts and early receipts

Revision ID: 0005
Revises: 0004

The outbox gains why a message was held, cancelled or expired (`reason`, a rules.md code), the
carrier's error code, the validity given to the carrier, and when it left and when its fate was
known; `ix_outbox_submitted` finds messages still waiting for a receipt. `outbox_parts` keeps
the carrier's id of every part, which receipts name; `early_receipts` keeps receipts that came
before their part was recorded.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COLUMNS = (
    ("reason", sa.String(length=40)),
    ("error_code", sa.Integer()),
    ("valid_until", sa.DateTime(timezone=True)),
    ("submitted_at", sa.DateTime(timezone=True)),
    ("done_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    submitted = sa.text("state = 'submitted'")
    op.create_index(
        "ix_outbox_submitted",
        "outbox",
        ["submitted_at"],
        postgresql_where=submitted,
        sqlite_where=submitted,
    )
    op.create_table(
        "outbox_parts",
        sa.Column("outbox_id", Id, autoincrement=False, nullable=False),
        sa.Column("part", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("of_parts", sa.Integer(), nullable=False),
        sa.Column("advertiser_id", Id, nullable=False),
        sa.Column("carrier_key", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("outbox_id", "part", name=op.f("pk_outbox_parts")),
    )
    op.create_index("ix_outbox_parts_carrier_key", "outbox_parts", ["carrier_key"])
    op.create_table(
        "early_receipts",
        sa.Column("id", Id, nullable=False),
        sa.Column("receipt", sa.BigInteger(), nullable=False),
        sa.Column("carrier_key", sa.String(length=72), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_receipts")),
    )
    op.create_index("ix_early_receipts_carrier_key", "early_receipts", ["carrier_key"])


def downgrade() -> None:
    op.drop_index("ix_early_receipts_carrier_key", table_name="early_receipts")
    op.drop_table("early_receipts")
    op.drop_index("ix_outbox_parts_carrier_key", table_name="outbox_parts")
    op.drop_table("outbox_parts")
    op.drop_index("ix_outbox_submitted", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
