"""data requests: the register of what people asked of an advertiser about their data

Revision ID: 0017
Revises: 0016

- `data_requests`: per advertiser, each access, portability, rectification, erasure or
  objection request: who asked, by what means, received on, due by (one month, or as
  extended), answered when and by whom, with what outcome (services/data_requests.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("e164", sa.String(16)),
        sa.Column("contact_id", ID),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("means", sa.String(16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_by", sa.Date(), nullable=False),
        sa.Column("extension_reason", sa.String(500)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(1000)),
        sa.Column("answered_at", TIME),
        sa.Column("answered_by", sa.String(100)),
        sa.Column("outcome", sa.JSON()),
        sa.Column("reminded_on", sa.Date()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"],
            ["advertisers.id"],
            name=op.f("fk_data_requests_advertiser_id_advertisers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_requests")),
    )
    op.create_index(
        "ix_data_requests_advertiser_id_status_due_by",
        "data_requests",
        ["advertiser_id", "status", "due_by"],
    )


def downgrade() -> None:
    op.drop_index("ix_data_requests_advertiser_id_status_due_by", table_name="data_requests")
    op.drop_table("data_requests")
