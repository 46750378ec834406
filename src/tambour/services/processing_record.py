"""The record of processing activities (GDPR Art. 30), made from what Tambour is configured with
and what its database holds, never from a template: for an advertiser as controller (Art.
30(1)) and for the operator as processor (Art. 30(2)).

- Purposes: the natures and channels of the advertiser's campaigns and messages, its consent
  forms and short links, and what Tambour always does with the data (oppositions honoured, the
  proof kept, the people's requests answered).
- Categories of people and of data: counted from the contacts (persons, professionals; customers
  by their purchases, members, prospects the others), the profiles' field names (never a
  value; a name that reads as a phone number is counted, not named), the kinds of evidence and
  the messages, replies, clicks and form submissions held.
- Recipients: the carriers of the transport configuration, with the messages each took for the
  advertiser, its webhook endpoints (hosts only: a URL may hold a receiver's credentials), the
  operator as processor. Transfers outside the EEA: those a host's country domain tells of;
  none known otherwise, and the record says where it cannot tell.
- Retention: rules.md section 3 step 5 (rules/retention.py) and the settings' periods.
- Security measures: those the code applies (each one checked there), and what the
  configuration adds or lacks (TLS to each carrier, https to each endpoint, second factors).

What is missing (a controller's address, a DPO, the operator's name) is said, not invented.
Every query of an advertiser's record names it; the processor's record reads no contact.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Connection, distinct, func, select, text

from tambour import __version__
from tambour.rules.retention import RETENTION_YEARS
from tambour.services import advertisers
from tambour.services.advertisers import Advertiser
from tambour.services.audit import looks_like_phone
from tambour.services.context import Context
from tambour.services.processing_setup import (
    Carrier,
    Party,
    Setup,
    Transport,
    country_outside_eea,
    party,
)
from tambour.services.views import View
from tambour.store.engine import reader
from tambour.store.tables import (
    advertisers as advertisers_table,
)
from tambour.store.tables import (
    campaigns,
    consent_forms,
    contacts,
    data_requests,
    evidence,
    form_submissions,
    link_clicks,
    memberships,
    message_links,
    outbox,
    plan_rows,
    replies,
    suppressions,
    users,
    webhook_endpoints,
)

# What Tambour always does with an advertiser's data, whatever its campaigns.
STANDING_PURPOSES: Final = ("opposition", "proof", "data_requests")
# The profile's own fields (contacts/ledger.py PROFILE_FIELDS) as the record groups them.
IDENTITY_FIELDS: Final = ("external_id", "first_name", "last_name", "company")
# Measures the code applies on every installation (each checked where it is said: the README's
# sections on the secret key, the web app and the API).
CODE_MEASURES: Final = (
    "argon2id_passwords",  # services/passwords.py: pwdlib's Argon2id
    "login_throttling",  # services/users.py: waits after failed logins
    "server_sessions",  # services/sessions.py: a random token, its SHA-256 in the database
    "csrf",  # web/visitors.py: a token in every form, cross-site POSTs refused
    "roles",  # services/roles.py: viewer, marketer, admin; the operator reads no contact
    "api_keys_hashed",  # services/api_keys.py: SHA-256 of the token, scopes
    "tenant_isolation",  # every query names its advertiser; another's data is 404
    "keys_outside_database",  # tambour/keys.py: the secret key; suppression keys wrapped
    "keyed_suppression",  # services/suppression.py: HMAC-SHA256 of the number
    "seals_and_audit_chain",  # services/seals.py, services/audit.py
    "truncated_addresses",  # rules/network.py: IPs of clicks and forms cut to /24 or /48
    "owner_only_files",  # outfiles.py: exports, uploads, answers; a new SQLite database
    "logs_without_numbers",  # logs.py: no number nor text logged, masked if one slips in
)
# Measure states.
IN_FORCE: Final = "in_force"
PARTIAL: Final = "partial"
NOT_IN_FORCE: Final = "not_in_force"


@dataclass(frozen=True, slots=True)
class Counted(View):
    code: str
    count: int


@dataclass(frozen=True, slots=True)
class Purpose(View):
    """A purpose: a campaign nature (commercial, non_commercial, political, transactional)
    with its channels and counts, or consent_forms, short_links, or a standing one."""

    code: str
    channels: tuple[str, ...] = ()
    campaigns: int = 0  # campaigns (and messages sent one by one) of that nature
    messages: int = 0  # for a nature: messages handed to the outbox; else what it counts


@dataclass(frozen=True, slots=True)
class Endpoint(View):
    """A webhook endpoint of the advertiser, by its host alone."""

    host: str
    encrypted: bool  # https
    enabled: bool


@dataclass(frozen=True, slots=True)
class Transfer(View):
    """A possible transfer outside the EEA: a host whose domain is a non-EEA country's."""

    host: str
    country: str  # the domain's country code, lower case


