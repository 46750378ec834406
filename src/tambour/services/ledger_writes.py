"""Writing evidence rows: ids drawn first, each row sealed (services/seals.py), the ids handed
back for the audit entry of the action that wrote them. The one way evidence is inserted."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from tambour.services.seals import current_sealer
from tambour.store.bulk import insert_rows, reserve_ids

# What callers give, in this order; `insert_evidence` adds the id before and the seal after.
EVIDENCE_COLUMNS = (
    "advertiser_id", "contact_id", "kind", "occurred_at", "data", "fingerprint", "source",
    "recorded_at", "recorded_by",
)  # fmt: skip
_STORED = ("id", *EVIDENCE_COLUMNS, "seal")


def insert_evidence(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert evidence rows (EVIDENCE_COLUMNS order, instants from `copy_time`, data as JSON
    text) with fresh ids and their seals; returns the ids, in the rows' order."""
    if not rows:
        return []
    ids = reserve_ids(conn, "evidence", len(rows))
    seal = current_sealer().evidence
    stored: list[list[Any]] = []  # lists: each row is made once, its seal appended to it
    for row_id, row in zip(ids, rows, strict=True):
        full = [row_id, *row]
        full.append(seal(full))
        stored.append(full)
    insert_rows(conn, "evidence", _STORED, stored)
    return ids


def insert_facts(
    conn: Connection,
    advertiser_id: int,
    source: str,
    recorded_at: Any,
    recorded_by: str,
    facts: Sequence[tuple[int, Sequence[Sequence[Any]]]],
) -> list[int]:
    """`insert_evidence` for facts recorded together, as an import's batch is: each contact's
    id with its facts, each (kind, occurred_at, data, fingerprint, anything: not stored),
    recorded from one source, at one instant (from `copy_time`), by one author. The same rows
    and seals, made without a row of all the values for each fact first; returns the ids, in
    the facts' order."""
    count = sum(len(contact_facts) for _, contact_facts in facts)
    if not count:
        return []
    ids = reserve_ids(conn, "evidence", count)
    sealer = current_sealer()
    rows = sealer.facts_rows(ids, advertiser_id, source, recorded_at, recorded_by, facts)
    insert_rows(conn, "evidence", _STORED, rows)
    return ids
