"""Everything Tambour holds on a number for one advertiser (GDPR Art. 15 access and Art. 20
portability): the contact's fields, the evidence of its consent and oppositions, each campaign
that weighed it (the plan's decision and why), each message with its text and outcome, the
replies it wrote, its suppression status, the data requests it made and its 33700 reports. As
JSON data (the portable copy) and, through services/subject_document.py, a document in French.

Read in one transaction, every query naming the advertiser: another advertiser's data about
the same number is never part of it.
"""

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from tambour.services.advertisers import Advertiser
from tambour.services.suppression import entries as suppression_entries
from tambour.services.suppression import phone_hash
from tambour.store.tables import (
    campaigns,
    complaint_reports,
    contacts,
    data_requests,
    evidence,
    link_clicks,
    message_links,
    outbox,
    plan_rows,
    replies,
)

FORMAT: Final = "tambour-subject-access/1"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def collect(conn: Connection, advertiser: Advertiser, e164: str, now: datetime) -> dict[str, Any]:
    """What `advertiser` holds on `e164`, as JSON data (stable keys: FORMAT names them)."""
    contact = conn.execute(
        select(contacts).where(contacts.c.advertiser_id == advertiser.id, contacts.c.e164 == e164)
    ).first()
    contact_id = contact.id if contact is not None else None
    suppression = suppression_entries(conn, advertiser, [e164]).get(e164)
    return {
        "format": FORMAT,
        "made_at": now.isoformat(),
        "controller": {"name": advertiser.name, "slug": advertiser.slug},
        "number": e164,
        "contact": _contact(contact),
        "evidence": _evidence(conn, advertiser, contact_id) if contact_id else [],
        "decisions": _decisions(conn, advertiser, contact_id) if contact_id else [],
        "messages": _messages(conn, advertiser, e164),
        "replies": _replies(conn, advertiser, e164),
        "clicks": _clicks(conn, advertiser, contact_id) if contact_id else [],
        "suppression": {
            "opted_out": suppression is not None,
            "source": suppression.source if suppression else None,
            "since": _when(suppression.suppressed_at) if suppression else None,
        },
        "data_requests": _requests(conn, advertiser, e164),
        "complaints": _complaints(conn, advertiser, e164),
    }


def _contact(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id, "kind": row.kind, "fields": dict(row.profile),
        "created_at": _when(row.created_at), "updated_at": _when(row.updated_at),
    }  # fmt: skip


def _evidence(conn: Connection, advertiser: Advertiser, contact_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(evidence)
        .where(evidence.c.advertiser_id == advertiser.id, evidence.c.contact_id == contact_id)
        .order_by(evidence.c.id)
    )
    return [
        {
            "kind": r.kind, "occurred_at": _when(r.occurred_at), "facts": dict(r.data),
            "source": r.source, "recorded_at": _when(r.recorded_at),
        }
        for r in rows
    ]  # fmt: skip


def _decisions(conn: Connection, advertiser: Advertiser, contact_id: int) -> list[dict[str, Any]]:
    """The current plan row of every campaign that weighed the contact: sent or excluded, on
    what basis or for what reason."""
    rows = conn.execute(
        select(
            campaigns.c.name, campaigns.c.nature, campaigns.c.planned_at, plan_rows.c.decision,
            plan_rows.c.basis, plan_rows.c.reason, plan_rows.c.territory, plan_rows.c.send_at,
        )
        .join(
            plan_rows,
            (plan_rows.c.campaign_id == campaigns.c.id)
            & (plan_rows.c.generation == campaigns.c.plan_generation),
        )
        .where(
            campaigns.c.advertiser_id == advertiser.id,
            plan_rows.c.advertiser_id == advertiser.id,
            plan_rows.c.contact_id == contact_id,
        )
        .order_by(campaigns.c.planned_at, campaigns.c.id)
    )  # fmt: skip
    return [
        {
            "campaign": r.name, "nature": r.nature, "planned_at": _when(r.planned_at),
            "decision": r.decision, "basis": r.basis, "reason": r.reason,
            "territory": r.territory, "send_from": _when(r.send_at),
        }
        for r in rows
    ]  # fmt: skip


