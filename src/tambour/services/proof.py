"""`proof`: why one recipient was messaged or not, for a data-protection officer.

For one phone number of one advertiser, everything Tambour holds that proves each decision:
- the contact, and for each campaign whose current plan names it (most recent first): the plan
  row (the decision, its legal basis or reason code with its French label and the rule of
  docs/rules.md it applies), the evidence the plan weighed (the contact's facts up to the
  largest id the plan row saw) and any recorded since, and the dispatch trail of its message
  (queued at launch, the worker's batches, the carrier's parts and receipts);
- the advertiser's suppression entry for the number, and the replies it sent;
- the audit entries that wrote or name these rows, with their place in the hash chain, and
  whether each row's seal (services/seals.py) and each entry's hash still match.

Tenants are isolated: every read names the advertiser; another advertiser's contact, plan rows,
messages and replies for the same number are never read.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from tambour.contacts.values import paris_time
from tambour.services import advertisers, campaigns, form_submissions
from tambour.services.advertisers import Advertiser
from tambour.services.audit import entry_hash, without_phones
from tambour.services.campaigns import Campaign
from tambour.services.contacts import valid_number
from tambour.services.context import Context, NotFoundError
from tambour.services.proof_records import (
    Entry,
    Fact,
    Message,
    Part,
    Planned,
    Proof,
    Replied,
    Step,
    Suppressed,
    paris_iso,
    rule,
)
from tambour.services.seals import PLAN_SEALED, current_sealer, fact_fingerprint
from tambour.services.suppression import phone_hash
from tambour.store.bulk import driver_cursor, mark, read_instant
from tambour.store.engine import snapshot
from tambour.store.tables import campaigns as campaign_rows
from tambour.store.tables import contacts, outbox, outbox_parts, plan_rows, replies

# What a worker's batch entry says of its messages (dispatch/journal.py).
_DISPATCH_NOTES: Final = frozenset(
    {"submitted", "recorded", "failed", "expired", "cancelled", "unknown"}
)
# What a refusal says, by its code (the parameter it is about is said by each entry point).
TEXTS: Final = {"number_not_found": "{slug} has no contact, opt-out or reply from {e164}"}

# --- reading ----------------------------------------------------------------------------------


def _instant(value: Any) -> datetime | None:
    return None if value is None else read_instant(value)


def _facts(conn: Connection, advertiser: Advertiser, contact_id: int) -> list[Fact]:
    """The contact's evidence in id order, each checked against its seal (as `audit verify`
    does: the row's seal, and the fingerprint made again from the fact's kind, time and data)."""
    data = "data::text" if conn.dialect.name == "postgresql" else "data"
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        "SELECT id, advertiser_id, contact_id, kind, occurred_at, "
        f"{data}, fingerprint, source, recorded_at, recorded_by, seal FROM evidence "
        f"WHERE contact_id = {q} AND advertiser_id = {q} ORDER BY id",
        [contact_id, advertiser.id],
    )
    seal = current_sealer().evidence
    found = []
    for row in cursor.fetchall():
        stored = row[10]
        ok = (
            stored is not None
            and bytes(stored) == seal(row[:10])
            and bytes(row[6]) == fact_fingerprint(row[3], row[4], row[5])
        )
        found.append(
            Fact(
                id=row[0], kind=row[3], at=_instant(row[4]), data=json.loads(row[5]),
                source=row[7], recorded_at=read_instant(row[8]), recorded_by=row[9], seal_ok=ok,
            )
        )  # fmt: skip
    return found


def _plan_seal_ok(conn: Connection, campaign_id: int, generation: int, contact_id: int) -> bool:
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        f"SELECT {', '.join(PLAN_SEALED)}, seal FROM plan_rows "
        f"WHERE campaign_id = {q} AND generation = {q} AND contact_id = {q}",
        [campaign_id, generation, contact_id],
    )
    row = cursor.fetchone()
    if row is None or row[-1] is None:
        return False
    values = [bytes(v) if isinstance(v, memoryview) else v for v in row[:-1]]
    return bytes(row[-1]) == current_sealer().plan_row(values)


def _message(conn: Connection, campaign: Campaign, contact_id: int) -> Any:
    return conn.execute(
        select(outbox).where(
            outbox.c.advertiser_id == campaign.advertiser.id,
            outbox.c.campaign_id == campaign.id,
            outbox.c.contact_id == contact_id,
        )
    ).first()


def _parts(conn: Connection, advertiser: Advertiser, outbox_id: int) -> tuple[Part, ...]:
    found = conn.execute(
        select(outbox_parts)
        .where(outbox_parts.c.outbox_id == outbox_id, outbox_parts.c.advertiser_id == advertiser.id)
        .order_by(outbox_parts.c.part)
    )
    return tuple(
        Part(r.part, r.of_parts, r.carrier_key, r.outcome, r.error_code, r.done_at) for r in found
    )


def _suppression(conn: Connection, advertiser: Advertiser, e164: str) -> Suppressed | None:
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        "SELECT id, advertiser_id, phone_hash, source, suppressed_at, recorded_at, seal "
        f"FROM suppressions WHERE advertiser_id = {q} AND phone_hash = {q}",
        [advertiser.id, phone_hash(advertiser, e164)],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    values = (row[0], row[1], bytes(row[2]), row[3], row[4], row[5])
    ok = row[6] is not None and bytes(row[6]) == current_sealer().suppression(values)
    return Suppressed(row[0], row[3], read_instant(row[4]), read_instant(row[5]), ok)


def _replies(conn: Connection, advertiser: Advertiser, e164: str) -> tuple[Replied, ...]:
    found = conn.execute(
        select(replies)
        .where(replies.c.advertiser_id == advertiser.id, replies.c.e164 == e164)
        .order_by(replies.c.received_at, replies.c.id)
    )
    return tuple(
        Replied(
            r.id, r.to_number, r.text, r.meaning, r.status, r.received_at, r.handled_at,
            r.handled_by,
        )
        for r in found
    )  # fmt: skip


def _planned_campaigns(
    conn: Connection, advertiser: Advertiser, contact_id: int, only: Campaign | None
) -> list[tuple[Campaign, Any]]:
    """The advertiser's campaigns whose current plan names the contact, with its plan row,
    the most recently planned first."""
    query = (
        select(campaign_rows.c.name, plan_rows)
        .join(
            plan_rows,
            (plan_rows.c.campaign_id == campaign_rows.c.id)
            & (plan_rows.c.generation == campaign_rows.c.plan_generation)
            & (plan_rows.c.advertiser_id == campaign_rows.c.advertiser_id),
        )
        .where(campaign_rows.c.advertiser_id == advertiser.id, plan_rows.c.contact_id == contact_id)
        .order_by(campaign_rows.c.planned_at.desc(), campaign_rows.c.id.desc())
    )
    if only is not None:
        query = query.where(campaign_rows.c.id == only.id)
    return [
        (campaigns.resolve(conn, row.name, advertiser.slug), row)
        for row in conn.execute(query).all()
    ]


# --- the audit entries ------------------------------------------------------------------------


def _covered(runs: Iterable[Sequence[int]], ids: Iterable[int]) -> list[int]:
    spans = [(int(r[0]), int(r[1])) for r in runs]
    return [i for i in ids if any(first <= i <= last for first, last in spans)]


@dataclass
class _Wanted:
    """The rows of the proof, to find the audit entries that name them."""

    evidence: set[int] = field(default_factory=set)
    suppression: int | None = None
    plans: dict[tuple[int, int], str] = field(default_factory=dict)  # (campaign, gen): name
    named: dict[str, int] = field(default_factory=dict)  # masked campaign name: campaign id
    messages: dict[int, set[int]] = field(default_factory=dict)  # campaign id: outbox ids
    replies: set[int] = field(default_factory=set)

    def covers(self, action: str, details: dict[str, Any]) -> list[str]:
        said: list[str] = []
        rows = details.get("rows")
        if isinstance(rows, dict):
            for i in _covered(rows.get("evidence", ()), sorted(self.evidence)):
                said.append(f"evidence #{i}")
            sid = self.suppression
            if sid is not None and (
                _covered(rows.get("suppressions", ()), [sid])
                or any(int(r[0]) == sid for r in rows.get("suppressions_rewritten", ()))
            ):
                said.append(f"suppression entry #{sid}")
            for listed in rows.get("plans", ()):
                name = self.plans.get((int(listed[0]), int(listed[1])))
                if name is not None:
                    said.append(f"plan of {name!r} (generation {listed[1]}, {listed[2]} rows)")
        if action == "dispatch.batch":
            ids = self.messages.get(details.get("campaign_id", -1), set())
            for what, runs in sorted(details.items()):
                if what in _DISPATCH_NOTES and isinstance(runs, list):
                    said += [f"message #{i} {what}" for i in _covered(runs, sorted(ids))]
        if action.startswith("reply."):
            kept = _covered(details.get("reply_ids", ()), sorted(self.replies))
            said += [f"reply #{i}" for i in kept]
        if action in ("campaign.launch", "campaign.cancel", "campaign.winner"):
            campaign = details.get("campaign")
            named_id = details.get("campaign_id")  # entries written before it: the name alone
            if isinstance(campaign, str) and (
                self.named.get(campaign) == named_id
                if isinstance(named_id, int)
                else campaign in self.named
            ):
                verb = _VERBS[action]
                said.append(f"{verb} of {campaign!r}")
        return said


_VERBS: Final = {
    "campaign.launch": "launch",
    "campaign.cancel": "cancellation",
    "campaign.winner": "A/B test winner",
}


def _entries(conn: Connection, advertiser: Advertiser, wanted: _Wanted) -> list[Entry]:
    """The advertiser's audit entries (and the operator's, which have none) that name a row of
    the proof, in chain order. Read a batch at a time; only entries that can name rows are
    parsed."""
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        "SELECT seq, at, actor, action, advertiser_id, details, prev_hash, hash FROM audit_log"
        f" WHERE (advertiser_id = {q} OR advertiser_id IS NULL)"
        f" AND (details LIKE {q} OR action LIKE {q}"
        " OR action IN ('dispatch.batch', 'campaign.launch', 'campaign.cancel',"
        " 'campaign.winner')) ORDER BY seq",
        [advertiser.id, '%"rows":%', "reply.%"],
    )
    found: list[Entry] = []
    while batch := cursor.fetchmany(1000):
        for seq, at, actor, action, advertiser_id, details, prev, digest in batch:
            covers = wanted.covers(action, json.loads(details))
            if not covers:
                continue
            when = read_instant(at)
            intact = digest == entry_hash(seq, when, actor, action, advertiser_id, details, prev)
            found.append(Entry(seq, when, actor, action, prev, digest, intact, tuple(covers)))
    return found


def _plan_entries(entries: Sequence[Entry], campaign: Campaign) -> tuple[int, ...]:
    """The seqs of the entries that made the campaign's plan, then launched and cancelled it
    (the first of each after the plan was made: a name may be used again later)."""
    name = without_phones(campaign.name)
    made = [e for e in entries if any(c.startswith(f"plan of {name!r}") for c in e.covers)]
    after = made[-1].seq if made else 0
    found = [e.seq for e in made]
    for what in (
        f"launch of {name!r}",
        f"A/B test winner of {name!r}",
        f"cancellation of {name!r}",
    ):
        found += [e.seq for e in entries if e.seq > after and what in e.covers][:1]
    return tuple(sorted(found))


# --- the use case -----------------------------------------------------------------------------


def _trail(message: Any, parts: Sequence[Part], entries: Sequence[Entry]) -> tuple[Step, ...]:
    """The message's life from the outbox row, its parts and the audit entries naming it."""
    steps = [Step(message.created_at, "queued at launch")]
    for entry in entries:
        for said in entry.covers:
            if said.startswith(f"message #{message.id} "):
                steps.append(Step(entry.at, f"worker batch: {said.split(' ', 2)[2]}", entry.seq))
    if message.submitted_at is not None:
        valid = message.valid_until
        steps.append(
            Step(
                message.submitted_at,
                f"taken by the carrier, {len(parts)} part(s)"
                + (f", valid until {paris_time(valid, seconds=True)}" if valid else ""),
            )
        )
    for p in parts:
        if p.outcome is not None:
            code = f", error {p.error_code}" if p.error_code else ""
            steps.append(
                Step(p.done_at, f"receipt: part {p.part} {p.outcome} (id {p.message_id}){code}")
            )
    if message.state == "queued" and message.reason:
        steps.append(
            Step(
                message.updated_at,
                f"held until {paris_time(message.send_at, seconds=True)} ({message.reason})",
            )
        )
    if message.done_at is not None:
        why = f" ({message.reason})" if message.reason else ""
        steps.append(Step(message.done_at, f"final state: {message.state}{why}"))
    first = datetime.min.replace(tzinfo=UTC)
    return tuple(sorted(steps, key=lambda s: s.at or first))


