"""retention: when the retention run removed a campaign's message texts (issue 18)

Revision ID: 0020
Revises: 0019

- `campaigns.texts_erased_at`: the run removes the texts of a campaign's messages and plan rows
  (personalised: they may name the person) once the campaign ended `TAMBOUR_TEXTS_RETENTION_DAYS`
  ago; this says it did, so that no later run reads the campaign again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("texts_erased_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("texts_erased_at")
