"""Shared test fixtures."""

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
