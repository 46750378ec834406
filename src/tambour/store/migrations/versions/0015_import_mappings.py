"""import mappings: what an advertiser said the columns of its contact files mean

Revision ID: 0015
Revises: 0014

- `import_mappings`: per advertiser and folded header, a canonical column, `ignore` or `field`
  (a personalization field), as chosen on the web app's mapping page; shown again as the
  default for the next file with the same header.
- `ix_replies_advertiser_id_e164`: a contact's replies by its number (its page, its proof).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_mappings",
        sa.Column("id", ID, nullable=False),
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("header_key", sa.String(200), nullable=False),
        sa.Column("header", sa.String(200), nullable=False),
        sa.Column("meaning", sa.String(40), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"],
            ["advertisers.id"],
            name=op.f("fk_import_mappings_advertiser_id_advertisers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mappings")),
        sa.UniqueConstraint(
            "advertiser_id", "header_key", name=op.f("uq_import_mappings_advertiser_id_header_key")
        ),
    )
    op.create_index("ix_replies_advertiser_id_e164", "replies", ["advertiser_id", "e164"])


def downgrade() -> None:
    op.drop_index("ix_replies_advertiser_id_e164", table_name="replies")
    op.drop_table("import_mappings")
