"""the promise kept: natures checked, replies kept, proof sealed

Revision ID: 0006
Revises: 0005

- `advertisers.non_commercial_id`: the RNA or SIREN the operator recorded for an association,
  foundation or public body (a `non_commercial` campaign needs it); `hash_key` becomes nullable
  (the suppression key moves outside the database, see tambour/keys.py).
- `sender_ids.sender_key`: the sender ID upper-cased, unique on the whole platform (a sender ID
  belongs to one advertiser). The upgrade stops, naming them, when two advertisers share one.
- `campaigns.transaction_field`: the contact field that carries a transactional message's
  transaction (order, appointment, delivery reference).
- `plan_rows.retain_until` and `outbox.retain_until`: when the recipient's data lapses (3-year
  retention): the dispatcher checks it again before a message leaves.
- `evidence.seal`, `suppressions.seal`, `plan_rows.seal`: a keyed digest of each row, checked by
  `audit verify` with the audit entries that say which rows were written.
- `replies`: every inbound message, kept for the advertiser to read.
- `installation`: facts about this installation (the id of its key).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Instant = sa.DateTime(timezone=True)


def _shared_senders() -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT upper(sender) FROM sender_ids GROUP BY upper(sender) "
            "HAVING count(DISTINCT advertiser_id) > 1"
        )
    )
    return [row[0] for row in rows]


def _drop_numeric_senders() -> None:
    """A numeric sender is the advertiser's STOP short number, which advertisers may share: it
    is the advertiser's own by its `stop_number`, not a sender ID of the platform's."""
    bind = op.get_bind()
    numeric = [
        row.id
        for row in bind.execute(sa.text("SELECT id, sender FROM sender_ids"))
        if row.sender.isdigit()
    ]
    for row_id in numeric:
        bind.execute(sa.text("DELETE FROM sender_ids WHERE id = :id"), {"id": row_id})


def upgrade() -> None:
    _drop_numeric_senders()
    shared = _shared_senders()
    if shared:
        raise RuntimeError(
            "these sender IDs belong to several advertisers, a sender ID may belong to one: "
            + ", ".join(sorted(shared))
            + " (remove them from all but their owner, then upgrade again)"
        )
    with op.batch_alter_table("advertisers") as batch:
        batch.add_column(sa.Column("non_commercial_id", sa.String(length=20), nullable=True))
        batch.alter_column("hash_key", existing_type=sa.LargeBinary(length=32), nullable=True)
    with op.batch_alter_table("sender_ids") as batch:
        batch.add_column(sa.Column("sender_key", sa.String(length=16), nullable=True))
    op.execute("UPDATE sender_ids SET sender_key = upper(sender)")
    # Same-advertiser variants of one ID ('Mlum', 'MLUM') keep the first.
    op.execute(
        "DELETE FROM sender_ids WHERE id NOT IN "
        "(SELECT min(id) FROM sender_ids GROUP BY sender_key)"
    )
    with op.batch_alter_table("sender_ids") as batch:
        batch.alter_column("sender_key", existing_type=sa.String(length=16), nullable=False)
        batch.create_unique_constraint("uq_sender_ids_sender_key", ["sender_key"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("transaction_field", sa.String(length=64), nullable=True))
    with op.batch_alter_table("plan_rows") as batch:
        batch.add_column(sa.Column("retain_until", Instant, nullable=True))
        batch.add_column(sa.Column("seal", sa.LargeBinary(length=16), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("retain_until", Instant, nullable=True))
    for table in ("evidence", "suppressions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("seal", sa.LargeBinary(length=16), nullable=True))
    op.create_table(
        "replies",
        sa.Column("id", Id, nullable=False),
        sa.Column("advertiser_id", Id, nullable=True),  # None: no advertiser could be told
        sa.Column("e164", sa.String(length=16), nullable=False),  # who wrote
        sa.Column("to_number", sa.String(length=16), nullable=False),  # the short number
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("meaning", sa.String(length=16), nullable=False),  # stop, start, other
        sa.Column("status", sa.String(length=16), nullable=False),  # new, read, opted_out
        sa.Column("received_at", Instant, nullable=False),
        sa.Column("handled_at", Instant, nullable=True),
        sa.Column("handled_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
    )
    op.create_index(
        "ix_replies_advertiser_id_received_at", "replies", ["advertiser_id", "received_at"]
    )
    op.create_table(
        "installation",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_installation")),
    )


def downgrade() -> None:
    op.drop_table("installation")
    op.drop_index("ix_replies_advertiser_id_received_at", table_name="replies")
    op.drop_table("replies")
    for table in ("evidence", "suppressions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seal")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("retain_until")
    with op.batch_alter_table("plan_rows") as batch:
        batch.drop_column("seal")
        batch.drop_column("retain_until")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("transaction_field")
    with op.batch_alter_table("sender_ids") as batch:
        batch.drop_constraint("uq_sender_ids_sender_key", type_="unique")
        batch.drop_column("sender_key")
    with op.batch_alter_table("advertisers") as batch:
        batch.drop_column("non_commercial_id")
