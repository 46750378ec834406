"""The database engine: SQLite in WAL mode by default, PostgreSQL through psycopg."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DEFAULT_DATABASE_URL = "sqlite:///./tambour.db"
_POSTGRESQL_TIMEOUTS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 20,
    "keepalives_interval": 5,
    "keepalives_count": 4,
}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk writes stay in memory
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock when the transaction starts, not at the first write, so two
    # writers never both read then fail to upgrade (the SQLite claim pattern of architecture.md).
    # Readers opened with `reader(engine)` begin DEFERRED and do not block writers (WAL).
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def reader(engine: Engine) -> Connection:
    """A connection for reading only: on SQLite it takes no write lock."""
    return engine.execution_options(sqlite_begin="DEFERRED").connect()


def single_read(engine: Engine) -> Connection:
    """A connection for one statement that reads: on PostgreSQL in autocommit (a statement
    sees one moment of the database by itself: no BEGIN and no ROLLBACK to send around it);
    on SQLite a reader's."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT").connect()
    return reader(engine)


@contextmanager
def single_write(engine: Engine) -> Iterator[Connection]:
    """A connection for one statement that writes, committed as it ends: on PostgreSQL in
    autocommit (a statement is a transaction by itself: no BEGIN and no COMMIT to send); on
    SQLite in a transaction (its writers take the lock first)."""
    if engine.dialect.name == "postgresql":
        with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            yield conn
    else:
        with engine.begin() as conn:
            yield conn


def snapshot(engine: Engine) -> Connection:
    """A connection for reading only whose every statement sees one moment of the database
    (what committed before its first statement): a check that reads several tables one after
    the other must not see a write that committed in between. SQLite's read transaction is
    one snapshot already; PostgreSQL's default (READ COMMITTED) takes one per statement."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ).connect()
    return reader(engine)


def _private_file(database: str | None, *, uri: bool) -> None:
    """Create a SQLite database file readable by its owner only (0600), before SQLite does
    with the umask's mode (often 0644: the ledger readable by every user of the machine).
    SQLite gives its -wal and -shm files the mode of the database file. An existing file is
    left as it is; an in-memory database or a URI filename is SQLite's to open."""
    if not database or database == ":memory:" or uri or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # it exists (left as it is), or cannot be made: SQLite will say why
        return
    os.close(fd)


def make_engine(url: str, *, pooled: bool = True, pool_size: int | None = None) -> Engine:
    """An engine for `url`. One-shot commands pass `pooled=False`: no idle connection lingers.
    A server passes its `pool_size`: that many connections kept open, and no more opened (a
    request beyond them waits for one): SQLAlchemy's default overflow would open a connection
    for each request beyond its five and close it after, a connection set up a request."""
    parsed = make_url(url)
    pool: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    if pooled and pool_size is not None:
        pool = {"pool_size": pool_size, "max_overflow": 0}
    if parsed.get_backend_name() == "sqlite":
        _private_file(parsed.database, uri="uri" in parsed.query)
        engine = create_engine(url, connect_args={"isolation_level": None}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # A database that stops answering (a restart, a network cut that sends no reset) must
    # fail a connection attempt in seconds and a dead connection within a minute, for the
    # worker's retries to take over: by default both wait for as long as TCP does.
    connect_args = {
        key: value for key, value in _POSTGRESQL_TIMEOUTS.items() if key not in parsed.query
    }
    engine = create_engine(url, pool_pre_ping=pooled, connect_args=connect_args, **pool)
    event.listen(engine, "connect", _postgresql_session)
    return engine


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares a statement run five times; PostgreSQL then keeps a generic plan, chosen
    # once from the statistics of that moment. A worker's statements run thousands of times
    # over tables that grow from nothing during a campaign (outbox_parts): its look-up by
    # carrier key stayed a sequential scan (benches/bench_dispatch.py found 20 ms a batch
    # instead of 0.6). Batch statements are planned for their own parameters instead.
    # JIT compiles a statement whose estimated cost is high, which a growing table's stale
    # statistics make common: milliseconds of compiling for a look-up of a few rows.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
        cursor.execute("SET jit = off")
    dbapi_connection.commit()
