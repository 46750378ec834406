"""messages: a message sent by itself (the API's POST /messages) is a campaign of one recipient

Revision ID: 0013
Revises: 0012

One message is decided by the same core as a campaign, and proved the same way: its own
campaign row (`kind` 'message'), one sealed plan row and one outbox row. `kind` keeps them out of
the campaign lists; `label` is the grouping the integrator gave (its `campaign`); `reference` a
transactional message's transaction, as the request named it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="campaign"))
        batch.add_column(sa.Column("label", sa.String(100), nullable=True))
        batch.add_column(sa.Column("reference", sa.String(200), nullable=True))
    op.create_index(
        "ix_campaigns_advertiser_id_kind_id", "campaigns", ["advertiser_id", "kind", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_campaigns_advertiser_id_kind_id", table_name="campaigns")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("reference")
        batch.drop_column("label")
        batch.drop_column("kind")
