"""ab_tests: campaigns with two to four variants of their text, a test share and a winner

Revision ID: 0023
Revises: 0022

- `campaigns.variants`: the texts of variants B, C and D (variant A is `campaigns.text`);
  None: no A/B test. `test_share` (percent of the audience sent a variant at random),
  `winner_by` (`clicks` or `optouts`), `test_minutes` (how long the test runs once its first
  message is due), `test_ends_at` (set at launch), and, once chosen, `winner`, `winner_at` and
  `winner_figures`; `rest_released_at` when the rest's messages all have the winner's text.
- `plan_rows.variant`, `plan_rows.ab_group` (`test` or `rest`): which text a recipient gets
  and whether it is part of the test. The rest's rows have no text until the winner is chosen;
  then they are written with the winner's text and sealed again (services/ab_tests.py).
- `outbox.variant`: the variant of each message of the test (the rest's have none), indexed
  for the test's figures. The rest's messages wait in the outbox state `held` (never claimed)
  until the winner is chosen.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
VARIANT = sa.text("variant IS NOT NULL")


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("variants", sa.JSON()))
    op.add_column("campaigns", sa.Column("test_share", sa.Integer()))
    op.add_column("campaigns", sa.Column("winner_by", sa.String(8)))
    op.add_column("campaigns", sa.Column("test_minutes", sa.Integer()))
    op.add_column("campaigns", sa.Column("winner", sa.String(1)))
    op.add_column("campaigns", sa.Column("winner_at", TIME))
    op.add_column("campaigns", sa.Column("winner_figures", sa.JSON()))
    op.add_column("campaigns", sa.Column("test_ends_at", TIME))
    op.add_column("campaigns", sa.Column("rest_released_at", TIME))
    op.add_column("plan_rows", sa.Column("variant", sa.String(1)))
    op.add_column("plan_rows", sa.Column("ab_group", sa.String(4)))
    op.add_column("outbox", sa.Column("variant", sa.String(1)))
    op.create_index(
        "ix_outbox_campaign_id_variant",
        "outbox",
        ["campaign_id", "variant"],
        postgresql_where=VARIANT,
        sqlite_where=VARIANT,
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL): a rebuilt outbox would lose the
    # message_minutes triggers of migration 0016.
    op.execute("UPDATE outbox SET state = 'cancelled' WHERE state = 'held'")
    op.drop_index("ix_outbox_campaign_id_variant", table_name="outbox")
    for table, column in (
        ("outbox", "variant"), ("plan_rows", "ab_group"), ("plan_rows", "variant"),
        ("campaigns", "rest_released_at"), ("campaigns", "test_ends_at"),
        ("campaigns", "winner_figures"), ("campaigns", "winner_at"), ("campaigns", "winner"),
        ("campaigns", "test_minutes"), ("campaigns", "winner_by"), ("campaigns", "test_share"),
        ("campaigns", "variants"),
    ):  # fmt: skip
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
