"""The outbox as the dispatcher's queue (architecture.md principle 3): the statements a worker
runs, each inside a transaction its caller owns. Plain SQL to the driver for the hot paths, as
services/suppression.py: through SQLAlchemy's types, a worker spent more time building
parameters than the database spent writing.

A message's life:

    queued --claim--> submitting, leased to a worker (committed before any PDU leaves; in
                      the same transaction, screening holds or finishes what must not go:
                      queued again for the next window, cancelled when opted out since the
                      plan, expired past the send-by)
       submitting --record_submitted--> submitted --receipts--> delivered | failed | expired
                  --finish--> failed (refused for good) | unknown (in doubt: never resubmitted)
                              | recorded (the record-only transport wrote it down, sent nothing)
                  --hold--> queued again later (the window closed meanwhile, carrier busy)
                  --park--> paused (its campaign was paused since: services/complaints.py)
    queued <--pause / resume--> paused (never claimed: a paused campaign's messages wait)
                  --rescue (lease expired: its worker died mid-submit)--> unknown

A launched campaign is over (`campaigns.finished_at`, end_campaigns) once none of its messages
is queued, paused, submitting, submitted or unknown (an unknown message waits for its
operator, a paused one for its campaign to be resumed).

Every update of a claimed message is conditional on its worker (lease_owner). A worker that
hung past its lease finds its messages `unknown`; what it learns afterwards (the carrier took
them, or refused them) still replaces the doubt, but it never holds one back for a resend.
"""

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection

from tambour.rules.sending import STOPPING_FACTS
from tambour.services import audit, webhooks
from tambour.services.webhooks import Event
from tambour.store.bulk import (
    adapt_datetime,
    copy_time,
    driver_cursor,
    in_values,
    insert_few,
    insert_rows,
    mark,
    pipeline,
    read_instant,
    update_rows,
)
from tambour.traffic import Outcome, Receipt, message_outcome


class Claimed(NamedTuple):
    """A message a worker claimed: `submitting`, about to leave."""

    id: int
    advertiser_id: int
    campaign_id: int
    contact_id: int
    e164: str
    postal_code: str | None
    sender: str
    text: str
    send_by: datetime | None
    attempts: int  # claims so far, this one included
    launched: bool  # its campaign is still launched (not cancelled since)
    stopped_by: str | None  # the kind of the first fact since its plan that stops it, if any
    retain_until: datetime | None = None  # the recipient's data lapses then: no send after
    paused: bool = False  # its campaign was paused since it was queued: it waits, not sent


_CLAIMED = (
    "id, advertiser_id, campaign_id, contact_id, e164, postal_code, sender, text, send_by, attempts"
)
_AFTER = ", retain_until"  # read after the subqueries: Claimed's last field
# Read with the claim, not in a statement of its own: whether the campaign is still launched
# (0: no longer; 1: launched; 2: launched, and paused since the message was queued).
_LAUNCHED = (
    "(SELECT CASE WHEN c.status <> 'launched' THEN 0 WHEN c.paused_at IS NULL THEN 1 ELSE 2 END"
    " FROM campaigns c WHERE c.id = outbox.campaign_id AND c.advertiser_id = outbox.advertiser_id)"
)
# And the first fact that stops it recorded since its plan: evidence above the largest id the
# plan row saw (plan_rows.seen_evidence of the launched plan): an opt-out, a 33700 complaint, a
# consent withdrawn, an erasure. Facts recorded before were weighed by the planner.
_KINDS = ", ".join(f"'{kind}'" for kind in STOPPING_FACTS)
_STOPPED = (
    "(SELECT e.kind FROM campaigns cp"
    " JOIN plan_rows p ON p.campaign_id = cp.id AND p.generation = cp.plan_generation"
    " AND p.contact_id = outbox.contact_id"
    " JOIN evidence e ON e.contact_id = outbox.contact_id"
    " AND e.advertiser_id = outbox.advertiser_id AND e.id > p.seen_evidence"
    f" WHERE cp.id = outbox.campaign_id AND e.kind IN ({_KINDS})"
    " ORDER BY e.id LIMIT 1)"
)
# `state = 'queued'` as a literal: the partial index ix_outbox_due is used only then.
_CLAIM = {
    "sqlite": (
        "UPDATE outbox SET state = 'submitting', attempts = attempts + 1, lease_owner = ?,"
        " lease_until = ?, updated_at = ? WHERE id IN ("
        " SELECT id FROM outbox WHERE state = 'queued' AND send_at <= ? ORDER BY send_at LIMIT ?)"
        f" RETURNING {_CLAIMED}, {_LAUNCHED}, {_STOPPED}{_AFTER}"
    ),
    "postgresql": (
        "WITH due AS (SELECT id FROM outbox WHERE state = 'queued' AND send_at <= %s"
        " ORDER BY send_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        " UPDATE outbox SET state = 'submitting', attempts = outbox.attempts + 1,"
        " lease_owner = %s, lease_until = %s, updated_at = %s FROM due WHERE outbox.id = due.id"
        f" RETURNING {', '.join('outbox.' + c.strip() for c in _CLAIMED.split(','))},"
        f" {_LAUNCHED}, {_STOPPED}, outbox.retain_until"
    ),
}


def _instant(value: Any) -> datetime | None:
    return None if value is None else read_instant(value)