def proof(ctx: Context, *, slug: str, number: str, campaign: str | None = None) -> Proof:
    """The proof for `number` (any notation) with advertiser `slug`, in every campaign whose
    current plan names it, or in `campaign` only. Raises InvalidInputError for a number that
    cannot be read, NotFoundError for an unknown advertiser or campaign, or a number the
    advertiser never had (no contact, no suppression entry, no reply)."""
    e164 = valid_number(number)
    with snapshot(ctx.engine) as conn:
        advertiser = advertisers.get(conn, slug)
        only = (
            campaigns.resolve(conn, campaign, slug, field="campaign")
            if campaign is not None
            else None
        )
        contact = conn.execute(
            select(contacts).where(
                contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164
            )
        ).first()
        suppressed = _suppression(conn, advertiser, e164)
        replied = _replies(conn, advertiser, e164)
        if contact is None and suppressed is None and not replied:
            said = TEXTS["number_not_found"].format(slug=slug, e164=e164)
            raise NotFoundError(said, code="number_not_found", field="number")
        contact_id: int = contact.id if contact is not None else 0
        facts = _facts(conn, advertiser, contact_id) if contact is not None else []
        rows = _planned_campaigns(conn, advertiser, contact_id, only) if contact else []
        wanted = _Wanted(
            evidence={f.id for f in facts},
            suppression=suppressed.id if suppressed else None,
            replies={r.id for r in replied},
        )
        messages: dict[int, Any] = {}
        for found, row in rows:
            wanted.plans[(found.id, row.generation)] = without_phones(found.name)
            wanted.named[without_phones(found.name)] = found.id
            message = _message(conn, found, contact_id)
            if message is not None:
                messages[found.id] = message
                wanted.messages[found.id] = {message.id}
        entries = _entries(conn, advertiser, wanted)
        plans = [
            _planned(conn, found, row, facts, messages.get(found.id), entries)
            for found, row in rows
        ]
    return Proof(
        advertiser=advertiser,
        number=e164,
        made_at=ctx.now(),
        contact=_contact(contact),
        evidence=tuple(facts),
        plans=tuple(plans),
        campaign=only.name if only else None,
        suppression=suppressed,
        replies=replied,
        audit=tuple(entries),
        forms=tuple(
            form_submissions.of_contact(ctx, advertiser_id=advertiser.id, contact_id=contact_id)
            if contact is not None
            else ()
        ),
    )


