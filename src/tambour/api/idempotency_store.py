"""The `idempotency_keys` rows: one per (API key, Idempotency-Key), taken by the first request
(in a transaction of its own, committed before the request runs, so that a second request
sees it running), completed with the first response, or released when the request failed
unexpectedly (the client may then try again)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from tambour.store.bulk import adapt_datetime, driver_cursor, mark
from tambour.store.engine import single_write
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
    taken = {"api_key_id": api_key_id, "key": key, **fresh}
    with single_write(engine) as conn:  # a new key, as nearly every one is: one statement
        if _inserted(conn, taken):
            return Begun.STARTED
    with engine.begin() as conn:  # a key seen before: its row, held while it is weighed
        query = select(table).where(where)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:  # released in between (its request failed): this one takes it
            return Begun.STARTED if _inserted(conn, taken) else Begun.RUNNING
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
    with single_write(engine) as conn:
        q = mark(conn)
        driver_cursor(conn).execute(
            f"UPDATE idempotency_keys SET status = {q}, content_type = {q}, location = {q},"
            f" body = {q} WHERE api_key_id = {q} AND key = {q}",
            (
                response.status, response.content_type, response.location, response.body,
                api_key_id, key,
            ),
        )  # fmt: skip


def release(engine: Engine, api_key_id: int, key: str) -> None:
    with single_write(engine) as conn:
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
    """Whether the key's row was written (it did not exist). To the driver: every POST with
    a key writes one, where SQLAlchemy's statement building cost more than the database."""
    q = mark(conn)
    cursor = driver_cursor(conn)
    # RETURNING says whether a row was written (rowcount is -1 here through psycopg).
    cursor.execute(
        f"INSERT INTO idempotency_keys ({', '.join(_COLUMNS)})"
        f" VALUES ({', '.join([q] * len(_COLUMNS))}) ON CONFLICT DO NOTHING RETURNING key",
        [
            adapt_datetime(conn, value) if isinstance(value, datetime) else value
            for value in (values[column] for column in _COLUMNS)
        ],
    )
    return cursor.fetchone() is not None


_COLUMNS = (
    "api_key_id", "key", "request_hash", "started_at", "expires_at", "status", "content_type",
    "location", "body",
)  # fmt: skip
