"""evidence without declared foreign keys: PostgreSQL checked them at half an import's cost

Revision ID: 0003
Revises: 0002

PostgreSQL checks a foreign key with one locking query per inserted row (SELECT ... FOR KEY
SHARE on the referenced row): for evidence, two per fact, which took more time than the rest
of an import's writing together (benches/bench_import.py, issue 3). The ledger keeps its
integrity without them: contacts are never deleted (erasure blanks them), evidence is written
only by the services, with the id of a contact they read or created in the same transaction,
and reads go through the contact, filtered on the advertiser as well.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = (
    ("fk_evidence_advertiser_id_advertisers", "advertisers", "advertiser_id"),
    ("fk_evidence_contact_id_contacts", "contacts", "contact_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:  # SQLite: the table is rebuilt
        for name, _, _ in _FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        for name, table, column in _FOREIGN_KEYS:
            batch.create_foreign_key(name, table, [column], ["id"])
