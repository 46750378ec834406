"""The tables, as SQLAlchemy Core. Every row that belongs to an advertiser carries its id, and
every query filters on it: tenants never see each other's data.

Evidence is append-only: facts are events with their time, source and recorder; a contact's
standing is derived from them. The audit log is chained by hash (see services/audit.py).
"""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
    # The advertiser's suppression key, wrapped under the installation key, which is outside
    # the database (tambour/keys.py, services/advertisers.suppression_key): no key without it.
    Column("hash_key", LargeBinary(32)),
    Column("non_commercial_id", String(20)),  # RNA or SIREN of a non-commercial body
    # Every prospection message ends with its one-click opt-out link (migration 0019).
    Column("stop_link", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime(), nullable=False),
    # The controller's contact details and data-protection officer, for its record of
    # processing (GDPR Art. 30(1)(a)); each optional: the record says what is missing
    # (migration 0021).
    Column("address", String(300)),
    Column("contact_email", String(254)),
    Column("dpo_name", String(200)),
    Column("dpo_email", String(254)),
    # Migration 0022: the advertiser's own 33700 complaint threshold, per 1,000 messages sent
    # (None: the operator's TAMBOUR_COMPLAINTS_PAUSE_PER_1000).
    Column("complaints_pause_per_1000", Float),
)

sender_ids = Table(
    "sender_ids",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("sender", String(16), nullable=False),
    Column("sender_key", String(16), nullable=False),  # upper-cased: one owner on the platform
    UniqueConstraint("advertiser_id", "sender"),
    UniqueConstraint("sender_key"),
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
    Column("seal", LargeBinary(16)),  # keyed digest of the row (services/seals.py)
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
    Column("seal", LargeBinary(16)),  # keyed digest of the row (services/seals.py)
    UniqueConstraint("advertiser_id", "phone_hash"),
    # The dashboard's opt-outs and complaints of a period (migration 0016).
    Index("ix_suppressions_advertiser_id_suppressed_at", "advertiser_id", "suppressed_at"),
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
    Index("ix_audit_log_advertiser_id_seq", "advertiser_id", "seq"),  # an advertiser's log
)

