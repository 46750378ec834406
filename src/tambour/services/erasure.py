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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, func, select, update

from tambour.contacts.ledger import Evidence, EvidenceKind, profile_hash
from tambour.rules.codes import OptOutSource, Reason
from tambour.services.advertisers import Advertiser
from tambour.services.ledger_writes import insert_evidence
from tambour.services.optouts import record_optouts
from tambour.services.seals import PLAN_SEALED, Written, current_sealer
from tambour.services.suppression import phone_hash
from tambour.services.views import View
from tambour.store.bulk import copy_time, driver_cursor, mark
from tambour.store.tables import (
    api_keys,
    campaigns,
    contacts,
    data_requests,
    early_receipts,
    evidence,
    form_submissions,
    idempotency_keys,
    link_clicks,
    message_links,
    outbox,
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
    contact_id: int | None = contact.id if contact is not None else None
    before = len(written.suppressions)
    record_optouts(
        conn, advertiser, [(e164, OptOutSource.DATA_REQUEST, now)], origin=origin, actor=actor,
        now=now, written=written,
    )  # fmt: skip
    suppressed = len(written.suppressions) > before
    blanked = rewritten = messages = cancelled = clicks = 0
    if contact is not None:
        cid = int(contact.id)
        blanked = _blank_evidence(conn, advertiser, cid, written)
        _record_erasure(conn, advertiser, cid, now, actor, origin, written)
        rewritten = _rewrite_plan_rows(conn, advertiser, cid, written)
        cancelled, messages = _blank_messages(conn, advertiser, cid, now)
        _blank_own_campaigns(conn, advertiser, cid)
        clicks = _drop_clicks(conn, advertiser, cid)
        conn.execute(
            update(contacts)
            .where(contacts.c.id == cid, contacts.c.advertiser_id == advertiser.id)
            .values(
                e164=None, profile={}, profile_hash=profile_hash(contact.kind, _EMPTY_PROFILE),
                erased_at=now, updated_at=now,
            )
        )  # fmt: skip
    answered = conn.execute(
        update(replies)
        .where(replies.c.advertiser_id == advertiser.id, replies.c.e164 == e164)
        .values(e164=ERASED, text=ERASED)
    ).rowcount
    conn.execute(
        update(early_receipts)
        .where(early_receipts.c.recipient.in_([e164, e164.lstrip("+")]))
        .values(recipient=None)
    )
    conn.execute(
        update(data_requests)
        .where(
            data_requests.c.advertiser_id == advertiser.id,
            data_requests.c.phone_hash == phone_hash(advertiser, e164),
        )
        .values(e164=None, requester=ERASED)
    )
    _blank_form_submissions(conn, advertiser, e164)
    events = _scrub_events(conn, advertiser, e164)
    stored = _drop_stored_answers(conn, advertiser, e164)
    return Erased(
        phone_hash(advertiser, e164).hex()[:16], contact_id, blanked, rewritten, messages,
        cancelled, answered, events, stored, suppressed, clicks,
    )  # fmt: skip


def _blank_evidence(
    conn: Connection, advertiser: Advertiser, contact_id: int, written: Written
) -> int:
    """Replace the data of the contact's evidence by ERASED_DATA (the seal covers the
    fingerprint, not the data: it still holds); listed as `evidence_erased`. The facts this
    erasure wrote (the opposition, which names no one) stay as they are."""
    ours = set(written.evidence)
    ids = [
        rid
        for rid in conn.execute(
            select(evidence.c.id).where(
                evidence.c.advertiser_id == advertiser.id,
                evidence.c.contact_id == contact_id,
                evidence.c.kind != EvidenceKind.ERASURE.value,
            )
        ).scalars()
        if rid not in ours
    ]
    if ids:
        data: Any = json.loads(ERASED_DATA)
        conn.execute(update(evidence).where(evidence.c.id.in_(ids)).values(data=data))
        written.erased_evidence += ids
    return len(ids)


def _record_erasure(
    conn: Connection,
    advertiser: Advertiser,
    contact_id: int,
    now: datetime,
    actor: str,
    origin: str,
    written: Written,
) -> None:
    """The fact of the erasure in the contact's evidence: what stops a message queued for it
    (services/outbox.py) and tells a later reader why the contact is empty."""
    fact = Evidence(EvidenceKind.ERASURE, now)
    dialect = conn.dialect.name
    written.evidence += insert_evidence(
        conn,
        [(advertiser.id, contact_id, fact.kind.value, copy_time(dialect, now), fact.data_json,
          fact.fingerprint, origin, copy_time(dialect, now), actor)],
    )  # fmt: skip


_NUMBER, _POSTAL, _TEXT = PLAN_SEALED.index("e164"), PLAN_SEALED.index("postal_code"), 16


def _rewrite_plan_rows(
    conn: Connection, advertiser: Advertiser, contact_id: int, written: Written
) -> int:
    """The contact's plan rows, every generation, without number, postal code and text,
    sealed again: each listed with its seal before and after (`plan_rows_rewritten`)."""
    assert PLAN_SEALED[_TEXT] == "text"
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        f"SELECT {', '.join(PLAN_SEALED)}, seal FROM plan_rows "
        f"WHERE advertiser_id = {q} AND contact_id = {q}",
        [advertiser.id, contact_id],
    )
    seal = current_sealer().plan_row
    updates = []
    for found in cursor.fetchall():
        row = [bytes(v) if isinstance(v, memoryview) else v for v in found]
        old = row.pop()
        row[_NUMBER], row[_POSTAL], row[_TEXT] = ERASED, None, None
        new = seal(row)
        updates.append((new, row[0], row[1], row[2]))
        written.plan_rewritten.append(
            (int(row[0]), int(row[1]), int(row[2]), None if old is None else bytes(old), new)
        )
    if updates:
        cursor.executemany(
            f"UPDATE plan_rows SET e164 = '', postal_code = NULL, text = NULL, seal = {q} "
            f"WHERE campaign_id = {q} AND generation = {q} AND contact_id = {q}",
            updates,
        )
    return len(updates)


