"""The `idempotency_keys` rows: one per (API key, Idempotency-Key), taken by the first request
(in a transaction of its own, committed before the request runs, so that a second request
sees it running), completed with the first response, or released when the request failed
unexpectedly (the client may then try again)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tambour.store.tables import idempotency_keys as table


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    content_type: str | None
    location: str | None
    body: bytes


class Begun(Enum):
    STARTED = "started"  # the row is this request's: run it, then `complete` or `release`
    RUNNING = "running"  # the first request has not finished
    MISMATCH = "mismatch"  # the key was used with another request


def begin(
    engine: Engine,
    api_key_id: int,
    key: str,
    request_hash: bytes,
    *,
    now: datetime,
    keep: timedelta,
    stale_after: timedelta,
) -> Begun | StoredResponse:
    """Take the key for this request, or say why not; the first response when it is known.
    An expired row, or one left running longer than `stale_after` (a server that died with
    the request), is taken over."""
    fresh = {
        "request_hash": request_hash,
        "started_at": now,
        "expires_at": now + keep,
        "status": None,
        "content_type": None,
        "location": None,
        "body": None,
    }
    where = (table.c.api_key_id == api_key_id) & (table.c.key == key)
    with engine.begin() as conn:
        if _inserted(conn, {"api_key_id": api_key_id, "key": key, **fresh}):
            return Begun.STARTED
        query = select(table).where(where)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).one()
        abandoned = row.status is None and row.started_at <= now - stale_after
        if row.expires_at <= now or abandoned:
            conn.execute(update(table).where(where).values(fresh))
            return Begun.STARTED
        if row.request_hash != request_hash:
            return Begun.MISMATCH
        if row.status is None:
            return Begun.RUNNING
        return StoredResponse(row.status, row.content_type, row.location, bytes(row.body or b""))


def complete(engine: Engine, api_key_id: int, key: str, response: StoredResponse) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where((table.c.api_key_id == api_key_id) & (table.c.key == key))
            .values(
                status=response.status,
                content_type=response.content_type,
                location=response.location,
                body=response.body,
            )
        )


def release(engine: Engine, api_key_id: int, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(table).where(
                (table.c.api_key_id == api_key_id) & (table.c.key == key) & table.c.status.is_(None)
            )
        )


def purge(engine: Engine, now: datetime) -> int:
    """Forget the keys past their 24 hours; how many."""
    with engine.begin() as conn:
        return conn.execute(delete(table).where(table.c.expires_at <= now)).rowcount


def _inserted(conn: Connection, values: dict[str, Any]) -> bool:
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # RETURNING says whether a row was written (rowcount is -1 here through psycopg).
    done = conn.execute(
        insert(table).values(values).on_conflict_do_nothing().returning(table.c.key)
    )
    return done.first() is not None