# --- campaigns (issue 4) --------------------------------------------------------------------
# A campaign is defined once; its plan is one row per targeted contact with the decision of
# rules.md section 3, written by `campaign plan` under a new generation number and made current
# in one short transaction (readers never see half a plan; the previous one is then deleted).
# Launch freezes the current plan and copies its `send` rows into the outbox.

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("nature", String(16), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("sender", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("categories", JSON, nullable=False),  # lists as given (compared folded)
    Column("professions", JSON, nullable=False),
    Column("tags", JSON, nullable=False),  # empty: every contact of the advertiser
    Column("start_at", UtcDateTime()),  # None: as soon as possible (the planning instant)
    Column("send_by", UtcDateTime()),
    Column("status", String(16), nullable=False),  # draft, planned, launched, cancelled
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("generations", Integer, nullable=False),  # plan generations handed out so far
    Column("plan_generation", Integer),  # the current plan's rows; None: not planned
    Column("planned_at", UtcDateTime()),  # the clock when the current plan was made
    Column("plan_summary", JSON),  # counts and the campaign-level blocks of the current plan
    Column("launched_at", UtcDateTime()),
    Column("cancelled_at", UtcDateTime()),
    # A transactional campaign: the contact field that carries each recipient's transaction.
    Column("transaction_field", String(64)),
    # A launched campaign is over when none of its messages is queued, in flight or unknown
    # (migration 0008): when the last one reached its final state. Its status stays `launched`
    # (the plan frozen, a second launch refused); it is shown as `finished`.
    Column("finished_at", UtcDateTime()),
    # Migration 0013: a message sent by itself (POST /api/v1/messages) is a campaign of one
    # recipient, `kind` 'message' (kept out of campaign lists), with the grouping its sender
    # gave (`label`) and, transactional, the transaction it answers (`reference`).
    Column("kind", String(8), nullable=False, server_default="campaign"),
    Column("label", String(100)),
    Column("reference", String(200)),
    # Migration 0020: when the retention run removed its messages' texts (services/retention.py).
    Column("texts_erased_at", UtcDateTime()),
    # Migration 0022: a launched campaign paused for its advertiser's 33700 complaint rate
    # (services/complaints.py): shown `paused`, its queued messages kept in the outbox state
    # `paused` until the operator resumes it. Its status stays `launched`.
    Column("paused_at", UtcDateTime()),
    # Migration 0023: an A/B test (services/ab_tests.py). `variants`: the texts of variants
    # B, C, D (A is `text`); None: no test. `test_share` percent of the audience gets a variant
    # at random; after `test_minutes` the winner (`clicks` or `optouts`: `winner_by`) is
    # chosen and the rest gets its text.
    Column("variants", JSON),
    Column("test_share", Integer),
    Column("winner_by", String(8)),
    Column("test_minutes", Integer),
    Column("winner", String(1)),
    Column("winner_at", UtcDateTime()),
    Column("winner_figures", JSON),  # each variant's figures when the winner was chosen
    Column("test_ends_at", UtcDateTime()),  # set at launch: the first test message due + time
    Column("rest_released_at", UtcDateTime()),  # the rest's messages all given the winner
    UniqueConstraint("advertiser_id", "name"),
    Index("ix_campaigns_advertiser_id_kind_id", "advertiser_id", "kind", "id"),
)

plan_rows = Table(
    "plan_rows",
    metadata,
    Column("campaign_id", Id, primary_key=True, autoincrement=False),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("contact_id", Id, primary_key=True, autoincrement=False),
    Column("advertiser_id", Id, nullable=False),
    Column("e164", String(16), nullable=False),
    Column("decision", String(8), nullable=False),  # send, exclude
    Column("basis", String(32)),  # for a send
    Column("reason", String(40)),  # for an exclusion
    Column("deferral", String(16)),  # why send_at is later than the start
    Column("territory", String(32)),
    Column("timezone", String(40)),  # the recipient's (first) zone: send_at is shown in it
    Column("postal_code", String(10)),  # with e164, what located the recipient
    Column("send_at", UtcDateTime()),  # the earliest allowed instant
    Column("segments", Integer),
    Column("encoding", String(8)),  # GSM-7, UCS-2
    Column("ucs2_chars", String(40)),  # the characters that force UCS-2, each once
    Column("text", Text),  # the exact message: personalized, STOP mention included
    # The contact as decided: its profile hash and its latest fact. Launch refuses a plan
    # whose recipients changed since (a new fact, another profile, an erasure).
    Column("seen_profile", LargeBinary(16), nullable=False),
    Column("seen_evidence", Id, nullable=False),  # the largest evidence id, 0 for none
    Column("retain_until", UtcDateTime()),  # when the recipient's data lapses (3-year rule)
    Column("seal", LargeBinary(16)),  # keyed digest of the row (services/seals.py)
    # Migration 0023, an A/B test: the variant of the row's text (A-D), and its group: `test`
    # (a variant at random) or `rest` (no text until the winner is chosen). None: no test.
    Column("variant", String(1)),
    Column("ab_group", String(4)),
)

# `recorded`: taken by the record-only transport, which sends nothing (migration 0008).
# `paused`: queued, held while its campaign is paused (migration 0022): never claimed.
# `held`: the rest of an A/B test's audience, waiting for the winner's text (migration 0023):
# never claimed.
OUTBOX_STATES = (
    "queued", "submitting", "submitted", "recorded", "delivered", "failed", "expired",
    "cancelled", "unknown", "paused", "held",
)  # fmt: skip
# Messages waiting without being due: a cancel or an erasure withdraws them with the queued.
WAITING_STATES = ("queued", "paused", "held")
# States a message never leaves by itself: its campaign may be over. `unknown` is not one of
# them: it waits for an operator's decision (requeue-unknown).
FINAL_STATES = ("recorded", "delivered", "failed", "expired", "cancelled")

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, nullable=False),
    Column("campaign_id", Id, nullable=False),
    Column("contact_id", Id, nullable=False),
    Column("e164", String(16), nullable=False),
    Column("postal_code", String(10)),  # with e164, the locality for the window re-check
    Column("sender", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("encoding", String(8), nullable=False),
    Column("parts", Integer, nullable=False),
    Column("send_at", UtcDateTime(), nullable=False),  # due from
    Column("send_by", UtcDateTime()),  # expires after (the campaign's deadline)
    Column("state", String(16), nullable=False),  # one of OUTBOX_STATES
    Column("attempts", Integer, nullable=False),
    Column("lease_owner", String(100)),  # the worker holding the message
    Column("lease_until", UtcDateTime()),
    Column("last_error", String(200)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Dispatch (migration 0005): why a message was held, cancelled or expired (a rules.md
    # code), the carrier's error code, the validity given to the carrier, and when it left
    # and when its fate was known.
    Column("reason", String(40)),
    Column("error_code", Integer),
    Column("valid_until", UtcDateTime()),
    Column("submitted_at", UtcDateTime()),
    Column("done_at", UtcDateTime()),
    Column("retain_until", UtcDateTime()),  # from the plan row: checked again before sending
    Column("carrier", String(40)),  # the carrier that took it (migration 0009); None: not sent
    Column("variant", String(1)),  # an A/B test's variant of the text (migration 0023)
    UniqueConstraint("campaign_id", "contact_id"),  # one message a contact: never twice
    Index("ix_outbox_campaign_id_state", "campaign_id", "state"),
    # Workers claim due messages, and rescue expired leases, through these partial indexes.
    Index(
        "ix_outbox_due",
        "send_at",
        postgresql_where=text("state = 'queued'"),
        sqlite_where=text("state = 'queued'"),
    ),
    Index(
        "ix_outbox_leased",
        "lease_until",
        postgresql_where=text("state = 'submitting'"),
        sqlite_where=text("state = 'submitting'"),
    ),
    # Messages handed to the carrier whose receipt has not come yet.
    Index(
        "ix_outbox_submitted",
        "submitted_at",
        postgresql_where=text("state = 'submitted'"),
        sqlite_where=text("state = 'submitted'"),
    ),
    # Messages in doubt, which a receipt may prove taken (migration 0009): few, looked at often.
    Index(
        "ix_outbox_unknown",
        "done_at",
        postgresql_where=text("state = 'unknown'"),
        sqlite_where=text("state = 'unknown'"),
    ),
    # An A/B test's messages, by campaign and variant (migration 0023): its figures read only
    # the test's rows, never the rest's (which have no variant).
    Index(
        "ix_outbox_campaign_id_variant",
        "campaign_id",
        "variant",
        postgresql_where=text("variant IS NOT NULL"),
        sqlite_where=text("variant IS NOT NULL"),
    ),
    # The messages that left, by recipient and time: a 33700 report is matched through it
    # (migration 0022). Rows not sent are not in it: a launch writes nothing more.
    Index(
        "ix_outbox_sent_contact",
        "contact_id",
        "submitted_at",
        postgresql_where=text("submitted_at IS NOT NULL"),
        sqlite_where=text("submitted_at IS NOT NULL"),
    ),
)

# The parts of a submitted message, under the carrier's id for each (receipts name parts).
outbox_parts = Table(
    "outbox_parts",
    metadata,
    Column("outbox_id", Id, primary_key=True, autoincrement=False),
    Column("part", Integer, primary_key=True, autoincrement=False),  # 1, 2, ...
    Column("of_parts", Integer, nullable=False),  # the message's parts: 1 settles it alone
    Column("advertiser_id", Id, nullable=False),
    Column("carrier_key", String(72), nullable=False),  # receipts.message_key of its id
    Column("outcome", String(16)),  # receipts.Outcome when final; None while pending
    Column("error_code", Integer),  # the receipt's err:
    Column("done_at", UtcDateTime()),  # when its final receipt was recorded
    # Migration 0009: carriers reuse ids (after a restart, or when they wrap), so a receipt
    # names the most recent part with its id at its carrier ('' for the one [transport]).
    Column("carrier", String(40), nullable=False, server_default=""),
    Column("submitted_at", UtcDateTime()),  # when recorded as taken; None before 0009
    Index("ix_outbox_parts_carrier_key", "carrier", "carrier_key"),
)

# Receipts that came before their part was recorded (a carrier can be faster than the worker
# writing down the submit_sm_resp): one row for each key the receipt may match, applied and
# deleted when the part is recorded.
early_receipts = Table(
    "early_receipts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("receipt", BigInteger, nullable=False),  # groups the keys of one receipt
    Column("carrier_key", String(72), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error_code", Integer),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("carrier", String(40), nullable=False, server_default=""),  # migration 0009
    # Who the receipt is about (its source address) and from which sender (its destination):
    # a receipt for a message a dead worker left `unknown` proves the carrier took it.
    Column("recipient", String(21)),
    Column("sender", String(21)),
    Index("ix_early_receipts_carrier_key", "carrier", "carrier_key"),
    Index("ix_early_receipts_recipient", "recipient"),
)

# The workers alive (migration 0009): each says so at its heartbeat. An account's `account_tps`
# is shared among the live workers sending through it; a worker not seen for a while is gone.
workers = Table(
    "workers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("carriers", Text, nullable=False),  # the carriers it sends through, space-separated
    Column("started_at", UtcDateTime(), nullable=False),
    Column("seen_at", UtcDateTime(), nullable=False),
)

# Every inbound message (issue 12 point 5): STOPs and STARTs are acted on, every other reply is
# kept here for the advertiser to read and act on, never thrown away.
replies = Table(
    "replies",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id),  # None: no advertiser could be told from the short number
    Column("e164", String(16), nullable=False),  # who wrote
    Column("to_number", String(16), nullable=False),  # the short number written to
    Column("text", Text, nullable=False),
    Column("meaning", String(16), nullable=False),  # stop, start, other
    Column("status", String(16), nullable=False),  # new, read, opted_out
    Column("received_at", UtcDateTime(), nullable=False),
    Column("handled_at", UtcDateTime()),
    Column("handled_by", String(100)),
    Index("ix_replies_advertiser_id_received_at", "advertiser_id", "received_at"),
)

# Facts about this installation, such as the id of the key kept outside the database.
installation = Table(
    "installation",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# --- background jobs (migration 0010): defined below this line ---
# Long work (contact imports, campaign plans, exports) as rows, claimed like the outbox's
# messages (architecture.md principles 3 and 7): a runner takes a due job under a lease and
# renews it while it works, reporting its progress; a job whose runner died (its lease ran
# out) is queued again, up to `max_attempts` claims. services/jobs.py has the life of a job.
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id")),  # None: the operator's own
    Column("kind", String(40), nullable=False),  # contacts.import, campaign.plan...
    Column("state", String(16), nullable=False),  # one of JOB_STATES
    Column("arguments", Text, nullable=False),  # canonical JSON, as the kind reads them
    Column("phase", String(40)),  # what the work is at, in a word (rows, recipients)
    Column("done", BigInteger, nullable=False),  # units of the phase done so far
    Column("total", BigInteger),  # units the phase has, when known
    Column("result", Text),  # JSON: what the job made (a summary, a file's path)
    Column("error_code", String(64)),  # a failed job's reason, stable (snake_case)
    Column("error_message", Text),  # ...and in words a user can act on, never a traceback
    Column("cancel_requested_at", UtcDateTime()),  # the runner stops at its next step
    Column("attempts", Integer, nullable=False),  # claims so far
    Column("max_attempts", Integer, nullable=False),
    Column("owner", String(100)),  # the runner holding it
    Column("lease_until", UtcDateTime()),
    Column("due_at", UtcDateTime(), nullable=False),  # claimed from then on
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),  # the actor who asked for it
    Column("started_at", UtcDateTime()),  # its first claim
    Column("updated_at", UtcDateTime(), nullable=False),  # its last state or progress change
    Column("finished_at", UtcDateTime()),
    # Runners claim due jobs, and rescue expired leases, through these partial indexes.
    Index(
        "ix_jobs_due",
        "due_at",
        postgresql_where=text("state = 'queued'"),
        sqlite_where=text("state = 'queued'"),
    ),
    Index(
        "ix_jobs_leased",
        "lease_until",
        postgresql_where=text("state = 'running'"),
        sqlite_where=text("state = 'running'"),
    ),
    Index("ix_jobs_advertiser_id_id", "advertiser_id", "id"),  # an advertiser's, newest first
)

# --- the HTTP API (migration 0011): defined below this line ---
# Keys of the HTTP API (issue 15): one advertiser's, with scopes (read, write, send), or the
# platform operator's (advertiser_id None, scope operator). The token is shown once at
# creation; only the SHA-256 of it is kept (a 256-bit random secret needs no slow hash), under
# the public key id every token starts with (`tbr_live_<key_id>_<secret>`): one look-up.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key_id", String(16), nullable=False, unique=True),  # public: in the token, in logs
    Column("advertiser_id", Id, ForeignKey("advertisers.id")),  # None: an operator key
    Column("name", String(100), nullable=False),
    Column("scopes", JSON, nullable=False),  # sorted names
    Column("secret_hash", LargeBinary(32), nullable=False),  # SHA-256 of the whole token
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("revoked_by", String(100)),
)

