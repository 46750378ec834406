"""nothing pretends to send: `recorded` messages, finished campaigns

Revision ID: 0008
Revises: 0007

- Messages the local outbox transport took were stored `submitted`, as if a carrier had them;
  it sends nothing. They become `recorded` (a final state: no receipt ever comes, no worker
  sends them again), with their fate known when they were recorded. They are told by the ids
  that transport gave their parts (`outbox-<hex>-<n>`; those rows stay, no receipt will ever
  name them). The states are plain strings (no constraint in the database to change).
- `campaigns.finished_at`: when a launched campaign's last message reached a final state
  (recorded, delivered, failed, expired, cancelled; a campaign with a message queued, in
  flight or `unknown` is not over). Campaigns already over get the time of their last
  message's fate (not audited: the migrations do not write the audit chain; the workers audit
  each campaign they see end from now on).
  The downgrade drops the column and turns `recorded` messages back into `submitted`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_RECORD_ONLY_KEYS = "outbox-%"  # the local outbox transport's part ids (transports/outbox.py)
_OPEN_STATES = "('queued', 'submitting', 'submitted', 'unknown')"


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    recorded = (
        "state = 'submitted' AND EXISTS (SELECT 1 FROM outbox_parts p"
        " WHERE p.outbox_id = outbox.id AND p.carrier_key LIKE :keys)"
    )
    bind.execute(
        sa.text(
            "UPDATE outbox SET state = 'recorded', done_at = coalesce(submitted_at, updated_at),"
            f" lease_until = NULL WHERE {recorded}"
        ),
        {"keys": _RECORD_ONLY_KEYS},
    )
    bind.execute(
        sa.text(
            "UPDATE campaigns SET finished_at = (SELECT max(coalesce(o.done_at, o.updated_at))"
            " FROM outbox o WHERE o.campaign_id = campaigns.id)"
            " WHERE status = 'launched' AND EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.campaign_id = campaigns.id)"
            " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.campaign_id = campaigns.id"
            f" AND o.state IN {_OPEN_STATES})"
        )
    )


def downgrade() -> None:
    op.execute("UPDATE outbox SET state = 'submitted', done_at = NULL WHERE state = 'recorded'")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("finished_at")
