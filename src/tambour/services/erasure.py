"""Erasure of a person's data at one advertiser (GDPR Art. 17; rules.md: `erasure`): every
personal datum goes (the number, the contact's fields, message texts, replies, what webhook
events and stored API answers quoted), while what must stay stays, pseudonymised:
- the number's keyed hash on the suppression list, so it is never messaged again;
- the contact's row (its id, `erased_at`) and its evidence rows, their data replaced by
  ERASED_DATA: each keeps its kind, dates, source and fingerprint (a keyed-free commitment to
  what it said, which no longer can be read back), and its seal;
- plan rows and messages: the decision, basis, dates and outcome, without number or text.

The audit chain still verifies afterwards: the erasure's audit entry lists the evidence rows
it blanked (`evidence_erased`) and the plan rows it rewrote, with their seals before and after
(`plan_rows_rewritten`), which `audit verify` (services/ledger_proof.py) takes into account.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, func, select, update

from tambour.contacts.ledger import Evidence, EvidenceKind, profile_hash
from tambour.rules.codes import OptOutSource, Reason
from tambour.services import complaints
from tambour.services.advertisers import Advertiser
from tambour.services.ledger_writes import insert_evidence
from tambour.services.optouts import record_optouts
from tambour.services.seals import PLAN_SEALED, Written, current_sealer
from tambour.services.suppression import phone_hash
from tambour.services.views import View
from tambour.store.bulk import copy_time, driver_cursor, mark
from tambour.store.tables import (
    WAITING_STATES,
    api_keys,
    campaigns,
    contacts,
    data_requests,
    early_receipts,
    evidence,
    form_submissions,
    idempotency_keys,
    link_clicks,
    outbox,
    plan_rows,
    replies,
    webhook_events,
)

# What an erased evidence row's data becomes (no fact Tambour records has this key).
ERASED_DATA: Final = '{"erased":true}'
ERASED: Final = ""  # what a required text column holds once erased (a number, a text)
_EMPTY_PROFILE: Final = "{}"


@dataclass(frozen=True, slots=True)
class Erased(View):
    """What an erasure did, in counts (the number by the start of its keyed hash)."""

    phone_ref: str
    contact_id: int | None
    evidence: int  # evidence rows whose data went
    plan_rows: int  # plan rows without number and text now
    messages: int  # messages without number and text now
    cancelled: int  # of them, queued messages that will not leave
    replies: int
    webhook_events: int  # events whose quote of the number or a text went
    stored_answers: int  # API answers kept for idempotent retries, dropped
    suppressed: bool  # put on the suppression list by this erasure (else it was already)
    clicks: int = 0  # its short links followed: gone (the campaign's counts lose them)


def erase(
    conn: Connection,
    advertiser: Advertiser,
    e164: str,
    *,
    now: datetime,
    actor: str,
    origin: str,
    written: Written,
) -> Erased:
    """Erase what `advertiser` holds on `e164`, in the caller's transaction; the rows sealed
    or rewritten go to `written`, which the caller's audit entry lists (seals.with_rows)."""
    contact = conn.execute(
        select(contacts.c.id, contacts.c.kind).where(
            contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164
        )
    ).first()
    before = len(written.suppressions)
    record_optouts(
        conn, advertiser, [(e164, OptOutSource.DATA_REQUEST, now)], origin=origin, actor=actor,
        now=now, written=written,
    )  # fmt: skip
    suppressed = len(written.suppressions) > before
    done = ContactsErased()
    if contact is not None:
        done = erase_contacts(
            conn, advertiser, [(int(contact.id), contact.kind)], now=now, actor=actor,
            origin=origin, written=written, cancelled_for=Reason.OPTED_OUT,
        )  # fmt: skip
    answered = erase_numbers(conn, advertiser, [e164])
    events = _scrub_events(conn, advertiser, e164)
    stored = _drop_stored_answers(conn, advertiser, e164)
    return Erased(
        phone_hash(advertiser, e164).hex()[:16], None if contact is None else int(contact.id),
        done.evidence, done.plan_rows, done.messages, done.cancelled, answered, events, stored,
        suppressed, done.clicks,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ContactsErased:
    evidence: int = 0  # evidence rows blanked
    plan_rows: int = 0  # plan rows rewritten
    messages: int = 0  # messages blanked
    cancelled: int = 0  # of them, queued ones that will not leave
    clicks: int = 0


def erase_contacts(
    conn: Connection,
    advertiser: Advertiser,
    found: Sequence[tuple[int, str]],
    *,
    now: datetime,
    actor: str,
    origin: str,
    written: Written,
    cancelled_for: Reason,
    plans: Sequence[tuple[int, int]] | None = None,
) -> ContactsErased:
    """Erase the contacts `found` ((id, kind) each) of `advertiser`, in the caller's
    transaction: their evidence blanked with the fact of the erasure added, their plan rows
    and messages without number and text (queued ones cancelled for `cancelled_for`), the
    clicks of their messages dropped, the rows themselves emptied. What is reached through
    their number (replies, data requests, submissions): `erase_numbers`. `plans`: the
    advertiser's (campaign, generation) plans, when the caller knows them already."""
    ids = [cid for cid, _ in found]
    if not ids:
        return ContactsErased()
    blanked = _blank_evidence(conn, advertiser, ids, written)
    _record_erasures(conn, advertiser, ids, now, actor, origin, written)
    if plans is None:
        plans = plan_generations(conn, advertiser)
    rewritten = _rewrite_plan_rows(conn, advertiser, ids, plans, written)
    cancelled, messages, clicks = _blank_messages(conn, advertiser, ids, now, cancelled_for)
    for kind in {kind for _, kind in found}:
        conn.execute(
            update(contacts)
            .where(
                contacts.c.advertiser_id == advertiser.id,
                contacts.c.id.in_([cid for cid, k in found if k == kind]),
            )
            .values(
                e164=None, profile={}, profile_hash=profile_hash(kind, _EMPTY_PROFILE),
                erased_at=now, updated_at=now,
            )
        )  # fmt: skip
    return ContactsErased(blanked, rewritten, messages, cancelled, clicks)


def erase_numbers(conn: Connection, advertiser: Advertiser, numbers: Sequence[str]) -> int:
    """What the advertiser holds under the numbers themselves: the replies' number and text,
    early receipts, the register of data requests, consent form submissions. Returns the
    replies blanked."""
    answered = conn.execute(
        update(replies)
        .where(replies.c.advertiser_id == advertiser.id, replies.c.e164.in_(numbers))
        .values(e164=ERASED, text=ERASED)
    ).rowcount
    conn.execute(
        update(early_receipts)
        .where(early_receipts.c.recipient.in_([*numbers, *(n.lstrip("+") for n in numbers)]))
        .values(recipient=None)
    )
    conn.execute(
        update(data_requests)
        .where(
            data_requests.c.advertiser_id == advertiser.id,
            data_requests.c.phone_hash.in_([phone_hash(advertiser, n) for n in numbers]),
        )
        .values(e164=None, requester=ERASED)
    )
    _blank_form_submissions(conn, advertiser, numbers)
    complaints.forget(conn, advertiser, numbers)  # the 33700 reports' excerpts
    return answered


def _blank_evidence(
    conn: Connection, advertiser: Advertiser, contact_ids: list[int], written: Written
) -> int:
    """Replace the data of the contacts' evidence by ERASED_DATA (the seal covers the
    fingerprint, not the data: it still holds); listed as `evidence_erased`. The facts this
    erasure wrote (an opposition, which names no one) stay as they are."""
    ours = set(written.evidence)
    ids = [
        rid
        for rid in conn.execute(
            select(evidence.c.id).where(
                evidence.c.advertiser_id == advertiser.id,
                evidence.c.contact_id.in_(contact_ids),
                evidence.c.kind != EvidenceKind.ERASURE.value,
            )
        ).scalars()
        if rid not in ours
    ]
    if ids:
        data: Any = json.loads(ERASED_DATA)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            conn.execute(update(evidence).where(evidence.c.id.in_(chunk)).values(data=data))
        written.erased_evidence += ids
    return len(ids)


def _record_erasures(
    conn: Connection,
    advertiser: Advertiser,
    contact_ids: list[int],
    now: datetime,
    actor: str,
    origin: str,
    written: Written,
) -> None:
    """The fact of the erasure in each contact's evidence: what stops a message queued for
    it (services/outbox.py) and tells a later reader why the contact is empty."""
    fact = Evidence(EvidenceKind.ERASURE, now)
    dialect = conn.dialect.name
    at = copy_time(dialect, now)
    written.evidence += insert_evidence(
        conn,
        [(advertiser.id, cid, fact.kind.value, at, fact.data_json, fact.fingerprint, origin, at,
          actor) for cid in contact_ids],
    )  # fmt: skip


_NUMBER, _POSTAL = PLAN_SEALED.index("e164"), PLAN_SEALED.index("postal_code")
TEXT_AT: Final = PLAN_SEALED.index("text")  # a plan row's text, in its sealed columns
_IN_CHUNK: Final = 500  # ids in one IN list


def plan_generations(conn: Connection, advertiser: Advertiser) -> list[tuple[int, int]]:
    """The (campaign, generation) plans of the advertiser."""
    found = []
    for campaign_id in conn.execute(
        select(campaigns.c.id).where(campaigns.c.advertiser_id == advertiser.id)
    ).scalars():
        found += [(int(campaign_id), g) for g in generations(conn, int(campaign_id))]
    return found


def generations(conn: Connection, campaign_id: int) -> range:
    """The plan generations a campaign may have rows of, found from the ends of its primary
    key range (no scan of the rows)."""
    low, high = conn.execute(
        select(func.min(plan_rows.c.generation), func.max(plan_rows.c.generation)).where(
            plan_rows.c.campaign_id == campaign_id
        )
    ).one()
    return range(0) if low is None else range(int(low), int(high) + 1)


def _rewrite_plan_rows(
    conn: Connection,
    advertiser: Advertiser,
    contact_ids: list[int],
    plans: Sequence[tuple[int, int]],
    written: Written,
) -> int:
    """The contacts' plan rows, every generation, without number, postal code and text,
    sealed again: the change to each generation's sum of seals goes to `written`. Read plan
    by plan through the primary key (campaign, generation, contact)."""
    q = mark(conn)
    cursor = driver_cursor(conn)
    seal = current_sealer().plan_row
    updates = []
    for campaign_id, generation in plans:
        for start in range(0, len(contact_ids), _IN_CHUNK):
            chunk = contact_ids[start : start + _IN_CHUNK]
            cursor.execute(
                f"SELECT {', '.join(PLAN_SEALED)}, seal FROM plan_rows WHERE campaign_id = {q}"
                f" AND generation = {q} AND contact_id IN ({', '.join([q] * len(chunk))})"
                f" AND advertiser_id = {q}",
                [campaign_id, generation, *chunk, advertiser.id],
            )
            for found in cursor.fetchall():
                row = [bytes(v) if isinstance(v, memoryview) else v for v in found]
                old = row.pop()
                row[_NUMBER], row[_POSTAL], row[TEXT_AT] = ERASED, None, None
                new = seal(row)
                updates.append((new, row[0], row[1], row[2]))
                written.rewrote(int(row[0]), int(row[1]), None if old is None else bytes(old), new)
    if updates:
        cursor.executemany(
            f"UPDATE plan_rows SET e164 = '', postal_code = NULL, text = NULL, seal = {q} "
            f"WHERE campaign_id = {q} AND generation = {q} AND contact_id = {q}",
            updates,
        )
    return len(updates)


def _blank_messages(
    conn: Connection, advertiser: Advertiser, contact_ids: list[int], now: datetime,
    cancelled_for: Reason,
) -> tuple[int, int, int]:  # fmt: skip
    """Cancel the contacts' queued messages, then blank the number and text of them all, and
    of the campaigns sent by themselves (POST /messages: one recipient, whose text and
    transaction are the person's); drop the clicks on their messages' links. Campaign by
    campaign, through (campaign, contact). Returns (cancelled, blanked, clicks)."""
    cancelled = blanked = clicks = 0
    for campaign_id, kind in conn.execute(
        select(campaigns.c.id, campaigns.c.kind).where(
            campaigns.c.advertiser_id == advertiser.id, campaigns.c.status != "draft"
        )
    ).all():
        for start in range(0, len(contact_ids), _IN_CHUNK):
            mine = (outbox.c.campaign_id == campaign_id) & outbox.c.contact_id.in_(
                contact_ids[start : start + _IN_CHUNK]
            )
            cancelled += conn.execute(
                update(outbox)
                .where(mine, outbox.c.state.in_(WAITING_STATES))
                .values(state="cancelled", reason=cancelled_for.value, done_at=now, updated_at=now)
            ).rowcount
            messages = list(
                conn.execute(
                    update(outbox)
                    .where(mine)
                    .values(e164=ERASED, text=ERASED, postal_code=None)
                    .returning(outbox.c.id)
                ).scalars()
            )
            if not messages:
                continue
            blanked += len(messages)
            clicks += conn.execute(
                delete(link_clicks).where(
                    link_clicks.c.campaign_id == campaign_id, link_clicks.c.outbox_id.in_(messages)
                )
            ).rowcount
            if kind == "message":
                conn.execute(
                    update(campaigns)
                    .where(campaigns.c.id == campaign_id)
                    .values(text=ERASED, reference=None)
                )
    return cancelled, blanked, clicks


def _blank_form_submissions(
    conn: Connection, advertiser: Advertiser, numbers: Sequence[str]
) -> None:
    """A consent form's submissions from the numbers: one never confirmed goes (it proved
    nothing); a confirmed one keeps what it proves (form, version, choices, dates) without the
    number and the network it came from."""
    mine = (form_submissions.c.advertiser_id == advertiser.id) & form_submissions.c.e164.in_(
        numbers
    )
    conn.execute(delete(form_submissions).where(mine, form_submissions.c.confirmed_at.is_(None)))
    conn.execute(
        update(form_submissions).where(mine).values(e164=ERASED, ip_prefix=None, user_agent=None)
    )


def _scrub_events(conn: Connection, advertiser: Advertiser, e164: str) -> int:
    """Webhook events of the advertiser quoting the number: the number and the texts they
    quote go (a delivery still due sends what is left)."""
    needle = e164.encode()
    found = conn.execute(
        select(webhook_events.c.id, webhook_events.c.body).where(
            webhook_events.c.advertiser_id == advertiser.id,
            _contains(conn, webhook_events.c.body, needle),
        )
    ).all()
    for event_id, body in found:
        conn.execute(
            update(webhook_events)
            .where(webhook_events.c.id == event_id)
            .values(body=scrubbed_event(bytes(body), e164))
        )
    return len(found)


def scrubbed_event(body: bytes, e164: str) -> bytes:
    """A webhook event's body without the number, and without the texts it quotes."""
    payload = json.loads(body)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: None if key in ("text", "number", "to", "from") else walk(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str) and e164 in value:
            return value.replace(e164, "")
        return value

    return json.dumps(walk(payload), ensure_ascii=False, separators=(",", ":")).encode()


def _drop_stored_answers(conn: Connection, advertiser: Advertiser, e164: str) -> int:
    """API answers kept for idempotent retries that quote the number: dropped (a retry after
    the erasure is a new request, which the suppression list refuses)."""
    keys = select(api_keys.c.id).where(api_keys.c.advertiser_id == advertiser.id)
    return conn.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.api_key_id.in_(keys),
            _contains(conn, idempotency_keys.c.body, e164.encode()),
        )
    ).rowcount


def _contains(conn: Connection, column: Any, needle: bytes) -> Any:
    """`column` (bytes) holds `needle` (a number: no LIKE wildcard in it): instr on SQLite,
    LIKE on PostgreSQL's bytea."""
    if conn.dialect.name == "postgresql":
        return column.op("LIKE")(b"%" + needle + b"%")
    return func.instr(column, needle) > 0