# `Idempotency-Key` of POST requests, per API key, kept 24 hours: the first response is replayed
# to a retry with the same body. A row without a status is a request still running (a second
# one gets 409); one left so by a crashed server is taken over after `started_at` is old.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("api_key_id", Id, ForeignKey("api_keys.id"), primary_key=True, autoincrement=False),
    Column("key", String(255), primary_key=True),
    Column("request_hash", LargeBinary(32), nullable=False),  # method, path and body
    Column("started_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("status", Integer),  # None while the first request runs
    Column("content_type", String(100)),
    Column("location", Text),
    Column("body", LargeBinary),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# --- webhooks (migration 0012): defined below this line ---
# An advertiser's webhook endpoints (issue 15 point 7). Its signing secrets are random and kept
# wrapped under the installation key (keys.Keys.wrap), like the suppression keys: a copy of the
# database alone cannot sign. During a rotation the previous secret signs too, until
# `old_secret_until`.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", String(200), nullable=False),
    Column("events", JSON, nullable=False),  # the event types it receives; [] for all
    Column("state", String(16), nullable=False),  # enabled, disabled
    Column("disabled_reason", String(40)),  # gone (it answered 410), failing, by_user
    Column("disabled_at", UtcDateTime()),
    Column("secret", LargeBinary(64), nullable=False),  # wrapped
    Column("secret_version", Integer, nullable=False),  # 1, 2... at each rotation
    Column("old_secret", LargeBinary(64)),  # wrapped: the one before the last rotation
    Column("old_secret_until", UtcDateTime()),
    Column("failing_since", UtcDateTime()),  # its first failed attempt with no success since
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_webhook_endpoints_advertiser_id", "advertiser_id"),
)

