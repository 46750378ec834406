"""complaints: 33700 spam reports, matched to the message sent, and campaigns paused for them

Revision ID: 0022
Revises: 0021

- `complaint_reports`: each report from the 33700 platform (the number by its keyed hash once
  the advertiser is known, the sender, an excerpt, when it was reported), matched to the
  message it is about (`outbox_id`, `campaign_id`) or kept unmatched; its `fingerprint` makes
  a report imported twice count once (services/complaints.py).
- `campaigns.paused_at`: a launched campaign paused because its advertiser's complaint rate
  crossed the threshold; its queued messages wait in the outbox state `paused` (never
  claimed) until the operator resumes it.
- `advertisers.complaints_pause_per_1000`: the advertiser's own threshold (None: the
  operator's TAMBOUR_COMPLAINTS_PAUSE_PER_1000).
- `ix_outbox_sent_contact`: the messages that left, by recipient and time (a report is
  matched through it); only sent rows are in it, so a launch writes nothing more.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
SENT = sa.text("submitted_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "complaint_reports",
        sa.Column("id", ID, nullable=False),
        sa.Column("advertiser_id", ID),
        sa.Column("fingerprint", sa.LargeBinary(32), nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(32)),
        sa.Column("e164", sa.String(16)),
        sa.Column("excerpt", sa.String(320)),
        sa.Column("reported_at", TIME, nullable=False),
        sa.Column("time_given", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outbox_id", ID),
        sa.Column("campaign_id", ID),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("received_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"],
            ["advertisers.id"],
            name=op.f("fk_complaint_reports_advertiser_id_advertisers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_reports")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_complaint_reports_fingerprint")),
    )
    op.create_index(
        "ix_complaint_reports_advertiser_id_reported_at",
        "complaint_reports",
        ["advertiser_id", "reported_at"],
    )
    op.add_column("campaigns", sa.Column("paused_at", TIME))
    op.add_column("advertisers", sa.Column("complaints_pause_per_1000", sa.Float()))
    op.create_index(
        "ix_outbox_sent_contact",
        "outbox",
        ["contact_id", "submitted_at"],
        postgresql_where=SENT,
        sqlite_where=SENT,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_sent_contact", table_name="outbox")
    op.execute("UPDATE outbox SET state = 'queued' WHERE state = 'paused'")
    with op.batch_alter_table("advertisers") as batch:  # SQLite: the table is rebuilt
        batch.drop_column("complaints_pause_per_1000")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("paused_at")
    op.drop_index("ix_complaint_reports_advertiser_id_reported_at", table_name="complaint_reports")
    op.drop_table("complaint_reports")
