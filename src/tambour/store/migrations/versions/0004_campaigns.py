"""campaigns, their plans and the outbox

Revision ID: 0004
Revises: 0003

A campaign's plan is one row per targeted contact (rules.md section 3): the decision, its basis
or reason, the send time and the exact text. Plans are written under a generation number and
made current in one step. Launch copies a plan's `send` rows into the outbox, which the
dispatcher's workers claim (issue 5): due rows through `ix_outbox_due`, expired leases through
`ix_outbox_leased`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", Id, nullable=False),
        sa.Column("advertiser_id", Id, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("nature", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("professions", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("send_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("generations", sa.Integer(), nullable=False),
        sa.Column("plan_generation", sa.Integer(), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan_summary", sa.JSON(), nullable=True),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["advertiser_id"],
            ["advertisers.id"],
            name=op.f("fk_campaigns_advertiser_id_advertisers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("advertiser_id", "name", name=op.f("uq_campaigns_advertiser_id_name")),
    )
    op.create_table(
        "plan_rows",
        sa.Column("campaign_id", Id, autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("contact_id", Id, autoincrement=False, nullable=False),
        sa.Column("advertiser_id", Id, nullable=False),
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("deferral", sa.String(length=16), nullable=True),
        sa.Column("territory", sa.String(length=32), nullable=True),
        sa.Column("timezone", sa.String(length=40), nullable=True),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("encoding", sa.String(length=8), nullable=True),
        sa.Column("ucs2_chars", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("seen_profile", sa.LargeBinary(length=16), nullable=False),
        sa.Column("seen_evidence", Id, nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign_id", "generation", "contact_id", name=op.f("pk_plan_rows")
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", Id, nullable=False),
        sa.Column("advertiser_id", Id, nullable=False),
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("contact_id", Id, nullable=False),
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "campaign_id", "contact_id", name=op.f("uq_outbox_campaign_id_contact_id")
        ),
    )
    op.create_index("ix_outbox_campaign_id_state", "outbox", ["campaign_id", "state"])
    due = sa.text("state = 'queued'")
    op.create_index("ix_outbox_due", "outbox", ["send_at"], postgresql_where=due, sqlite_where=due)
    leased = sa.text("state = 'submitting'")
    op.create_index(
        "ix_outbox_leased", "outbox", ["lease_until"], postgresql_where=leased, sqlite_where=leased
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_leased", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_index("ix_outbox_campaign_id_state", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("plan_rows")
    op.drop_table("campaigns")
