"""Bulk writes at the speed of each database: COPY on PostgreSQL, executemany on SQLite.

SQLAlchemy's executemany processes every value through its types; for millions of evidence rows
that costs more than the database itself, so the importer hands plain tuples to the driver.
Values must already be in the driver's terms: datetimes through `adapt_datetime`, JSON as text.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text


def sqlite_time(value: datetime) -> str:
    """Naive UTC text in SQLAlchemy's SQLite format ('2026-12-01 09:00:00.000000')."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def adapt_datetime(conn: Connection, value: datetime | None) -> Any:
    """SQLite keeps naive UTC text in SQLAlchemy's format; PostgreSQL takes aware datetimes."""
    if value is None:
        return None
    return sqlite_time(value) if conn.dialect.name == "sqlite" else value


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def reserve_ids(conn: Connection, table: str, count: int) -> list[int]:
    """`count` fresh primary keys for `table`, inside the caller's transaction.

    PostgreSQL draws them from the table's sequence (unique across sessions); SQLite's writer
    holds the database lock (BEGIN IMMEDIATE), so the next ids after the largest are free.
    """
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        drawn = conn.execute(
            text(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, :n)"), {"n": count}
        )
        return [row[0] for row in drawn]
    last = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(last + 1, last + count + 1))
