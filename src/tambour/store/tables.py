"""The tables, as SQLAlchemy Core. Every row that belongs to an advertiser carries its id, and
every query filters on it: tenants never see each other's data.

Evidence is append-only: facts are events with their time, source and recorder; a contact's
standing is derived from them. The audit log is chained by hash (see services/audit.py).
"""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations behave the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both databases (SQLite stores them as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


advertisers = Table(
    "advertisers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("stop_number", String(16)),
    Column("categories", JSON, nullable=False),  # list of names as given
    Column("window", JSON),  # the advertiser's narrowed window policy, None = the legal one
    Column("hash_key", LargeBinary(32), nullable=False),  # keys the suppression-list hashes
    Column("created_at", UtcDateTime(), nullable=False),
)

sender_ids = Table(
    "sender_ids",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("sender", String(16), nullable=False),
    UniqueConstraint("advertiser_id", "sender"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True),  # ids are reserved in bulk by the importer
    Column("advertiser_id", Id, nullable=False),  # not a declared foreign key: see evidence
    Column("e164", String(16)),  # None once erased
    Column("kind", String(16), nullable=False),
    Column("profile", JSON, nullable=False),  # identity, tags, postal code, custom fields
    Column("profile_hash", LargeBinary(16), nullable=False),  # detects a changed profile cheaply
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("erased_at", UtcDateTime()),
    UniqueConstraint("advertiser_id", "e164"),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", Id, primary_key=True),
    # Not declared foreign keys: PostgreSQL would check each with a locking query per fact
    # (migration 0003 says why that is safe).
    Column("advertiser_id", Id, nullable=False),
    Column("contact_id", Id, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("occurred_at", UtcDateTime()),  # when it happened; None when the source did not say
    Column("data", JSON, nullable=False),
    Column("fingerprint", LargeBinary(16), nullable=False),  # same fact twice = same print
    Column("source", String(200), nullable=False),  # import file, command, API call
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    UniqueConstraint("contact_id", "fingerprint"),
)
# A contact's evidence is found through uq_evidence_contact_id_fingerprint (contact_id first);
# a second index would cost every import more than it saves any read.

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("phone_hash", LargeBinary(32), nullable=False),  # HMAC-SHA256 of the E.164
    Column("source", String(24), nullable=False),
    Column("suppressed_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("advertiser_id", "phone_hash"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=False),  # 1, 2, 3... without gaps
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("advertiser_id", Id),
    Column("details", Text, nullable=False),  # canonical JSON, hashed as stored
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
