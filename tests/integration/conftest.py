"""Databases for the integration tests: every test that asks for `engine` (or `db_url`) runs once
on SQLite and once on PostgreSQL, on an empty database built by the Alembic migrations.

    def test_something(engine: Engine) -> None:
        with engine.begin() as conn:
            ...

    def test_cli(db_url: str) -> None:        # for a subprocess or a second engine
        run(["tambour", "--database", db_url, ...])

- `db_backend`: "sqlite" or "postgresql" (the parameter; test ids end in [sqlite] / [postgresql]).
- `db_url`: the URL of this test's empty, migrated database.
- `engine`: `store.engine.make_engine(db_url)`, disposed after the test.

SQLite: a new file in the test's tmp_path, upgraded with `schema.upgrade` (a few ms).
PostgreSQL: ONE database per test session (per xdist worker), `tambour_test_<pid>_<hex>`,
created through the `postgres` maintenance database, migrated once, emptied before each test
(`TRUNCATE ... RESTART IDENTITY CASCADE` of every table but alembic_version, with user triggers
such as audit_log's append-only one switched off for that transaction only) and dropped at the
end of the session (`DROP DATABASE ... WITH (FORCE)`). No other database is ever touched.

Rules for tests: dispose every engine you make from `db_url` and return every connection
(`with` blocks), or the next test's TRUNCATE waits for your locks (it gives up after 10 s).
A test that changes the schema (a downgrade) must restore it to head before it ends.

Environment:
- TAMBOUR_TEST_DATABASES: which to run, comma-separated, default "sqlite,postgresql".
- TAMBOUR_TEST_PG_ADMIN_URL: the maintenance database, default
  postgresql+psycopg://postgres@127.0.0.1:5432/postgres (the user may CREATE DATABASE).
If PostgreSQL is down, its tests fail with how to start it; skip them with
TAMBOUR_TEST_DATABASES=sqlite.
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tambour import keys
from tambour.store import schema
from tambour.store.engine import make_engine
from tests.conftest import TEST_SECRET_KEY
from tests.integration import message_minutes_check

# The web app's fixtures (a server per module, Chromium), for every module that asks for them.
from tests.integration.web_app import web  # noqa: F401
from tests.integration.web_browser import browser, chromium  # noqa: F401

_KNOWN = ("sqlite", "postgresql")
_DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_PG_PREFIX = "tambour_test_"


def _backends() -> list[str]:
    wanted = [
        name.strip()
        for name in os.environ.get("TAMBOUR_TEST_DATABASES", ",".join(_KNOWN)).split(",")
        if name.strip()
    ]
    unknown = sorted(set(wanted) - set(_KNOWN))
    if unknown or not wanted:
        raise pytest.UsageError(f"TAMBOUR_TEST_DATABASES: choose among {_KNOWN}, not {unknown}")
    return wanted


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


class _PostgresTestDatabase:
    """The session's own database, and a small engine on it that empties it between tests."""

    def __init__(self, admin_url: URL) -> None:
        self.name = f"{_PG_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
        self.admin_url = admin_url
        self.url = admin_url.set(database=self.name)
        self._cleaner: Engine | None = None
        self._created = False

    def _admin(self) -> Engine:
        return create_engine(_url(self.admin_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def create(self) -> None:
        admin = self._admin()
        try:
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {_quote(self.name)}"))
            self._created = True
        except OperationalError as error:
            raise RuntimeError(
                f"PostgreSQL is not reachable at {self.admin_url!r} ({error.orig}). Start it "
                "with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
                ", or run only SQLite with TAMBOUR_TEST_DATABASES=sqlite."
            ) from error
        finally:
            admin.dispose()
        migrator = make_engine(_url(self.url))
        try:
            schema.upgrade(migrator)
        finally:
            migrator.dispose()
        self._cleaner = create_engine(_url(self.url), pool_size=1, max_overflow=0)

    def empty(self) -> None:
        assert self._cleaner is not None
        with self._cleaner.begin() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
            names = ", ".join(_quote(name) for name in tables)
            if not names:
                return
            # Reverted at commit: user triggers (append-only guards) do not fire meanwhile.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))

    def drop(self) -> None:
        if self._cleaner is not None:
            self._cleaner.dispose()
        if not self._created:
            return
        assert self.name.startswith(_PG_PREFIX)  # never anything but our own
        admin = self._admin()
        try:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {_quote(self.name)} WITH (FORCE)"))
        finally:
            admin.dispose()


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[_PostgresTestDatabase]:
    """Created on first use only, so a SQLite-only run never connects to PostgreSQL."""
    admin_url = make_url(os.environ.get("TAMBOUR_TEST_PG_ADMIN_URL", _DEFAULT_PG_ADMIN_URL))
    database = _PostgresTestDatabase(admin_url)
    try:
        database.create()
    except BaseException:
        database.drop()
        raise
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture(params=_backends())
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """After the test, the message counts the triggers kept are checked against the outbox
    (tests/integration/message_minutes_check.py)."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'tambour.db'}"
        migrator = make_engine(url)
        try:
            schema.upgrade(migrator)
        finally:
            migrator.dispose()
    else:
        database: _PostgresTestDatabase = request.getfixturevalue("_postgres_database")
        database.empty()
        url = _url(database.url)
    yield url
    checker = make_engine(url)
    try:
        wrong = message_minutes_check.differences(checker)
    finally:
        checker.dispose()
    if wrong:
        pytest.fail(wrong)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    try:
        yield made
    finally:
        made.dispose()


@pytest.fixture(scope="module", params=_backends())
def module_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database shared by the tests of one module (on each backend): for a server
    started once per module (the web app's browser tests), whose tests each make their own
    data. PostgreSQL: a database of its own, dropped after the module. The test key is set
    for its whole life (the per-test one is not yet set when a module's fixture starts)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.KEY_ENV, TEST_SECRET_KEY)
        patch.delenv(keys.KEY_FILE_ENV, raising=False)
        yield from _module_database(request.param, tmp_path_factory)


def _module_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('module-db') / 'tambour.db'}"
        migrator = make_engine(url)
        try:
            schema.upgrade(migrator)
        finally:
            migrator.dispose()
        yield url
        return
    admin_url = make_url(os.environ.get("TAMBOUR_TEST_PG_ADMIN_URL", _DEFAULT_PG_ADMIN_URL))
    database = _PostgresTestDatabase(admin_url)
    try:
        database.create()
        yield _url(database.url)
    finally:
        database.drop()
