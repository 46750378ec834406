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
    insert_rows(conn, "evidence", _STORED, current_sealer().evidence_rows(ids, rows))
    return ids
