"""contacts and evidence without declared foreign keys: PostgreSQL checked them at half an
import's cost

Revision ID: 0003
Revises: 0002

PostgreSQL checks a foreign key with one locking query per inserted row (SELECT ... FOR KEY
SHARE on the referenced row): one per contact and two per fact, which took more time than the
rest of an import's writing together (benches/bench_import.py, issue 3). The ledger keeps its
integrity without them: advertisers and contacts are never deleted (erasure blanks a contact),
contacts and evidence are written only by the services, with the id of an advertiser or
contact they read or created in the same transaction, and every read filters on the advertiser.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, constraint, referred table, column)
_FOREIGN_KEYS = (
    ("contacts", "fk_contacts_advertiser_id_advertisers", "advertisers", "advertiser_id"),
    ("evidence", "fk_evidence_advertiser_id_advertisers", "advertisers", "advertiser_id"),
    ("evidence", "fk_evidence_contact_id_contacts", "contacts", "contact_id"),
)


def upgrade() -> None:
    for table in ("evidence", "contacts"):
        with op.batch_alter_table(table) as batch:  # SQLite: the table is rebuilt
            for owner, name, _, _ in _FOREIGN_KEYS:
                if owner == table:
                    batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table in ("contacts", "evidence"):
        with op.batch_alter_table(table) as batch:
            for owner, name, referred, column in _FOREIGN_KEYS:
                if owner == table:
                    batch.create_foreign_key(name, referred, [column], ["id"])