# What happened, once, whichever endpoints hear of it: the body every delivery sends.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, nullable=False),
    Column("type", String(40), nullable=False),
    Column("body", LargeBinary, nullable=False),  # the JSON sent, as signed
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_webhook_events_advertiser_id_id", "advertiser_id", "id"),
)

# One event to one endpoint: the durable outbox workers deliver from, with its retries.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", Id, nullable=False),
    Column("endpoint_id", Id, nullable=False),
    Column("advertiser_id", Id, nullable=False),
    Column("state", String(16), nullable=False),  # pending, sending, delivered, failed, dropped
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("lease_owner", String(100)),
    Column("lease_until", UtcDateTime()),
    Column("last_status", Integer),  # the receiver's HTTP status; None: no answer
    Column("last_error", String(200)),
    Column("last_attempt_at", UtcDateTime()),
    Column("delivered_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        postgresql_where=text("state = 'pending'"),
        sqlite_where=text("state = 'pending'"),
    ),
    Index(
        "ix_webhook_deliveries_leased",
        "lease_until",
        postgresql_where=text("state = 'sending'"),
        sqlite_where=text("state = 'sending'"),
    ),
    Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
)

# Every attempt of a delivery: the delivery log an advertiser reads.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("delivery_id", Id, nullable=False),
    Column("endpoint_id", Id, nullable=False),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("status", Integer),  # None: no answer (refused, timed out)
    Column("duration_ms", Integer, nullable=False),
    Column("error", String(200)),
    Index("ix_webhook_attempts_delivery_id", "delivery_id"),
)

