"""background jobs: long work (imports, plans, exports...) as rows claimed by workers

Revision ID: 0010
Revises: 0009

- `jobs`: one row a job, claimed by a runner under a lease (services/jobs.py), with its
  progress, its result or its error, and a cancellation a user asked for. Partial indexes find
  the due jobs and the expired leases; `ix_jobs_advertiser_id_id` lists an advertiser's.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("advertiser_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("phase", sa.String(40)),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger()),
        sa.Column("result", sa.Text()),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text()),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(100)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["advertiser_id"], ["advertisers.id"], name=op.f("fk_jobs_advertiser_id_advertisers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    queued, running = sa.text("state = 'queued'"), sa.text("state = 'running'")
    op.create_index("ix_jobs_due", "jobs", ["due_at"], postgresql_where=queued, sqlite_where=queued)
    op.create_index(
        "ix_jobs_leased", "jobs", ["lease_until"], postgresql_where=running, sqlite_where=running
    )
    op.create_index("ix_jobs_advertiser_id_id", "jobs", ["advertiser_id", "id"])


def downgrade() -> None:
    op.drop_table("jobs")  # its indexes with it
