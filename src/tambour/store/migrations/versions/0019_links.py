"""links: the one-click opt-out link and short links with their clicks (issue 17)

Revision ID: 0019
Revises: 0018

- `advertisers.stop_link`: every prospection message of the advertiser ends with its own
  one-click opt-out link.
- `message_links`: one row per link of a planned message (`stop`: its opt-out link; `go`: a
  short link to `target`), its id the code in the URL through a keyed permutation.
- `link_counter`: the next id `message_links` hands out (plans reserve them in blocks).
- `link_clicks`: short links followed, with the message, time, truncated IP, user agent and,
  for a bot, prefetch or scanner, why it is not counted; erased after the retention period.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "advertisers",
        sa.Column("stop_link", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_table(
        "message_links",
        sa.Column("id", ID, nullable=False, autoincrement=False),
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target", sa.Text()),
        sa.Column("territory", sa.String(32)),
        sa.Column("variant", sa.String(40)),
        sa.Column("used_at", TIME),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_links")),
    )
    op.create_index(
        "ix_message_links_campaign_id_generation", "message_links", ["campaign_id", "generation"]
    )
    op.create_table(
        "link_counter",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("next_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_counter")),
    )
    op.execute("INSERT INTO link_counter (id, next_id) VALUES (1, 1)")
    op.create_table(
        "link_clicks",
        sa.Column("id", ID, nullable=False),
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("link_id", ID, nullable=False),
        sa.Column("outbox_id", ID),
        sa.Column("variant", sa.String(40)),
        sa.Column("territory", sa.String(32)),
        sa.Column("clicked_at", TIME, nullable=False),
        sa.Column("ip", sa.String(48)),
        sa.Column("user_agent", sa.String(300)),
        sa.Column("bot", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_clicks")),
    )
    op.create_index(
        "ix_link_clicks_campaign_id_clicked_at", "link_clicks", ["campaign_id", "clicked_at"]
    )
    op.create_index("ix_link_clicks_clicked_at", "link_clicks", ["clicked_at"])
    op.create_index("ix_link_clicks_advertiser_id_id", "link_clicks", ["advertiser_id", "id"])


def downgrade() -> None:
    op.drop_table("link_clicks")
    op.drop_table("link_counter")
    op.drop_table("message_links")
    with op.batch_alter_table("advertisers") as batch:
        batch.drop_column("stop_link")
