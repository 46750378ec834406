"""consent forms: hosted forms, their immutable versions, their submissions

Revision ID: 0018
Revises: 0017

- `consent_forms`: an advertiser's forms (slug, kind, embedding origins, double opt-in);
- `consent_form_versions`: published wordings, each hashed (SHA-256), never updated;
- `form_submissions`: what a person sent (time, truncated IP, user agent, what was ticked), the
  double opt-in code awaited (hashed) until confirmed, the evidence it wrote.

A trigger refuses any UPDATE of a published version on both databases ("consent_form_versions
is immutable"): a changed wording is a new version (services/consent_forms.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent_forms",
        sa.Column("id", ID, nullable=False),
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("origins", sa.JSON(), nullable=False),
        sa.Column("double_opt_in", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["advertiser_id"],
            ["advertisers.id"],
            name=op.f("fk_consent_forms_advertiser_id_advertisers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_forms")),
        sa.UniqueConstraint(
            "advertiser_id", "slug", name=op.f("uq_consent_forms_advertiser_id_slug")
        ),
    )
    op.create_table(
        "consent_form_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("form_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("wording_hash", sa.String(64), nullable=False),
        sa.Column("published_at", TIME, nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["consent_forms.id"],
            name=op.f("fk_consent_form_versions_form_id_consent_forms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_form_versions")),
        sa.UniqueConstraint(
            "form_id", "version", name=op.f("uq_consent_form_versions_form_id_version")
        ),
    )
    op.create_index(
        "ix_consent_form_versions_advertiser_id_wording_hash",
        "consent_form_versions",
        ["advertiser_id", "wording_hash"],
    )
    op.create_table(
        "form_submissions",
        sa.Column("id", ID, nullable=False),
        sa.Column("advertiser_id", ID, nullable=False),
        sa.Column("form_id", ID, nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("e164", sa.String(16), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("submitted_at", TIME, nullable=False),
        sa.Column("ip_prefix", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(32)),
        sa.Column("expires_at", TIME),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", TIME),
        sa.Column("contact_id", ID),
        sa.Column("evidence_ids", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_submissions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_form_submissions_token_hash")),
    )
    op.create_index(
        "ix_form_submissions_advertiser_id_e164", "form_submissions", ["advertiser_id", "e164"]
    )

    for statement in _IMMUTABLE[op.get_bind().dialect.name]:
        op.execute(statement)


_IMMUTABLE = {
    "postgresql": [
        """
        CREATE FUNCTION consent_form_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'consent_form_versions is immutable (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """,
        """
        CREATE TRIGGER consent_form_versions_no_update BEFORE UPDATE ON consent_form_versions
        FOR EACH ROW EXECUTE FUNCTION consent_form_versions_immutable()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER consent_form_versions_no_update BEFORE UPDATE ON consent_form_versions
        BEGIN SELECT RAISE(ABORT, 'consent_form_versions is immutable'); END
        """
    ],
}


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS consent_form_versions_no_update ON consent_form_versions"
        )
        op.execute("DROP FUNCTION IF EXISTS consent_form_versions_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS consent_form_versions_no_update")
    op.drop_index("ix_form_submissions_advertiser_id_e164", table_name="form_submissions")
    op.drop_table("form_submissions")
    op.drop_index(
        "ix_consent_form_versions_advertiser_id_wording_hash", table_name="consent_form_versions"
    )
    op.drop_table("consent_form_versions")
    op.drop_table("consent_forms")