def _messages(conn: Connection, advertiser: Advertiser, e164: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            campaigns.c.name, outbox.c.sender, outbox.c.text, outbox.c.parts, outbox.c.state,
            outbox.c.reason, outbox.c.send_at, outbox.c.submitted_at, outbox.c.done_at,
            outbox.c.carrier,
        )
        .join(campaigns, campaigns.c.id == outbox.c.campaign_id)
        .where(outbox.c.advertiser_id == advertiser.id, outbox.c.e164 == e164)
        .order_by(outbox.c.send_at, outbox.c.id)
    )  # fmt: skip
    return [
        {
            "campaign": r.name, "sender": r.sender, "text": r.text, "parts": r.parts,
            "state": r.state, "reason": r.reason, "due_from": _when(r.send_at),
            "sent_at": _when(r.submitted_at), "settled_at": _when(r.done_at),
            "carrier": r.carrier,
        }
        for r in rows
    ]  # fmt: skip


def _replies(conn: Connection, advertiser: Advertiser, e164: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(replies)
        .where(replies.c.advertiser_id == advertiser.id, replies.c.e164 == e164)
        .order_by(replies.c.received_at, replies.c.id)
    )
    return [
        {
            "received_at": _when(r.received_at), "to": r.to_number, "text": r.text,
            "meaning": r.meaning,
        }
        for r in rows
    ]  # fmt: skip


def _clicks(conn: Connection, advertiser: Advertiser, contact_id: int) -> list[dict[str, Any]]:
    """The short links of the contact's messages that were followed (by the person, or by a
    bot or a link scanner, said so)."""
    rows = conn.execute(
        select(
            campaigns.c.name, message_links.c.target, link_clicks.c.clicked_at,
            link_clicks.c.ip, link_clicks.c.user_agent, link_clicks.c.bot,
        )
        .join(message_links, message_links.c.id == link_clicks.c.link_id)
        .join(campaigns, campaigns.c.id == link_clicks.c.campaign_id)
        .where(
            link_clicks.c.advertiser_id == advertiser.id,
            message_links.c.advertiser_id == advertiser.id,
            message_links.c.contact_id == contact_id,
        )
        .order_by(link_clicks.c.clicked_at, link_clicks.c.id)
    )  # fmt: skip
    return [
        {
            "campaign": r.name, "link_to": r.target, "at": _when(r.clicked_at),
            "network": r.ip, "user_agent": r.user_agent, "not_counted_as": r.bot,
        }
        for r in rows
    ]  # fmt: skip


def _requests(conn: Connection, advertiser: Advertiser, e164: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(data_requests)
        .where(
            data_requests.c.advertiser_id == advertiser.id,
            data_requests.c.phone_hash == phone_hash(advertiser, e164),
        )
        .order_by(data_requests.c.id)
    )
    return [
        {
            "id": r.id, "kind": r.kind, "means": r.means,
            "received_on": r.received_on.isoformat(), "due_by": r.due_by.isoformat(),
            "status": r.status, "answered_at": _when(r.answered_at),
        }
        for r in rows
    ]  # fmt: skip


def _complaints(conn: Connection, advertiser: Advertiser, e164: str) -> list[dict[str, Any]]:
    """The person's 33700 spam reports about the advertiser's messages, as received."""
    c = complaint_reports.c
    rows = conn.execute(
        select(complaint_reports)
        .where(c.advertiser_id == advertiser.id, c.phone_hash == phone_hash(advertiser, e164))
        .order_by(c.reported_at, c.id)
    )
    return [
        {
            "reported_at": _when(r.reported_at), "sender": r.sender, "excerpt": r.excerpt,
            "matched": r.state == "matched", "received_at": _when(r.received_at),
        }
        for r in rows
    ]  # fmt: skip