# --- users, roles and sessions (migration 0014): defined below this line ---
# The people of the web app (issue 16 point 2), services/users.py. An e-mail address is stored
# case-folded (one account per address, whatever its case); the password as an Argon2id hash;
# a TOTP secret wrapped under the installation key (keys.Keys.wrap), like webhook secrets, under
# a label naming the user and the enrolment (`totp_version`): a copy of the database alone
# cannot make codes. `totp_confirmed_at` set: the second factor is asked at each login;
# `totp_last_step`, the time step of the last code accepted, refuses a code used twice.
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # case-folded
    Column("password_hash", String(200), nullable=False),  # $argon2id$...
    Column("state", String(16), nullable=False),  # active, disabled
    Column("totp_secret", LargeBinary(32)),  # wrapped; None: never enrolled
    Column("totp_version", Integer, nullable=False, server_default="0"),  # 1, 2... per enrolment
    Column("totp_confirmed_at", UtcDateTime()),  # None: enrolment not confirmed (not asked)
    Column("totp_last_step", BigInteger),
    Column("password_changed_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("last_login_at", UtcDateTime()),
    Column("disabled_at", UtcDateTime()),
)

# A user's roles: one row per advertiser it works for (admin, marketer, viewer), or one without
# an advertiser for the platform's operator.
memberships = Table(
    "memberships",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("role", String(16), nullable=False),  # operator, admin, marketer, viewer
    Column("advertiser_id", Id, ForeignKey("advertisers.id")),  # None: the operator's
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Index("ix_memberships_user_id", "user_id"),
    Index("ix_memberships_advertiser_id", "advertiser_id"),
)

