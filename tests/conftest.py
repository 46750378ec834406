"""Shared test fixtures."""

import os
from collections.abc import Iterator

import pytest

from tambour import keys

# Every test runs with this installation key (tambour/keys.py) unless it sets its own: none
# reads or makes the key file of the machine's user.
TEST_SECRET_KEY = "5a" * 32


@pytest.fixture(autouse=True)
def _installation_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(keys.KEY_ENV, TEST_SECRET_KEY)
    monkeypatch.delenv(keys.KEY_FILE_ENV, raising=False)
    keys.install(None)
    yield
    keys.install(None)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets group and others read: an owner-only file's mode must come from the
    code that creates it, not from the umask."""
    saved = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(saved)