@dataclass(frozen=True, slots=True)
class Retention(View):
    """How long a category is kept: `years` or `days`, or neither (then `code` says: kept
    pseudonymised, kept for good, while open)."""

    code: str
    years: int | None = None
    days: int | None = None


@dataclass(frozen=True, slots=True)
class Measure(View):
    """A security measure: in force, partial or not in force, with what it is about
    (`subjects`: the carriers or endpoints without encryption) and counts when they say more."""

    code: str
    state: str = IN_FORCE
    subjects: tuple[str, ...] = ()
    count: int | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class ControllerRecord(View):
    """An advertiser's record (Art. 30(1))."""

    made_at: datetime
    version: str
    slug: str
    controller: Party
    processor: Party
    purposes: tuple[Purpose, ...]
    people: tuple[Counted, ...]
    profile_fields: tuple[Counted, ...]  # identity, postal code, tags: contacts having each
    custom_fields: tuple[Counted, ...]  # names of the personalization fields
    unnamed_fields: int  # custom fields whose name reads as a phone number: counted only
    data: tuple[Counted, ...]  # evidence by kind, messages, replies, clicks...
    transport: Transport
    carriers_used: tuple[Counted, ...]  # messages each carrier took ('' the one transport)
    endpoints: tuple[Endpoint, ...]
    transfers: tuple[Transfer, ...]
    retention: tuple[Retention, ...]
    security: tuple[Measure, ...]


@dataclass(frozen=True, slots=True)
class Controller(View):
    slug: str
    party: Party


@dataclass(frozen=True, slots=True)
class ProcessorRecord(View):
    """The operator's record as processor (Art. 30(2))."""

    made_at: datetime
    version: str
    processor: Party
    controllers: tuple[Controller, ...]
    processing: tuple[Purpose, ...]  # the natures used on the platform, counted
    transport: Transport
    transfers: tuple[Transfer, ...]
    retention: tuple[Retention, ...]
    security: tuple[Measure, ...]