def _contact(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "kind": row.kind,
        "profile": row.profile,
        "created_at": paris_iso(row.created_at),
        "updated_at": paris_iso(row.updated_at),
    }


def _planned(
    conn: Connection,
    found: Campaign,
    row: Any,
    facts: Sequence[Fact],
    message: Any,
    entries: Sequence[Entry],
) -> Planned:
    code = row.basis if row.decision == "send" else row.reason
    message_item = None
    if message is not None:
        parts = _parts(conn, found.advertiser, message.id)
        message_item = Message(
            id=message.id, state=message.state, reason=message.reason, sender=message.sender,
            attempts=message.attempts, send_at=message.send_at, send_by=message.send_by,
            queued_at=message.created_at, submitted_at=message.submitted_at,
            valid_until=message.valid_until, done_at=message.done_at,
            error_code=message.error_code, error=message.last_error, parts=parts,
            trail=_trail(message, parts, entries),
        )  # fmt: skip
    return Planned(
        campaign=found, generation=row.generation, contact_id=row.contact_id,
        decision=row.decision, rule=rule(code or ""),
        deferral=rule(row.deferral) if row.deferral else None, territory=row.territory,
        timezone=row.timezone, postal_code=row.postal_code, send_at=row.send_at,
        segments=row.segments, encoding=row.encoding, ucs2_chars=row.ucs2_chars, text=row.text,
        variant=row.variant, ab_group=row.ab_group,
        retain_until=row.retain_until, seen_evidence=row.seen_evidence,
        seal_ok=_plan_seal_ok(conn, found.id, row.generation, row.contact_id),
        evidence=tuple(f for f in facts if f.id <= row.seen_evidence),
        evidence_since=tuple(f for f in facts if f.id > row.seen_evidence),
        message=message_item, audit=_plan_entries(entries, found),
    )  # fmt: skip


def entries_of(proof: Proof, seqs: Iterable[int]) -> Iterator[Entry]:
    wanted = set(seqs)
    return (e for e in proof.audit if e.seq in wanted)
