"""processing record: the controller's contact details and data-protection officer

Revision ID: 0021
Revises: 0020

The record of processing activities (GDPR Art. 30(1)(a)) names the controller with its contact
details and, when it has one, its data-protection officer. Each is optional: the record says
what is missing rather than invent it.

- `advertisers.address`: the controller's postal address;
- `advertisers.contact_email`: where the controller is reached about personal data;
- `advertisers.dpo_name`, `advertisers.dpo_email`: its data-protection officer.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = (
    ("address", 300),
    ("contact_email", 254),
    ("dpo_name", 200),
    ("dpo_email", 254),
)


def upgrade() -> None:
    with op.batch_alter_table("advertisers") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length)))


def downgrade() -> None:
    with op.batch_alter_table("advertisers") as batch:
        for name, _length in reversed(COLUMNS):
            batch.drop_column(name)
