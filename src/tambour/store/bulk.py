"""Bulk writes at the speed of each database: COPY on PostgreSQL, executemany on SQLite.

SQLAlchemy's executemany processes every value through its types; for millions of evidence rows
that costs more than the database itself, so the importer hands plain tuples to the driver.
Values must already be in the driver's terms: instants through `copy_time`, JSON as text.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.types import TypeDecorator

from tambour.store.tables import metadata


def sqlite_time(value: datetime) -> str:
    """Naive UTC text in SQLAlchemy's SQLite format ('2026-12-01 09:00:00.000000')."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def copy_time(dialect: str, value: datetime) -> Any:
    """An instant as `insert_rows` takes it: SQLite keeps naive UTC text in SQLAlchemy's format;
    PostgreSQL's binary COPY a naive UTC datetime (see `_binary_type`)."""
    if dialect == "sqlite":
        return sqlite_time(value)
    return value.astimezone(UTC).replace(tzinfo=None)


def adapt_datetime(conn: Connection, value: datetime | None) -> Any:
    """An instant as a query parameter for the driver: SQLite text, PostgreSQL aware."""
    if value is None:
        return None
    return sqlite_time(value) if conn.dialect.name == "sqlite" else value.astimezone(UTC)


def read_instant(value: Any) -> datetime:
    """An instant read through the driver: SQLite gives naive UTC text, PostgreSQL aware."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


def driver_cursor(conn: Connection) -> Any:
    """A cursor of the driver itself, inside the caller's transaction: for hot statements
    whose SQLAlchemy processing would cost more than the database."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _binary_type(column: Column[Any]) -> str:
    """The PostgreSQL type whose binary form psycopg must write for `column`. JSON goes as
    text: its binary form is its text, and psycopg would encode a str again as a JSON string."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    for python_type, name in (
        (BigInteger, "int8"), (Integer, "int4"), (LargeBinary, "bytea"), (JSON, "text"),
        (String, "text"),
    ):  # fmt: skip
        if isinstance(kind, python_type):
            return name
    if isinstance(kind, DateTime):
        # timestamptz and timestamp have one binary form, microseconds since 2000-01-01, UTC for
        # timestamptz: written from a naive UTC datetime, it is the instant, whatever the
        # session's time zone. Naive datetimes cost the importer's processes half as much to
        # pass around as aware ones.
        return "timestamp"
    raise TypeError(f"no binary COPY type for {column}")  # pragma: no cover - a new column type


@cache
def _binary_types(table: str, columns: tuple[str, ...]) -> list[str]:
    return [_binary_type(metadata.tables[table].c[name]) for name in columns]


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    sqlite = conn.dialect.name == "sqlite"
    wrong = [v for v in rows[0] if isinstance(v, datetime) and (sqlite or v.tzinfo is not None)]
    if wrong:  # it would be stored in another format, or read in the session's time zone
        raise TypeError(f"insert_rows({table}): instants come from copy_time, not {wrong[0]!r}")
    if not sqlite:
        cursor = driver_cursor(conn)
        # Binary: the server parses no text (timestamps, hex of bytea), the client formats none.
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_binary_types(table, tuple(columns)))
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
        cursor = driver_cursor(conn)  # thousands of ids a batch: no SQLAlchemy row processing
        # Drawn in one statement, so in increasing order. Usually a run (no other session drew
        # meanwhile): its first and last are all that cross the wire, not thousands of rows.
        cursor.execute(
            "SELECT min(n), max(n), CASE WHEN max(n) - min(n) + 1 = count(*) THEN NULL "
            "ELSE array_agg(n ORDER BY n) END "
            f"FROM (SELECT nextval('{table}_id_seq') AS n FROM generate_series(1, %s)) AS drawn",
            (count,),
            binary=True,
        )
        first, last, scattered = cursor.fetchone()
        return list(range(first, last + 1)) if scattered is None else list(scattered)
    # Never an id handed out before, even if its row was deleted since: the audit log lists
    # rows by id, and a reused id would make a removed row look present.
    name = f"last_id:{table}"
    last = conn.execute(
        text(
            f"SELECT max(coalesce((SELECT max(id) FROM {table}), 0), "
            "coalesce((SELECT CAST(value AS INTEGER) FROM installation WHERE name = :name), 0))"
        ),
        {"name": name},
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO installation (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        ),
        {"name": name, "value": str(last + count)},
    )
    return list(range(last + 1, last + count + 1))


def _array_type(column: Column[Any]) -> str:
    """The PostgreSQL array element type `update_rows` casts a column's values to."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, DateTime):
        return "timestamptz"  # from aware datetimes (adapt_datetime)
    return _binary_type(column)