# Server-side sessions: the browser holds a random token, shown once; the database its SHA-256.
# A session ends when revoked, idle too long (`last_seen_at`) or at `expires_at`, whichever first.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),  # the absolute end
    Column("revoked_at", UtcDateTime()),
    Column("revoked_reason", String(20)),  # logout, revoked, disabled, password_changed
    Index("ix_sessions_user_id", "user_id"),
)

# Invitations by link: the token is shown once (in the link), the database keeps its SHA-256.
invitations = Table(
    "invitations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("email", String(254), nullable=False),  # case-folded
    Column("role", String(16), nullable=False),
    Column("advertiser_id", Id, ForeignKey("advertisers.id")),  # None: an operator's
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("accepted_at", UtcDateTime()),
    Column("accepted_user_id", Id, ForeignKey("users.id")),
    Index("ix_invitations_email", "email"),
)

# Failed logins, for throttling: per e-mail address (whether an account has it or not) and per
# client address. A success forgets the address's failures.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(254), nullable=False),  # case-folded, as typed
    Column("client", String(64)),  # the client's IP address; None: not known
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_login_failures_email_at", "email", "at"),
    Index("ix_login_failures_client_at", "client", "at"),
)

# --- the web app's import mappings (migration 0015): defined below this line ---
# What an advertiser said a column of its contact files means, by the column's header (compared
# as contacts/headers.header_key folds it): a canonical column, `ignore` or `field` (kept as a
# personalization field). Only what differs from what Tambour reads by itself is kept; the next
# file with the same header is shown with it.
import_mappings = Table(
    "import_mappings",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("header_key", String(200), nullable=False),  # the header, folded
    Column("header", String(200), nullable=False),  # as last written
    Column("meaning", String(40), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    UniqueConstraint("advertiser_id", "header_key"),
)

# A contact's replies, found by its number (the contact's page, its proof): without it, every
# reply of the advertiser was read for each contact shown.
Index("ix_replies_advertiser_id_e164", replies.c.advertiser_id, replies.c.e164)

# --- messages per campaign and minute (migration 0016) -----------------------------------------
# Sent (by the minute of submitted_at), delivered and failed (by the minute of done_at), kept
# exact by triggers on outbox (the migration says how); `minute`: whole minutes since 1970, UTC;
# `shard`: the writing PostgreSQL server process (0 on SQLite), added up by readers
# (services/message_minutes.py). Nothing in Python writes it.
message_minutes = Table(
    "message_minutes",
    metadata,
    Column("advertiser_id", Id, primary_key=True, autoincrement=False),
    Column("minute", Integer, primary_key=True, autoincrement=False),
    Column("campaign_id", Id, primary_key=True, autoincrement=False),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("sent", Integer, nullable=False),
    Column("delivered", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Index("ix_message_minutes_campaign_id_minute", "campaign_id", "minute"),
)

# --- data requests (migration 0017) -------------------------------------------------------------
# The register of what people asked of an advertiser about their data (GDPR Art. 15-21): who
# asked, by what means, when, the deadline (one month, extended by up to two more with a
# reason), and how and when it was answered (services/data_requests.py). The number is kept
# while the request is open (to answer it), then only its keyed hash (as the suppression list).
data_requests = Table(
    "data_requests",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # services/data_requests.py RequestKind
    Column("phone_hash", LargeBinary(32), nullable=False),  # suppression.phone_hash's
    Column("e164", String(16)),  # while open; None once answered, refused or erased
    Column("contact_id", Id),  # the advertiser's contact with that number, when there was one
    Column("requester", String(200), nullable=False),  # who asked (the person, a lawyer...)
    Column("means", String(16), nullable=False),  # services/data_requests.py Means
    Column("received_on", Date(), nullable=False),
    Column("due_by", Date(), nullable=False),  # received_on + one month, or as extended
    Column("extension_reason", String(500)),  # why the deadline was extended (Art. 12(3))
    Column("status", String(16), nullable=False),  # open, answered, refused
    Column("note", String(1000)),
    Column("answered_at", UtcDateTime()),
    Column("answered_by", String(100)),
    Column("outcome", JSON),  # what was done: counts, a file's name, a refusal's reason
    Column("reminded_on", Date()),  # the last reminder of its deadline (dashboard, webhook)
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Index("ix_data_requests_advertiser_id_status_due_by", "advertiser_id", "status", "due_by"),
)

# --- hosted consent forms (migration 0018) -----------------------------------------------------
# An advertiser's forms (public/ serves them at /f/{advertiser}/{form}): `kind` consent (B2C,
# an unticked box per purpose and channel), b2b (information and an unticked objection box) or
# customer_notice (the same block, for the customer exception at checkout). `origins`: the
# sites that may embed it (frame-ancestors) or post to it (CORS).
consent_forms = Table(
    "consent_forms",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("origins", JSON, nullable=False),  # list of https://host[:port]
    Column("double_opt_in", Integer, nullable=False),  # 1: a code by SMS confirms it
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    UniqueConstraint("advertiser_id", "slug"),
)

# A form's published wordings, never updated (services/consent_forms.py refuses it, and a
# trigger-free check: the service only inserts): `wording` the canonical JSON of every text
# the person reads, `wording_hash` its SHA-256 (hex), what the consent's proof names.
consent_form_versions = Table(
    "consent_form_versions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, nullable=False),
    Column("form_id", Id, ForeignKey("consent_forms.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("wording", Text, nullable=False),  # canonical JSON: hashed as stored
    Column("wording_hash", String(64), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
    Column("published_by", String(100), nullable=False),
    UniqueConstraint("form_id", "version"),
    Index("ix_consent_form_versions_advertiser_id_wording_hash", "advertiser_id", "wording_hash"),
)

# What a person sent through a form: the evidence a control needs (time, channel, truncated IP,
# user agent, what was ticked) and, for a double opt-in, the code awaited (hashed). Only a
# confirmed submission writes evidence (its ids in `evidence_ids`).
form_submissions = Table(
    "form_submissions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, nullable=False),
    Column("form_id", Id, nullable=False),
    Column("version_id", Id, nullable=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),  # of the code page's
    Column("e164", String(16), nullable=False),
    Column("choices", JSON, nullable=False),  # purposes ticked, objection, language
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("ip_prefix", String(64)),  # IPv4 /24, IPv6 /48
    Column("user_agent", String(300)),
    Column("via", String(16), nullable=False),  # page or cors
    Column("code_hash", LargeBinary(32)),  # double opt-in: HMAC of the code sent
    Column("expires_at", UtcDateTime()),
    Column("attempts", Integer, nullable=False),
    Column("confirmed_at", UtcDateTime()),
    Column("contact_id", Id),
    Column("evidence_ids", JSON),
    Index("ix_form_submissions_advertiser_id_e164", "advertiser_id", "e164"),
)

# --- links made per message (migration 0019) ---------------------------------------------------
# One row per link of a planned message: `stop` (its one-click opt-out link) or `go` (a short
# link to `target`). Its id, reserved from link_counter, is the code in the URL through a keyed
# permutation (services/link_codes.py): no code in clear, none derivable from another.
message_links = Table(
    "message_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("advertiser_id", Id, nullable=False),
    Column("campaign_id", Id, nullable=False),
    Column("generation", Integer, nullable=False),  # the plan's
    Column("contact_id", Id, nullable=False),
    Column("kind", String(8), nullable=False),  # stop, go
    Column("target", Text),  # a short link's address
    Column("territory", String(32)),  # the recipient's: clicks are counted by it
    Column("variant", String(40)),  # the message variant (A/B), when there are several
    Column("used_at", UtcDateTime()),  # an opt-out link: when it opted the number out
    Index("ix_message_links_campaign_id_generation", "campaign_id", "generation"),
)

# The next id message_links hands out (one row): plans reserve ids in blocks.
link_counter = Table(
    "link_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("next_id", Id, nullable=False),
)

# A short link followed. Kept `clicks_retention_days` (90 by default), then erased. `bot`: why
# the click is not a person's (a scanner, a prefetch, a HEAD...), None for a person's.
link_clicks = Table(
    "link_clicks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, nullable=False),
    Column("campaign_id", Id, nullable=False),
    Column("link_id", Id, nullable=False),
    Column("outbox_id", Id),  # the message, once launched
    Column("variant", String(40)),
    Column("territory", String(32)),
    Column("clicked_at", UtcDateTime(), nullable=False),
    Column("ip", String(48)),  # truncated: /24 IPv4, /48 IPv6
    Column("user_agent", String(300)),
    Column("bot", String(16)),
    Index("ix_link_clicks_campaign_id_clicked_at", "campaign_id", "clicked_at"),
    Index("ix_link_clicks_clicked_at", "clicked_at"),
    Index("ix_link_clicks_advertiser_id_id", "advertiser_id", "id"),
)

# --- 33700 complaints (migration 0022) --------------------------------------------------------
# Each report of the 33700 platform (services/complaints.py): who reported (the number's keyed
# hash once the advertiser is known; in clear only while no advertiser could be told from the
# sender, since no key can hash it then), the sender, an excerpt of the text, when it was
# reported, and the message it was matched to (`state` matched), or none (`unmatched`: no
# message found; `unattributed`: no advertiser owns the sender). `fingerprint`: the same report
# imported twice is counted once.
complaint_reports = Table(
    "complaint_reports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("advertiser_id", Id, ForeignKey("advertisers.id")),  # None: unattributed
    Column("fingerprint", LargeBinary(32), nullable=False, unique=True),
    Column("sender", String(16), nullable=False),  # as reported
    Column("phone_hash", LargeBinary(32)),  # suppression.phone_hash's, the advertiser known
    Column("e164", String(16)),  # only while unattributed
    Column("excerpt", String(320)),  # the text or its excerpt, as reported
    Column("reported_at", UtcDateTime(), nullable=False),
    Column("time_given", Boolean, nullable=False),  # False: a date alone (its Paris midnight)
    Column("state", String(16), nullable=False),  # matched, unmatched, unattributed
    Column("outbox_id", Id),  # the message matched
    Column("campaign_id", Id),
    Column("origin", String(200), nullable=False),  # the file's name, or `api`
    Column("received_at", UtcDateTime(), nullable=False),
    Column("received_by", String(100), nullable=False),
    Index("ix_complaint_reports_advertiser_id_reported_at", "advertiser_id", "reported_at"),
)