def claim(
    conn: Connection, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Claim up to `limit` due messages for `owner`, oldest due first: `submitting` under a
    lease. The caller screens them in the same transaction (hold or finish what must not go)
    and submits the rest once it is committed: a worker dying after the commit leaves them
    `submitting`, which the rescuer turns into `unknown`, never into a second send. A worker
    claims only what it is about to submit (a window's worth), so that is all it can leave."""
    at = adapt_datetime(conn, now)
    until = adapt_datetime(conn, now + lease)
    cursor = driver_cursor(conn)
    if conn.dialect.name == "sqlite":
        cursor.execute(_CLAIM["sqlite"], (owner, until, at, at, limit))
    else:
        cursor.execute(_CLAIM["postgresql"], (at, limit, owner, until, at))
    rows = [
        Claimed(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            _instant(r[8]),
            r[9],
            bool(r[10]),
            r[11],
            _instant(r[12]),
            r[10] == 2,
        )
        for r in cursor.fetchall()
    ]
    rows.sort(key=lambda claimed: claimed.id)
    return rows


@dataclass(frozen=True, slots=True)
class Held:
    id: int
    until: datetime
    reason: str | None  # a rules.md deferral, or None for a carrier's temporary refusal
    error: str | None = None


def hold(conn: Connection, owner: str, now: datetime, held: Iterable[Held]) -> None:
    """Back to `queued`, due at `until`, unleased: nothing of these messages left."""
    at = adapt_datetime(conn, now)
    rows = [
        (h.id, owner, "queued", adapt_datetime(conn, h.until), h.reason, h.error, at, None, None)
        for h in held
    ]
    update_rows(
        conn,
        "outbox",
        ("id", "lease_owner"),
        ("state", "send_at", "reason", "last_error", "updated_at", "lease_until", "lease_owner"),
        rows,
        where="{t}.state IN ('queued', 'submitting')",
    )


@dataclass(frozen=True, slots=True)
class Finished:
    id: int
    state: str  # failed, expired, cancelled, unknown, recorded
    reason: str | None = None  # a rules.md code (opted_out, window_expired...)
    error_code: int | None = None  # the carrier's
    error: str | None = None  # words, never a number or a text
    carrier_keys: tuple[str, ...] = ()  # parts the carrier took before it went wrong
    advertiser_id: int = 0
    carrier: str | None = None  # the carrier it was given to (None: none had it)
    submitted_at: datetime | None = None  # unknown: when it may have left, from


def finish(conn: Connection, owner: str, now: datetime, finished: Sequence[Finished]) -> None:
    """Messages whose fate is settled without a receipt: failed, expired, cancelled, unknown,
    recorded. Parts the carrier took are kept (their receipts will still be recorded)."""
    if not finished:
        return
    at = adapt_datetime(conn, now)
    update_rows(
        conn,
        "outbox",
        ("id", "lease_owner"),
        ("state", "reason", "error_code", "last_error", "submitted_at", "carrier"),
        [
            (
                f.id,
                owner,
                f.state,
                f.reason,
                f.error_code,
                f.error,
                adapt_datetime(conn, f.submitted_at),
                f.carrier,
            )
            for f in finished
        ],
        where="{t}.state IN ('queued', 'submitting', 'unknown')",
        same={"done_at": at, "updated_at": at, "lease_until": None},
    )
    _insert_parts(
        conn, [_Taken(f.id, f.advertiser_id, f.carrier or "", f.carrier_keys) for f in finished],
        at, whole=False,
    )  # fmt: skip  # fmt: skip


@dataclass(frozen=True, slots=True)
class Submitted:
    id: int
    advertiser_id: int
    carrier_keys: tuple[str, ...]  # receipts.message_key of each part's id, in order
    valid_until: datetime | None
    submitted_at: datetime  # when it left (the instant its window was last checked)
    campaign_id: int = 0
    carrier: str = ""  # the carrier that took it: its ids are its own


def record_submitted(
    conn: Connection,
    owner: str,
    now: datetime,
    submitted: Sequence[Submitted],
    *,
    early: bool = True,
    touched: dict[int, int] | None = None,
) -> None:
    """Messages the carrier took, every part: `submitted`, with their parts' carrier keys.
    Receipts that came before are applied now, when `early` says some may be waiting (the
    caller knows when it stored some; sweep_early_receipts catches other workers'); the
    messages they settle go into `touched` (see record_receipts)."""
    if not submitted:
        return
    at = adapt_datetime(conn, now)
    taken = [_Taken(s.id, s.advertiser_id, s.carrier, s.carrier_keys) for s in submitted]
    with pipeline(conn):  # two writes, one wait
        _mark_submitted(conn, owner, at, submitted)
        _insert_parts(conn, taken, at, whole=True)
    if early:
        for carrier, keys in _keys_by_carrier(taken).items():
            _apply_early_receipts(conn, now, carrier, keys, touched)


def _mark_submitted(conn: Connection, owner: str, at: Any, submitted: Sequence[Submitted]) -> None:
    same: dict[str, Any] = {
        "state": "submitted",
        "updated_at": at,
        "lease_until": None,  # no lease: it left
        "reason": None,  # a rescue may have said `worker_lost`: it was not
        "last_error": None,
        "done_at": None,
    }
    carriers = {s.carrier for s in submitted}
    by_row: tuple[str, ...] = ("valid_until", "submitted_at")
    if len(carriers) == 1:  # usually: one parameter, not an array of the same text
        same["carrier"] = carriers.pop()
    else:
        by_row += ("carrier",)
    update_rows(
        conn,
        "outbox",
        ("id", "lease_owner"),
        by_row,
        [
            (
                s.id,
                owner,
                adapt_datetime(conn, s.valid_until),
                adapt_datetime(conn, s.submitted_at),
                *(() if "carrier" in same else (s.carrier,)),
            )
            for s in submitted
        ],
        where="{t}.state IN ('submitting', 'unknown')",
        same=same,
    )


class _Taken(NamedTuple):
    """The parts of one message a carrier took, under their keys, in order."""

    outbox_id: int
    advertiser_id: int
    carrier: str
    keys: tuple[str, ...]


def _keys_by_carrier(taken: Iterable[_Taken]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in taken:
        if message.keys:
            found.setdefault(message.carrier, []).extend(message.keys)
    return found


def _insert_parts(conn: Connection, messages: Sequence[_Taken], at: Any, *, whole: bool) -> None:
    """The parts the carrier took, under their keys, recorded `at` (adapt_datetime: the time
    that tells the most recent part under a key). `of_parts` is the message's count when it
    took them all (`whole`), 0 when only some (a failed or doubtful message, which receipts
    record but never settle). A part already there is kept: a write retried after a commit
    whose outcome was lost (the database went away during it) finds it."""
    by_carrier: dict[str, list[tuple[Any, ...]]] = {}
    for m in messages:
        rows = by_carrier.setdefault(m.carrier, [])
        rows.extend(
            (m.outbox_id, number, len(m.keys) if whole else 0, m.advertiser_id, key)
            for number, key in enumerate(m.keys, 1)
        )
    for carrier, rows in by_carrier.items():
        insert_few(
            conn,
            "outbox_parts",
            ("outbox_id", "part", "of_parts", "advertiser_id", "carrier_key"),
            rows,
            skip_existing=True,
            same={"carrier": carrier, "submitted_at": at},
        )


def park(conn: Connection, owner: str, now: datetime, ids: Sequence[int]) -> None:
    """Messages `owner` claimed whose campaign was paused meanwhile (a message held back to
    `queued` after the pause): `paused`, unleased, waiting for the resume. Nothing left."""
    if not ids:
        return
    at = adapt_datetime(conn, now)
    update_rows(
        conn,
        "outbox",
        ("id", "lease_owner"),
        ("state",),
        [(message_id, owner, "paused") for message_id in ids],
        where="{t}.state = 'submitting'",
        same={"updated_at": at, "lease_until": None, "lease_owner": None},
    )


def release_unheld(conn: Connection, owner: str, now: datetime, holding: Sequence[int]) -> int:
    """Give back to the queue the messages `owner` has `submitting` but does not hold: claimed
    by a transaction whose commit it never heard of (the database went away during it). Its
    worker knows it never sent them, so they are due again at once, not left to be rescued as
    unknown. Returns how many."""
    q = mark(conn)
    at = adapt_datetime(conn, now)
    query = (
        f"UPDATE outbox SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
        f" updated_at = {q} WHERE state = 'submitting' AND lease_owner = {q}"
    )
    params: list[Any] = [at, owner]
    if holding:
        if conn.dialect.name == "sqlite":
            query += f" AND id NOT IN ({', '.join('?' * len(holding))})"
            params += list(holding)
        else:
            query += " AND id <> ALL(%s)"
            params.append(list(holding))
    cursor = driver_cursor(conn)
    cursor.execute(query, params)
    return int(cursor.rowcount or 0)


@dataclass(frozen=True, slots=True)
class Late:
    """A message in doubt (no answer came in time to a part) that the carrier answered after
    all: taken (`carrier_keys`: every part's, the late one last) or refused (nothing of it
    left: due again)."""

    id: int
    advertiser_id: int
    carrier: str
    carrier_keys: tuple[str, ...] = ()  # empty: refused


def settle_late(conn: Connection, now: datetime, late: Sequence[Late]) -> None:
    """A late answer ends the doubt: a message the carrier took whole is `submitted` (its
    receipts then settle it; those that came already are applied), one it refused with no
    part taken is queued again, due now (it never left). Only messages still `unknown`: an
    operator's decision, or receipts, may have settled them meanwhile."""
    if not late:
        return
    at = adapt_datetime(conn, now)
    cursor = driver_cursor(conn)
    q = mark(conn)
    taken = [m for m in late if m.carrier_keys]
    for message in taken:
        cursor.execute(
            f"UPDATE outbox_parts SET of_parts = {q} WHERE outbox_id = {q}",
            [len(message.carrier_keys), message.id],
        )
        cursor.execute(
            f"UPDATE outbox SET state = 'submitted', reason = NULL, error_code = NULL,"
            f" last_error = NULL, done_at = NULL, carrier = {q}, updated_at = {q}"
            f" WHERE id = {q} AND state = 'unknown'",
            [message.carrier, at, message.id],
        )
    parts = [_Taken(m.id, m.advertiser_id, m.carrier, m.carrier_keys) for m in taken]
    _insert_parts(conn, parts, at, whole=True)
    for carrier, keys in _keys_by_carrier(parts).items():
        _apply_early_receipts(conn, now, carrier, keys)
    for message in late:
        if message.carrier_keys:
            continue
        cursor.execute(
            f"UPDATE outbox SET state = 'queued', send_at = {q}, reason = NULL, done_at = NULL,"
            " last_error = 'refused by the carrier after its answer was late: it did not"
            f" leave', updated_at = {q} WHERE id = {q} AND state = 'unknown'"
            " AND NOT EXISTS (SELECT 1 FROM outbox_parts p WHERE p.outbox_id = outbox.id)",
            [at, at, message.id],
        )


def renew(conn: Connection, owner: str, now: datetime, lease: timedelta) -> None:
    """Extend the leases `owner` holds (its heartbeat)."""
    q = mark(conn)
    driver_cursor(conn).execute(
        f"UPDATE outbox SET lease_until = {q} WHERE state = 'submitting' AND lease_owner = {q}",
        [adapt_datetime(conn, now + lease), owner],
    )


def audit_dispatch(
    conn: Connection,
    now: datetime,
    actor: str,
    action: str,
    campaign: tuple[int, int],
    **details: Any,
) -> None:
    """An audit entry about messages of one campaign (`campaign`: advertiser id, campaign id)."""
    advertiser_id, campaign_id = campaign
    audit.append(
        conn,
        actor=actor,
        action=action,
        advertiser_id=advertiser_id,
        details={"campaign_id": campaign_id, **details},
        at=now,
    )


def rescue(conn: Connection, now: datetime, actor: str = "worker") -> int:
    """Messages left `submitting` by a worker whose lease expired (it died, or hung past it):
    `unknown`, since it may have sent them. Never submitted again by themselves. Since when
    they may have left (their claim) is kept as `submitted_at`, for the carrier's support to
    search from. Audited: one `dispatch.rescued` entry per campaign, naming them."""
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        "UPDATE outbox SET state = 'unknown', reason = 'worker_lost', lease_until = NULL,"
        " last_error = 'the worker submitting it stopped: it may or may not have left',"
        f" submitted_at = coalesce(submitted_at, updated_at), done_at = {q}, updated_at = {q}"
        f" WHERE state = 'submitting' AND lease_until < {q}"
        " RETURNING id, advertiser_id, campaign_id, lease_owner",
        [adapt_datetime(conn, now)] * 3,
    )
    rescued: dict[tuple[int, int], list[int]] = {}
    owners: dict[tuple[int, int], set[str]] = {}
    for outbox_id, advertiser_id, campaign_id, owner in cursor.fetchall():
        rescued.setdefault((advertiser_id, campaign_id), []).append(outbox_id)
        owners.setdefault((advertiser_id, campaign_id), set()).add(owner or "")
    for (advertiser_id, campaign_id), ids in sorted(rescued.items()):
        audit_dispatch(
            conn, now, actor, "dispatch.rescued", (advertiser_id, campaign_id),
            unknown=audit.id_ranges(sorted(ids)), reason="worker_lost",
            workers=sorted(owners[(advertiser_id, campaign_id)]),
        )  # fmt: skip
    return sum(len(ids) for ids in rescued.values())


def forget_early_receipts(conn: Connection, before: datetime) -> int:
    """Drop receipts that never matched a part (their message was never recorded as taken)."""
    cursor = driver_cursor(conn)
    cursor.execute(
        f"DELETE FROM early_receipts WHERE received_at < {mark(conn)}",
        [adapt_datetime(conn, before)],
    )
    return int(cursor.rowcount or 0)


def awaiting_receipts(conn: Connection, owner: str, since: datetime) -> int:
    """Messages `owner` submitted after `since` that have no final receipt yet."""
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        "SELECT count(*) FROM outbox WHERE state = 'submitted'"
        f" AND submitted_at > {q} AND lease_owner = {q}",
        [adapt_datetime(conn, since), owner],
    )
    return int(cursor.fetchone()[0])


def next_due(conn: Connection) -> datetime | None:
    """When a worker may next have something to do: the next queued message falling due
    (now or earlier: it is due), the lease of a message being submitted expiring (rescued if
    its worker stopped). None when nothing is queued or being submitted."""
    cursor = driver_cursor(conn)
    cursor.execute("SELECT min(send_at) FROM outbox WHERE state = 'queued'")
    queued = _instant(cursor.fetchone()[0])
    cursor.execute("SELECT min(lease_until) FROM outbox WHERE state = 'submitting'")
    submitting = _instant(cursor.fetchone()[0])
    found = [t for t in (queued, submitting) if t is not None]
    return min(found) if found else None


def next_queued(conn: Connection) -> datetime | None:
    """When the next queued message falls due (the past: due now); None when none is queued."""
    cursor = driver_cursor(conn)
    cursor.execute("SELECT min(send_at) FROM outbox WHERE state = 'queued'")
    return _instant(cursor.fetchone()[0])


# --- campaigns that end ----------------------------------------------------------------------

# A message in one of these may still change by itself (or waits for its operator: unknown);
# store/tables.FINAL_STATES are the others.
_OPEN_STATES = "'queued', 'paused', 'held', 'submitting', 'submitted', 'unknown'"


@dataclass(frozen=True, slots=True)
class Ended:
    """A launched campaign found over: none of its messages is left queued, in flight or
    unknown."""

    campaign_id: int
    advertiser_id: int
    finished_at: datetime  # when its last message reached its final state
    messages: dict[str, int]  # by state


def campaigns_of(conn: Connection, outbox_ids: Sequence[int]) -> set[int]:
    """The campaigns of these messages."""
    if not outbox_ids:
        return set()
    in_sql, params = in_values(conn, sorted(outbox_ids))
    cursor = driver_cursor(conn)
    cursor.execute(f"SELECT DISTINCT campaign_id FROM outbox WHERE id {in_sql}", params)
    return {row[0] for row in cursor.fetchall()}


def end_campaigns(
    conn: Connection, now: datetime, actor: str, campaign_ids: Iterable[int] | None = None
) -> list[Ended]:
    """Mark over (`finished_at`) the launched campaigns among `campaign_ids` (None: all those
    not over yet) none of whose messages is queued, paused, submitting, submitted or unknown, each
    with an audit entry (`campaign.finish`). One indexed probe a campaign (outbox's
    (campaign_id, state) index): cheap enough for every flush that settled some of its
    messages. Their status stays `launched` (the plan frozen, a second launch refused).
    A message sent by itself (kind 'message') is not one: its own state says it is over."""
    cursor = driver_cursor(conn)
    query = (
        "SELECT c.id, c.advertiser_id, c.name FROM campaigns c"
        " WHERE c.status = 'launched' AND c.finished_at IS NULL AND c.kind = 'campaign'"
        " AND NOT EXISTS ("
        " SELECT 1 FROM outbox o WHERE o.campaign_id = c.id AND o.advertiser_id = c.advertiser_id"
        f" AND o.state IN ({_OPEN_STATES}))"
    )
    params: list[Any] = []
    if campaign_ids is not None:
        ids = sorted(set(campaign_ids))
        if not ids:
            return []
        in_sql, params = in_values(conn, ids)
        query += f" AND c.id {in_sql}"
    cursor.execute(query, params)
    found = cursor.fetchall()
    q = mark(conn)
    ended = []
    events: list[Event] = []
    for campaign_id, advertiser_id, name in found:
        cursor.execute(
            f"SELECT state, count(*), max(done_at) FROM outbox WHERE campaign_id = {q}"
            f" AND advertiser_id = {q} GROUP BY state ORDER BY state",
            [campaign_id, advertiser_id],
        )
        messages: dict[str, int] = {}
        last: datetime | None = None
        for state, count, done_at in cursor.fetchall():
            messages[state] = count
            at = _instant(done_at)
            if at is not None and (last is None or at > last):
                last = at
        finished_at = min(last, now) if last is not None else now
        cursor.execute(
            f"UPDATE campaigns SET finished_at = {q} WHERE id = {q} AND advertiser_id = {q}"
            " AND status = 'launched' AND finished_at IS NULL",
            [adapt_datetime(conn, finished_at), campaign_id, advertiser_id],
        )
        if cursor.rowcount != 1:  # another worker marked it meanwhile (PostgreSQL)
            continue
        audit.append(
            conn,
            actor=actor,
            action="campaign.finish",
            advertiser_id=advertiser_id,
            details={
                "campaign": audit.without_phones(name),
                "campaign_id": campaign_id,
                "finished_at": finished_at.isoformat(),
                "messages": messages,
            },
            at=now,
        )
        ended.append(Ended(campaign_id, advertiser_id, finished_at, messages))
        events.append(
            Event(advertiser_id, "campaign.finished", {
                "campaign_id": campaign_id, "campaign": name,
                "finished_at": finished_at.isoformat(), "messages": messages,
            })
        )  # fmt: skip
    webhooks.emit(conn, events, now)
    return ended


# --- receipts --------------------------------------------------------------------------------

_FINAL = frozenset({Outcome.DELIVERED, Outcome.FAILED, Outcome.EXPIRED, Outcome.UNKNOWN})
_STATE_OF = {
    Outcome.DELIVERED: "delivered",
    Outcome.FAILED: "failed",
    Outcome.EXPIRED: "expired",
    Outcome.UNKNOWN: "unknown",
}


class Part(NamedTuple):
    outbox_id: int
    part: int
    of_parts: int  # the message's parts; 0 when the carrier did not take them all
    campaign_id: int = 0


class _Found(NamedTuple):
    """The most recent part recorded under a key at a carrier, and whether it is waiting for
    its receipt."""

    part: Part
    waiting: bool


def record_receipts(
    conn: Connection,
    now: datetime,
    receipts: Sequence[Receipt],
    touched: dict[int, int] | None = None,
    settled: list[int] | None = None,
) -> int:
    """Apply final receipts to their parts (a pending one, ENROUTE or ACCEPTD, changes
    nothing), and settle the messages whose parts are all known. A receipt names the most
    recent part recorded under its id at its carrier: carriers reuse ids (after a restart, or
    when their counter wraps), and a part the worker remembers may be an older one. A receipt
    for a part not recorded yet waits in early_receipts. Receiving one twice changes nothing.
    Returns how many receipts are waiting in early_receipts.

    `touched` gets the messages whose parts a receipt settled: outbox id -> campaign id, for
    the caller to tell which campaigns may be over; `settled` the messages they brought to
    their final state (for webhooks)."""
    final = [r for r in receipts if r.outcome in _FINAL]
    if not final:
        return 0
    by_carrier: dict[str, list[Receipt]] = {}
    for receipt in final:
        by_carrier.setdefault(receipt.carrier, []).append(receipt)
    updates: dict[tuple[int, int], tuple[Part, str, int | None]] = {}
    early: list[tuple[Receipt, tuple[str, ...]]] = []
    for carrier, some in by_carrier.items():
        keys = sorted({key for r in some for key in r.match_keys})
        parts = _parts_by_key(conn, carrier, keys)
        for receipt in some:
            found = _match(receipt, parts)
            if found is None:
                # Kept under the ids as written; under the other base too when the carrier
                # gave no TLV id (one that switches bases writes receipts in the other).
                stored = receipt.primary_keys if receipt.from_tlv else receipt.match_keys
                early.append((receipt, stored))
                continue
            updates.setdefault(
                (found.outbox_id, found.part), (found, receipt.outcome.value, receipt.error)
            )
    _update_parts(conn, now, list(updates.values()), touched, settled)
    _store_early(conn, now, early)
    return len(early)


def _match(receipt: Receipt, parts: Mapping[str, _Found]) -> Part | None:
    """The part a receipt names: by an id as the carrier wrote it; else, when it gave no TLV
    id, by the text id read in the other base, only if that names exactly one part still
    waiting (short ids alias across bases: decimal 100 is another message's hex 64)."""
    for key in receipt.primary_keys:
        if key in parts:
            return parts[key].part
    if receipt.from_tlv:
        return None
    waiting = {parts[k].part for k in receipt.alternate_keys if k in parts and parts[k].waiting}
    return waiting.pop() if len(waiting) == 1 else None


def _parts_by_key(conn: Connection, carrier: str, keys: Sequence[str]) -> dict[str, _Found]:
    """The most recent part each key names at `carrier`: the last recorded as taken (parts
    recorded before migration 0009 have no time: older than any other), then the highest
    message id."""
    if not keys:
        return {}
    cursor = driver_cursor(conn)
    in_sql, params = in_values(conn, keys)
    cursor.execute(
        "SELECT p.carrier_key, p.outbox_id, p.part, p.of_parts, p.outcome, p.submitted_at,"
        " o.campaign_id FROM outbox_parts p JOIN outbox o ON o.id = p.outbox_id"
        f" WHERE p.carrier = {mark(conn)} AND p.carrier_key {in_sql}",
        [carrier, *params],
    )
    found: dict[str, _Found] = {}
    latest: dict[str, tuple[datetime, int]] = {}
    for key, outbox_id, part, of_parts, outcome, submitted_at, campaign_id in cursor.fetchall():
        order = (_instant(submitted_at) or _LONG_AGO, outbox_id)
        if key in latest and latest[key] >= order:
            continue
        latest[key] = order
        found[key] = _Found(Part(outbox_id, part, of_parts, campaign_id), outcome is None)
    return found


_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def _update_parts(
    conn: Connection,
    now: datetime,
    updates: Sequence[tuple[Part, str, int | None]],
    touched: dict[int, int] | None = None,
    settled: list[int] | None = None,
) -> None:
    """Record the parts' outcomes (each once: a redelivered receipt changes nothing) and
    settle their messages: a one-part message by its part's receipt, others once all their
    parts are known (receipts.message_outcome)."""
    at = adapt_datetime(conn, now)
    if touched is not None:
        for p, _, _ in updates:
            touched[p.outbox_id] = p.campaign_id or touched.get(p.outbox_id, 0)
    single = []
    for p, outcome, error in updates:
        if p.of_parts == 1:
            state = _STATE_OF[message_outcome([Outcome(outcome)])]
            single.append((p.outbox_id, state, None if state == "delivered" else error))
    with pipeline(conn):  # two writes, one wait
        update_rows(
            conn,
            "outbox_parts",
            ("outbox_id", "part"),
            ("outcome", "error_code"),
            [(p.outbox_id, p.part, outcome, error) for p, outcome, error in updates],
            where="{t}.outcome IS NULL",
            same={"done_at": at},
        )
        _write_settled(conn, at, single)
    if settled is not None:
        settled.extend(outbox_id for outbox_id, _, _ in single)
    _settle(conn, now, {p.outbox_id for p, _, _ in updates if p.of_parts > 1}, settled)


def _store_early(
    conn: Connection, now: datetime, early: Sequence[tuple[Receipt, tuple[str, ...]]]
) -> None:
    if not early:
        return
    dialect = conn.dialect.name
    at = copy_time(dialect, now)
    rows: list[tuple[Any, ...]] = []
    for receipt, keys in early:
        group = secrets.randbits(62)
        rows.extend(
            (group, key, receipt.outcome.value, receipt.error, at, receipt.carrier,
             _address(receipt.recipient), _address(receipt.sender))
            for key in keys
        )  # fmt: skip
    insert_rows(
        conn,
        "early_receipts",
        ("receipt", "carrier_key", "outcome", "error_code", "received_at", "carrier",
         "recipient", "sender"),
        rows,
    )  # fmt: skip


def _address(value: str | None) -> str | None:
    """An address as early_receipts keeps it (what does not fit is no use for a match)."""
    return value if value is not None and len(value) <= 21 else None


def sweep_early_receipts(
    conn: Connection, now: datetime, touched: dict[int, int] | None = None
) -> None:
    """Apply early receipts whose part has been recorded since. On PostgreSQL a worker can
    record a part while another stores its receipt as early, neither seeing the other's
    uncommitted row: this catches what both missed."""
    # Nearly always empty: then one cheap look, not a join that PostgreSQL's planner, not
    # knowing the table empty, made by hashing every part four times a second (the
    # sequential scans of outbox_parts that bench_dispatch.py printed).
    cursor = driver_cursor(conn)
    cursor.execute("SELECT 1 FROM early_receipts LIMIT 1")
    if cursor.fetchone() is None:
        return
    cursor.execute(
        "SELECT DISTINCT e.carrier, e.carrier_key FROM early_receipts e"
        " JOIN outbox_parts p ON p.carrier = e.carrier AND p.carrier_key = e.carrier_key"
    )
    by_carrier: dict[str, list[str]] = {}
    for carrier, key in cursor.fetchall():
        by_carrier.setdefault(carrier, []).append(key)
    for carrier, keys in by_carrier.items():
        _apply_early_receipts(conn, now, carrier, keys, touched)


def _apply_early_receipts(
    conn: Connection,
    now: datetime,
    carrier: str,
    keys: Sequence[str],
    touched: dict[int, int] | None = None,
) -> None:
    if not keys:
        return
    cursor = driver_cursor(conn)
    in_sql, params = in_values(conn, keys)
    cursor.execute(
        f"SELECT receipt, carrier_key, outcome, error_code FROM early_receipts"
        f" WHERE carrier = {mark(conn)} AND carrier_key {in_sql} ORDER BY id",
        [carrier, *params],
    )
    found = cursor.fetchall()
    if not found:
        return
    parts = _parts_by_key(conn, carrier, sorted({row[1] for row in found}))
    updates: dict[tuple[int, int], tuple[Part, str, int | None]] = {}
    used: set[int] = set()
    for group, key, outcome, error_code in found:
        if group in used or key not in parts:
            continue
        used.add(group)
        part = parts[key].part
        updates.setdefault((part.outbox_id, part.part), (part, outcome, error_code))
    _update_parts(conn, now, list(updates.values()), touched)
    groups = sorted(used)
    if groups:
        in_sql, params = in_values(conn, groups)
        cursor.execute(f"DELETE FROM early_receipts WHERE receipt {in_sql}", params)


# --- messages in doubt that a receipt proves taken -------------------------------------------

PROOF_SLACK = timedelta(minutes=1)  # workers' clocks may differ by this much


@dataclass(frozen=True, slots=True)
class _Doubt:
    id: int
    advertiser_id: int
    campaign_id: int
    sender: str
    parts: int
    since: datetime | None  # when it may have left, from


@dataclass(frozen=True, slots=True)
class _Early:
    group: int
    carrier: str
    key: str
    outcome: str
    error_code: int | None
    sender: str | None
    received_at: datetime


def prove_unknown(conn: Connection, now: datetime, actor: str, since: datetime) -> int:
    """Messages `unknown` since `since` with no part recorded (their worker died before it
    wrote what the carrier answered, or no answer came) that receipts prove taken: receipts
    that matched no part, about that recipient and from that sender, received after the
    message may have left, one per part. Their parts are recorded under those receipts' ids
    and the message settled by them (delivered, failed, expired), so that nobody queues it
    again. Only when it is certain: the recipient has no other message in doubt or in flight
    from that sender, and every part has its receipt. Audited (`dispatch.proven`). Returns
    how many."""
    cursor = driver_cursor(conn)
    cursor.execute(
        "SELECT o.id, o.advertiser_id, o.campaign_id, o.e164, o.sender, o.parts, o.submitted_at"
        f" FROM outbox o WHERE o.state = 'unknown' AND o.done_at > {mark(conn)}"
        " AND NOT EXISTS (SELECT 1 FROM outbox_parts p WHERE p.outbox_id = o.id)",
        [adapt_datetime(conn, since)],
    )
    doubts: dict[str, list[_Doubt]] = {}
    for outbox_id, advertiser_id, campaign_id, e164, sender, parts, submitted_at in cursor:
        doubts.setdefault(e164.lstrip("+"), []).append(
            _Doubt(outbox_id, advertiser_id, campaign_id, sender, parts, _instant(submitted_at))
        )
    if not doubts:
        return 0
    cursor.execute("SELECT e164, sender FROM outbox WHERE state = 'submitting'")
    in_flight = {(e164.lstrip("+"), sender.casefold()) for e164, sender in cursor.fetchall()}
    found = _early_by_recipient(conn, sorted(doubts))
    proven: list[tuple[_Doubt, list[_Early]]] = []
    for recipient, messages in doubts.items():
        for message in messages:
            said = message.sender.casefold()
            if (recipient, said) in in_flight:
                continue
            if sum(m.sender.casefold() == said for m in messages) != 1:
                continue  # two messages in doubt to one recipient: which is whose?
            earliest = (message.since or _LONG_AGO) - PROOF_SLACK
            receipts = [
                e
                for e in found.get(recipient, [])
                if (e.sender or "").casefold() == said and e.received_at >= earliest
            ]
            if receipts and len(receipts) == message.parts:
                proven.append((message, receipts))
    for message, receipts in proven:
        _settle_proven(conn, now, message, receipts)
    _audit_proven(conn, now, actor, proven)
    used = sorted({e.group for _, receipts in proven for e in receipts})
    if used:
        in_sql, params = in_values(conn, used)
        cursor.execute(f"DELETE FROM early_receipts WHERE receipt {in_sql}", params)
    return len(proven)


def _early_by_recipient(conn: Connection, recipients: Sequence[str]) -> dict[str, list[_Early]]:
    """The early receipts about these recipients, one per receipt (its first key), oldest
    first."""
    cursor = driver_cursor(conn)
    in_sql, params = in_values(conn, recipients)
    cursor.execute(
        "SELECT receipt, carrier, carrier_key, outcome, error_code, recipient, sender,"
        f" received_at FROM early_receipts WHERE recipient {in_sql} ORDER BY id",
        params,
    )
    found: dict[str, list[_Early]] = {}
    seen: set[int] = set()
    for group, carrier, key, outcome, error, recipient, sender, received_at in cursor:
        if group in seen:
            continue
        seen.add(group)
        at = _instant(received_at) or _LONG_AGO
        found.setdefault(recipient.lstrip("+"), []).append(
            _Early(group, carrier, key, outcome, error, sender, at)
        )
    return found


def _settle_proven(
    conn: Connection, now: datetime, message: _Doubt, receipts: Sequence[_Early]
) -> None:
    at = adapt_datetime(conn, now)
    since = adapt_datetime(conn, message.since)
    carrier = receipts[0].carrier
    insert_few(
        conn,
        "outbox_parts",
        ("outbox_id", "part", "of_parts", "advertiser_id", "carrier_key", "carrier",
         "submitted_at", "outcome", "error_code", "done_at"),
        [
            (message.id, number, message.parts, message.advertiser_id, e.key, e.carrier, since,
             e.outcome, e.error_code, at)
            for number, e in enumerate(receipts, 1)
        ],
        skip_existing=True,
    )  # fmt: skip
    outcome = message_outcome(Outcome(e.outcome) for e in receipts)
    state = _STATE_OF.get(outcome, "submitted")
    error = next((e.error_code for e in receipts if e.outcome != "delivered"), None)
    q = mark(conn)
    driver_cursor(conn).execute(
        f"UPDATE outbox SET state = {q}, error_code = {q}, carrier = {q}, reason = NULL,"
        " last_error = 'in doubt, then proven taken by its receipts',"
        f" done_at = {q}, updated_at = {q} WHERE id = {q} AND state = 'unknown'",
        [state, None if state == "delivered" else error, carrier, at, at, message.id],
    )


def _audit_proven(
    conn: Connection, now: datetime, actor: str, proven: Sequence[tuple[_Doubt, list[_Early]]]
) -> None:
    by_campaign: dict[tuple[int, int], dict[str, list[int]]] = {}
    for message, receipts in proven:
        state = _STATE_OF.get(message_outcome(Outcome(e.outcome) for e in receipts), "submitted")
        key = (message.advertiser_id, message.campaign_id)
        by_campaign.setdefault(key, {}).setdefault(state, []).append(message.id)
    for campaign, states in sorted(by_campaign.items()):
        audit_dispatch(
            conn, now, actor, "dispatch.proven", campaign, was="unknown",
            **{state: audit.id_ranges(sorted(ids)) for state, ids in sorted(states.items())},
        )  # fmt: skip


def _settle(
    conn: Connection, now: datetime, outbox_ids: set[int], settled: list[int] | None = None
) -> None:
    """Messages whose parts' receipts settle them: delivered when all parts are, failed when
    any part failed (receipts.message_outcome)."""
    if not outbox_ids:
        return
    ids = sorted(outbox_ids)
    ids_sql, params = in_values(conn, ids)
    cursor = driver_cursor(conn)
    cursor.execute(
        f"SELECT outbox_id, outcome, error_code FROM outbox_parts WHERE outbox_id {ids_sql}",
        params,
    )
    outcomes: dict[int, list[Outcome | None]] = {}
    errors: dict[int, int | None] = {}
    for outbox_id, outcome, error_code in cursor.fetchall():
        outcomes.setdefault(outbox_id, []).append(Outcome(outcome) if outcome else None)
        if error_code and outcome not in (None, Outcome.DELIVERED.value):
            errors.setdefault(outbox_id, error_code)
    at = adapt_datetime(conn, now)
    final = []
    for outbox_id, parts in outcomes.items():
        outcome = message_outcome(parts)
        if outcome in _FINAL:
            final.append((outbox_id, _STATE_OF[outcome], errors.get(outbox_id)))
    _write_settled(conn, at, final)
    if settled is not None:
        settled.extend(outbox_id for outbox_id, _, _ in final)


def _write_settled(conn: Connection, at: Any, rows: Sequence[tuple[int, str, int | None]]) -> None:
    update_rows(
        conn,
        "outbox",
        ("id",),
        ("state", "error_code"),
        rows,
        where="{t}.state = 'submitted'",
        same={"done_at": at, "updated_at": at},
    )