def update_rows(
    conn: Connection,
    table: str,
    match: Sequence[str],
    values: Sequence[str],
    rows: Sequence[Sequence[Any]],
    where: str = "",
    same: Mapping[str, Any] | None = None,
) -> None:
    """Update many rows of `table` by `match` columns, each row giving the match values then
    the new `values`, in one statement on PostgreSQL (unnest of arrays) and one executemany on
    SQLite. `same` sets columns to one value for every row (one parameter, not an array: the
    driver turns arrays into text element by element, in Python). `where` adds a literal
    condition on the table's row (written `{t}.column`). Instants come from adapt_datetime."""
    if not rows:
        return
    same = same or {}
    cursor = driver_cursor(conn)
    condition = f" AND {where.format(t=table)}" if where else ""
    width = len(match)
    if conn.dialect.name == "sqlite":
        sets = ", ".join(f"{name} = ?" for name in [*values, *same])
        keys = " AND ".join(f"{name} = ?" for name in match)
        constants = tuple(same.values())
        cursor.executemany(
            f"UPDATE {table} SET {sets} WHERE {keys}{condition}",
            [(*row[width:], *constants, *row[:width]) for row in rows],
        )
        return
    columns = [*match, *values]
    described = metadata.tables[table].c
    arrays = ", ".join(f"%s::{_array_type(described[name])}[]" for name in columns)
    # Positional names in v: a column may be matched on and set (a lease given back).
    names = [f"c{i}" for i in range(len(columns))]
    sets = ", ".join(
        [f"{name} = v.{names[width + i]}" for i, name in enumerate(values)]
        + [f"{name} = %s::{_array_type(described[name])}" for name in same]
    )
    keys = " AND ".join(f"{table}.{name} = v.{names[i]}" for i, name in enumerate(match))
    cursor.execute(
        f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}) "
        f"WHERE {keys}{condition}",
        [*same.values(), *(list(column) for column in zip(*rows, strict=True))],
    )


def in_values(conn: Connection, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`IN (...)` over `values` for a driver-level statement: the SQL after the column and its
    parameters (one array on PostgreSQL, so the statement is the same for any count)."""
    if conn.dialect.name == "sqlite":
        return f"IN ({', '.join('?' * len(values))})", list(values)
    return "= ANY(%s)", [list(values)]


def mark(conn: Connection) -> str:
    """The driver's parameter mark."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def insert_few(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    skip_existing: bool = False,
    same: Mapping[str, Any] | None = None,
) -> None:
    """Insert a batch of rows in one statement: unnest of arrays on PostgreSQL (unlike COPY it
    can share a pipeline with other statements), executemany on SQLite. Instants come from
    adapt_datetime. `skip_existing`: a row whose key is already there is left as it is (a
    write retried after a commit whose outcome was lost). `same`: columns with one value for
    every row (one parameter, not an array the driver builds element by element)."""
    if not rows:
        return
    constant = dict(same or {})
    names = ", ".join([*columns, *constant])
    tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
    cursor = driver_cursor(conn)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in (*columns, *constant))
        extra = tuple(constant.values())
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks}){tail}",
            [(*row, *extra) for row in rows] if extra else rows,
        )
        return
    described = metadata.tables[table].c
    arrays = ", ".join(f"%s::{_array_type(described[name])}[]" for name in columns)
    ones = "".join(f", %s::{_array_type(described[name])}" for name in constant)
    cursor.execute(
        f"INSERT INTO {table} ({names}) SELECT *{ones} FROM unnest({arrays}){tail}",
        [*constant.values(), *(list(column) for column in zip(*rows, strict=True))],
    )


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """Statements inside go to PostgreSQL together, without waiting for each other's answers
    (psycopg's pipeline mode): for writes whose results nobody reads. A no-op on SQLite."""
    if conn.dialect.name != "postgresql":
        yield
        return
    with conn.connection.driver_connection.pipeline():  # type: ignore[union-attr]
        yield


def refresh_statistics(conn: Connection, *tables: str) -> None:
    """Fresh PostgreSQL planner statistics for `tables` after a bulk change, inside the
    caller's transaction or not (a no-op on SQLite, which plans without them). Autovacuum
    comes a minute or more later; until then the server plans as if the tables were as they
    were, and scans what it should probe."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