def _drop_clicks(conn: Connection, advertiser: Advertiser, contact_id: int) -> int:
    """The clicks on the contact's short links: when, from what network and browser."""
    links = select(message_links.c.id).where(
        message_links.c.advertiser_id == advertiser.id, message_links.c.contact_id == contact_id
    )
    return conn.execute(
        delete(link_clicks).where(
            link_clicks.c.advertiser_id == advertiser.id, link_clicks.c.link_id.in_(links)
        )
    ).rowcount


def _blank_messages(
    conn: Connection, advertiser: Advertiser, contact_id: int, now: datetime
) -> tuple[int, int]:
    """Cancel the contact's queued messages, then blank the number and text of them all.
    Returns (cancelled, blanked)."""
    mine = (outbox.c.advertiser_id == advertiser.id) & (outbox.c.contact_id == contact_id)
    cancelled = conn.execute(
        update(outbox)
        .where(mine, outbox.c.state == "queued")
        .values(state="cancelled", reason=Reason.OPTED_OUT.value, done_at=now, updated_at=now)
    ).rowcount
    blanked = conn.execute(
        update(outbox).where(mine).values(e164=ERASED, text=ERASED, postal_code=None)
    ).rowcount
    return cancelled, blanked


def _blank_own_campaigns(conn: Connection, advertiser: Advertiser, contact_id: int) -> None:
    """A message sent by itself (POST /messages) is a campaign of its one recipient: its text
    and the transaction it answered are the person's, and go too."""
    own = select(outbox.c.campaign_id).where(
        outbox.c.advertiser_id == advertiser.id, outbox.c.contact_id == contact_id
    )
    conn.execute(
        update(campaigns)
        .where(
            campaigns.c.advertiser_id == advertiser.id,
            campaigns.c.kind == "message",
            campaigns.c.id.in_(own),
        )
        .values(text=ERASED, reference=None)
    )


def _blank_form_submissions(conn: Connection, advertiser: Advertiser, e164: str) -> None:
    """A consent form's submissions from the number: one never confirmed goes (it proved
    nothing); a confirmed one keeps what it proves (form, version, choices, dates) without the
    number and the network it came from."""
    mine = (form_submissions.c.advertiser_id == advertiser.id) & (form_submissions.c.e164 == e164)
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
            .values(body=_scrubbed(bytes(body), e164))
        )
    return len(found)


def _scrubbed(body: bytes, e164: str) -> bytes:
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