def for_advertiser(ctx: Context, slug: str, setup: Setup) -> ControllerRecord:
    """The record of processing of advertiser `slug` (NotFoundError when there is none),
    made now from `setup` and its data, in one read."""
    with reader(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        dialect = conn.dialect.name
        fields, unnamed = _custom_fields(conn, advertiser.id, dialect)
        endpoints = _endpoints(conn, advertiser.id)
        return ControllerRecord(
            made_at=ctx.now(),
            version=__version__,
            slug=advertiser.slug,
            controller=controller_party(advertiser),
            processor=setup.processor,
            purposes=_purposes(conn, advertiser.id),
            people=_people(conn, advertiser.id),
            profile_fields=_profile_fields(conn, advertiser.id, dialect),
            custom_fields=fields,
            unnamed_fields=unnamed,
            data=_data(conn, advertiser.id),
            transport=setup.transport,
            carriers_used=_carriers_used(conn, advertiser.id),
            endpoints=endpoints,
            transfers=_transfers(setup.transport.carriers, endpoints),
            retention=_retention(setup),
            security=_security(
                setup.transport.carriers, endpoints, _second_factors(conn, advertiser.id),
                sqlite=dialect == "sqlite", webhooks=bool(endpoints),
            ),
        )  # fmt: skip


def for_processor(ctx: Context, setup: Setup) -> ProcessorRecord:
    """The operator's record as processor, made now from `setup` and the advertisers it
    processes for (their names and contact details; of their data, only how many campaigns
    of each nature: no contact is read)."""
    with reader(ctx.engine) as conn:
        found = conn.execute(select(advertisers_table).order_by(advertisers_table.c.slug)).all()
        controllers = tuple(Controller(row.slug, controller_party(row)) for row in found)
        return ProcessorRecord(
            made_at=ctx.now(),
            version=__version__,
            processor=setup.processor,
            controllers=controllers,
            processing=_purposes(conn, None),
            transport=setup.transport,
            transfers=_transfers(setup.transport.carriers, ()),
            retention=_retention(setup),
            security=_security(
                setup.transport.carriers, (), _second_factors(conn, None),
                sqlite=conn.dialect.name == "sqlite", webhooks=True,
            ),
        )  # fmt: skip


def controller_party(advertiser: Advertiser | Any) -> Party:
    """An advertiser (a record or its row) as the controller a record names."""
    return party(
        advertiser.name, advertiser.address, advertiser.contact_email, advertiser.dpo_name,
        advertiser.dpo_email,
    )  # fmt: skip


# --- purposes ----------------------------------------------------------------------------------


def _purposes(conn: Connection, advertiser_id: int | None) -> tuple[Purpose, ...]:
    """The natures of the campaigns (drafts included: planning weighs the contacts already)
    and of the messages sent one by one, with their channels and the messages handed to the
    outbox; then forms, short links and the standing purposes (an advertiser's record only)."""
    mine = () if advertiser_id is None else (campaigns.c.advertiser_id == advertiser_id,)
    made = select(campaigns.c.nature, campaigns.c.channel, func.count()).where(*mine)
    sent = (
        select(campaigns.c.nature, func.count())
        .select_from(outbox.join(campaigns, campaigns.c.id == outbox.c.campaign_id))
        .where(*mine)
        .group_by(campaigns.c.nature)
    )
    natures: dict[str, dict[str, Any]] = {}
    for nature, channel, count in conn.execute(
        made.group_by(campaigns.c.nature, campaigns.c.channel)
    ):
        entry = natures.setdefault(nature, {"channels": set(), "campaigns": 0, "messages": 0})
        entry["channels"].add(channel)
        entry["campaigns"] += count
    for nature, count in conn.execute(sent):
        natures[nature]["messages"] = count
    found = [
        Purpose(nature, tuple(sorted(entry["channels"])), entry["campaigns"], entry["messages"])
        for nature, entry in sorted(natures.items())
    ]
    if advertiser_id is None:
        return tuple(found)
    forms = _count(conn, consent_forms, consent_forms.c.advertiser_id == advertiser_id)
    if forms:
        found.append(Purpose("consent_forms", campaigns=forms))
    links = _count(
        conn,
        message_links,
        message_links.c.advertiser_id == advertiser_id,
        message_links.c.kind == "go",
    )
    if links:
        found.append(Purpose("short_links", messages=links))
    found.extend(Purpose(code) for code in STANDING_PURPOSES)
    return tuple(found)


# --- people and data ---------------------------------------------------------------------------


def _people(conn: Connection, advertiser_id: int) -> tuple[Counted, ...]:
    """Contacts held (not erased) by kind; customers (a purchase recorded), members (a
    membership), prospects (neither); the erased (what is left of them is pseudonymised);
    the people who filled a form and are not contacts (yet)."""
    live = (contacts.c.advertiser_id == advertiser_id, contacts.c.erased_at.is_(None))
    kinds: dict[str, int] = dict(
        conn.execute(
            select(contacts.c.kind, func.count()).where(*live).group_by(contacts.c.kind)
        ).all()
    )
    total = sum(kinds.values())

    def with_evidence(*kinds_of: str) -> int:
        query = (
            select(func.count(distinct(evidence.c.contact_id)))
            .select_from(evidence.join(contacts, contacts.c.id == evidence.c.contact_id))
            .where(evidence.c.advertiser_id == advertiser_id, evidence.c.kind.in_(kinds_of), *live)
        )
        return int(conn.execute(query).scalar_one())

    customers = with_evidence("purchase")
    members = with_evidence("membership")
    either = with_evidence("purchase", "membership")
    erased = _count(
        conn, contacts, contacts.c.advertiser_id == advertiser_id, contacts.c.erased_at.is_not(None)
    )
    pending = _count(
        conn,
        form_submissions,
        form_submissions.c.advertiser_id == advertiser_id,
        form_submissions.c.contact_id.is_(None),
    )
    counted = [
        ("person", kinds.get("person", 0)),
        ("professional", kinds.get("professional", 0)),
        ("prospect", total - either),
        ("customer", customers),
        ("member", members),
        ("form_only", pending),
        ("erased", erased),
    ]
    return tuple(Counted(code, count) for code, count in counted if count)


def _profile_fields(conn: Connection, advertiser_id: int, dialect: str) -> tuple[Counted, ...]:
    """The profile's own fields present (identity, postal code, tags), each with the number of
    contacts that have it: names only."""
    found = dict(_json_keys(conn, advertiser_id, dialect, nested=False))
    return tuple(Counted(name, found[name]) for name in _PROFILE_ORDER if found.get(name))


_PROFILE_ORDER: Final = (*IDENTITY_FIELDS, "postal_code", "profession_tags", "tags")


def _custom_fields(
    conn: Connection, advertiser_id: int, dialect: str
) -> tuple[tuple[Counted, ...], int]:
    """The names of the personalization fields present, with the contacts having each; and how
    many names read as phone numbers (a column headed with a number: counted, never named)."""
    named: list[Counted] = []
    unnamed = 0
    for name, count in sorted(_json_keys(conn, advertiser_id, dialect, nested=True)):
        if looks_like_phone(name):
            unnamed += 1
        else:
            named.append(Counted(name, count))
    return tuple(named), unnamed


def _json_keys(
    conn: Connection, advertiser_id: int, dialect: str, *, nested: bool
) -> list[tuple[str, int]]:
    """The keys of the live contacts' profiles (`nested`: of their `fields`), each with the
    number of contacts that have it, by the database's own JSON functions (one scan)."""
    if dialect == "postgresql":
        value = "c.profile -> 'fields'" if nested else "c.profile"
        keys = f"json_object_keys(CASE WHEN json_typeof({value}) = 'object' THEN {value} END)"
        query = (
            f"SELECT k.key, count(*) FROM contacts AS c, {keys} AS k(key) "
            "WHERE c.advertiser_id = :advertiser AND c.erased_at IS NULL GROUP BY k.key"
        )
    else:
        path = "'$.fields'" if nested else "'$'"
        query = (
            f"SELECT k.key, count(*) FROM contacts AS c, json_each(c.profile, {path}) AS k "
            "WHERE c.advertiser_id = :advertiser AND c.erased_at IS NULL "
            f"AND json_type(c.profile, {path}) = 'object' GROUP BY k.key"
        )
    rows = conn.execute(text(query), {"advertiser": advertiser_id}).all()
    return [(str(key), int(count)) for key, count in rows]


def _data(conn: Connection, advertiser_id: int) -> tuple[Counted, ...]:
    """The kinds of evidence held, then what else is held on people, each counted."""
    by_kind = conn.execute(
        select(evidence.c.kind, func.count())
        .where(evidence.c.advertiser_id == advertiser_id)
        .group_by(evidence.c.kind)
        .order_by(evidence.c.kind)
    ).all()
    found = [Counted(f"evidence.{kind}", count) for kind, count in by_kind]
    mine = advertiser_id
    for code, table, extra in (
        ("phone_numbers", contacts, (contacts.c.e164.is_not(None),)),
        ("plan_rows", plan_rows, ()),
        ("messages", outbox, ()),
        ("replies", replies, ()),
        ("clicks", link_clicks, ()),
        ("form_submissions", form_submissions, ()),
        ("suppressions", suppressions, ()),
        ("data_requests", data_requests, ()),
    ):
        count = _count(conn, table, table.c.advertiser_id == mine, *extra)
        if count:
            found.append(Counted(code, count))
    return tuple(found)


def _count(conn: Connection, table: Any, *where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


# --- recipients and transfers ------------------------------------------------------------------


def _carriers_used(conn: Connection, advertiser_id: int) -> tuple[Counted, ...]:
    rows = conn.execute(
        select(outbox.c.carrier, func.count())
        .where(outbox.c.advertiser_id == advertiser_id, outbox.c.carrier.is_not(None))
        .group_by(outbox.c.carrier)
        .order_by(outbox.c.carrier)
    )
    return tuple(Counted(carrier, count) for carrier, count in rows)


def _endpoints(conn: Connection, advertiser_id: int) -> tuple[Endpoint, ...]:
    hosts: dict[tuple[str, bool], bool] = {}
    for url, state in conn.execute(
        select(webhook_endpoints.c.url, webhook_endpoints.c.state)
        .where(webhook_endpoints.c.advertiser_id == advertiser_id)
        .order_by(webhook_endpoints.c.id)
    ):
        parts = urlsplit(url)
        key = (parts.hostname or "?", parts.scheme == "https")
        hosts[key] = hosts.get(key, False) or state == "enabled"
    return tuple(Endpoint(host, https, on) for (host, https), on in hosts.items())


def _transfers(carriers: Iterable[Carrier], endpoints: Iterable[Endpoint]) -> tuple[Transfer, ...]:
    hosts = [c.host for c in carriers if c.host] + [e.host for e in endpoints]
    found = {host: country for host in hosts if (country := country_outside_eea(host))}
    return tuple(Transfer(host, country) for host, country in found.items())


# --- retention and security --------------------------------------------------------------------


def _retention(setup: Setup) -> tuple[Retention, ...]:
    return (
        Retention("prospects", years=RETENTION_YEARS),
        Retention("customers", years=RETENTION_YEARS),
        Retention("message_texts", days=setup.texts_days),
        Retention("reply_texts", days=setup.replies_days),
        Retention("clicks", days=setup.clicks_days),
        Retention("evidence"),
        Retention("suppressions"),
        Retention("data_requests"),
        Retention("audit_log"),
    )


def _second_factors(conn: Connection, advertiser_id: int | None) -> tuple[int, int]:
    """(accounts with a confirmed second factor, active accounts) of the advertiser (None:
    the operators)."""
    where = (
        memberships.c.advertiser_id == advertiser_id
        if advertiser_id is not None
        else memberships.c.advertiser_id.is_(None)
    )
    query = (
        select(users.c.id, users.c.totp_confirmed_at)
        .select_from(users.join(memberships, memberships.c.user_id == users.c.id))
        .where(where, users.c.state == "active")
        .distinct()
    )
    found = conn.execute(query).all()
    return sum(1 for row in found if row.totp_confirmed_at is not None), len(found)


def _security(
    carriers: tuple[Carrier, ...],
    endpoints: tuple[Endpoint, ...],
    factors: tuple[int, int],
    *,
    sqlite: bool,
    webhooks: bool,
) -> tuple[Measure, ...]:
    """The measures in force: the code's; signed webhooks where there are any (`webhooks`);
    encryption to each carrier and endpoint; second factors; owner-only SQLite files."""
    measures = [Measure(code) for code in CODE_MEASURES]
    if webhooks:
        measures.append(Measure("signed_webhooks"))  # webhooks/signing.py: Standard Webhooks
    sending = [c for c in carriers if c.kind != "record-only"]
    if sending:
        plain = tuple(c.name or c.host or "?" for c in sending if not c.encrypted)
        measures.append(Measure("carrier_encryption", _state(plain, sending), plain))
    if endpoints:
        plain = tuple(e.host for e in endpoints if not e.encrypted)
        measures.append(Measure("webhook_encryption", _state(plain, endpoints), plain))
    with_factor, accounts = factors
    if accounts:
        state = IN_FORCE if with_factor == accounts else PARTIAL if with_factor else NOT_IN_FORCE
        measures.append(Measure("second_factor", state, count=with_factor, total=accounts))
    if sqlite:
        measures.append(Measure("owner_only_database"))
    return tuple(measures)


def _state(plain: tuple[str, ...], every: Iterable[object]) -> str:
    if not plain:
        return IN_FORCE
    return NOT_IN_FORCE if len(plain) == len(list(every)) else PARTIAL
