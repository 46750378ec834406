"""What Tambour writes on disk is readable by its owner only: a new SQLite database, its
write-ahead log and shared-memory files (0600), whatever the umask; and the password of a
database URL is never printed, whether the URL is malformed or the server unreachable."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tambour.redaction import mask_url, redact
from tambour.store.engine import make_engine
from tests.integration.cli import Cli


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    before = os.umask(0o022)  # the usual default: new files 0644, readable by every user
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_is_readable_by_its_owner_only(
    tmp_path: Path, permissive_umask: None
) -> None:
    database = tmp_path / "ledger.db"
    assert Cli(f"sqlite:///{database}")("db", "upgrade").out.startswith("schema empty ->")
    assert mode(database) == 0o600
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as conn:  # the log and shared memory exist while it is open
            conn.execute(text("INSERT INTO installation (name, value) VALUES ('t', 'v')"))
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM installation")).scalar_one()
            for suffix in ("-wal", "-shm"):
                assert mode(database.with_name(database.name + suffix)) == 0o600, suffix
    finally:
        engine.dispose()
    # A file the operator made (and chose the mode of) is left as it is.
    chosen = tmp_path / "chosen.db"
    chosen.touch(mode=0o640)
    Cli(f"sqlite:///{chosen}")("db", "upgrade")
    assert mode(chosen) == 0o640


PASSWORD = "S3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        # unreachable: the driver's error
        (f"postgresql+psycopg://tambour:{PASSWORD}@127.0.0.1:1/ledger", "cannot be used"),
        # malformed, not parsed: the URL is echoed, masked
        (f"postgresql+psycopg://tambour:{PASSWORD}@127.0.0.1:notaport/ledger", "tambour:***@"),
        (f"postgresql+nodriver://tambour:{PASSWORD}@127.0.0.1/ledger", "tambour:***@"),
        (f"tambour:{PASSWORD}@127.0.0.1/ledger", "tambour:***@"),
        (f"postgresql+psycopg:///ledger?host=/nowhere&password={PASSWORD}", "cannot be used"),
    ],
)
def test_a_database_password_is_never_printed(url: str, said: str) -> None:
    for command in (("advertiser", "list"), ("db", "upgrade"), ("db", "status")):
        done = Cli(url)(*command, ok=False)
        assert done.code == 2, (command, done.err)
        assert said in done.err and done.err.startswith("error: ")
        assert PASSWORD not in done.err + done.out and "Traceback" not in done.err


def test_masking() -> None:
    url = "postgresql+psycopg://u:p%40ss@w0rd@db.example:5432/t?sslmode=require"
    assert mask_url(url) == "postgresql+psycopg://u:***@db.example:5432/t?sslmode=require"
    assert mask_url("sqlite:///./tambour.db") == "sqlite:///./tambour.db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("host=h password='a b' user=u") == "host=h password=*** user=u"
    said = redact('connection to "h" failed for p@ss@w0rd and p%40ss@w0rd', url)
    assert "p@ss" not in said and "w0rd" not in said
