"""The suppression lists are keyed by the installation's secret key, kept outside the database
(tambour/keys.py): a copy of the database tests no number, the key file is private, a command
run with another key is refused, a database made before keeps its opt-outs, and the key can be
rotated. On SQLite and PostgreSQL, through the command line."""

import hmac
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, func, select, text

from tambour.keys import KEY_ENV, KEY_FILE_ENV, Keys
from tambour.services import advertisers
from tambour.services.suppression import phone_hash
from tambour.store import schema
from tambour.store.tables import audit_log, installation, metadata, suppressions
from tests.conftest import TEST_SECRET_KEY
from tests.integration.cli import Cli

NUMBER = "+33612345678"
TAMBOUR = str(Path(sys.executable).with_name("tambour"))
OTHER_KEY = "c3" * 32


def hashes(engine: Engine) -> set[bytes]:
    with engine.connect() as conn:
        return {bytes(h) for h in conn.execute(select(suppressions.c.phone_hash)).scalars()}


def stored_values(engine: Engine) -> Iterator[bytes]:
    """Every value of every row of every table, as bytes (text also hex-decoded when it can
    be): what a copy of the database gives whoever holds it."""
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        yield bytes(value)
                    elif isinstance(value, str):
                        yield value.encode()
                        try:
                            decoded = bytes.fromhex(value)
                        except ValueError:
                            continue
                        yield decoded


def assert_no_key_in_the_database(engine: Engine, numbers: list[str]) -> None:
    """No value stored anywhere keys the suppression hashes of `numbers`."""
    listed = hashes(engine)
    assert listed
    for value in stored_values(engine):
        for number in numbers:
            assert hmac.digest(value, number.encode(), "sha256") not in listed


def sqlite_bytes(db_url: str) -> bytes:
    path = Path(db_url.removeprefix("sqlite:///"))
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


def suppressed(cli: Cli, number: str) -> Any:
    shown = cli("contacts", "show", number, "--advertiser", "maison-lumiere", "--json").json()
    return shown["contact"]["suppressed"], shown["standing"]["commercial"]["reason"]


def import_consenting(cli: Cli, tmp_path: Path, number: str) -> None:
    path = tmp_path / "consenting.csv"
    path.write_text(f"phone,consent,consent_at,consent_method\n{number},yes,2026-01-05,web_form\n")
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")


def test_a_copy_of_the_database_tests_no_number(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    cli("optout", "add", "06 12 34 56 78", "--advertiser", "maison-lumiere", "--source", "sms_stop")
    with engine.connect() as conn:
        advertiser = advertisers.get(conn, "maison-lumiere")
        recorded = dict(conn.execute(select(installation.c.name, installation.c.value)).all())
    # Tambour, with the installation's key, finds the number in the list...
    assert hashes(engine) == {phone_hash(advertiser, NUMBER)}
    assert recorded.pop("key_id") == Keys(bytes.fromhex(TEST_SECRET_KEY)).key_id  # not the key
    # Besides it, only the last ids handed out (SQLite: an id is never handed out twice).
    assert all(name.startswith("last_id:") and value.isdigit() for name, value in recorded.items())
    # ... whoever holds the database alone cannot: no stored value is the key.
    assert_no_key_in_the_database(engine, [NUMBER])
    if db_url.startswith("sqlite"):
        raw = sqlite_bytes(db_url)
        for secret in (advertiser.hash_key, bytes.fromhex(TEST_SECRET_KEY)):
            assert secret not in raw and secret.hex().encode() not in raw


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAMBOUR, *args], env=env, capture_output=True, text=True, check=False, timeout=60
    )


def test_the_key_file_is_private_and_opt_outs_hold_across_processes(
    db_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, KEY_FILE_ENV)}
    env |= {"TAMBOUR_DATABASE_URL": db_url, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    first = run(env, "advertiser", "create", "maison-lumiere", "--name", "Maison Lumière",
                "--sender", "MLUMIERE", "--stop-number", "36111")  # fmt: skip
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "config" / "tambour" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    key = key_file.read_text().strip()
    # Each command is a process of its own; all read the key from the file.
    stop = run(
        env, "optout", "add", NUMBER, "--advertiser", "maison-lumiere", "--source", "sms_stop"
    )
    assert stop.returncode == 0, stop.stderr
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        f"phone,consent,consent_at,consent_method\n{NUMBER},yes,2026-01-05,web_form\n"
    )
    imported = run(env, "contacts", "import", str(contacts), "--advertiser", "maison-lumiere")
    assert imported.returncode == 0, imported.stderr
    shown = run(env, "contacts", "show", NUMBER, "--advertiser", "maison-lumiere", "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"reason": "opted_out"' in shown.stdout and '"source": "sms_stop"' in shown.stdout

    # Another key: refused, saying which, before anything is read wrong.
    wrong = run(env | {KEY_ENV: OTHER_KEY}, "contacts", "show", NUMBER, "--advertiser",
                "maison-lumiere")  # fmt: skip
    assert wrong.returncode == 2
    assert "secret key" in wrong.stderr and Keys(bytes.fromhex(OTHER_KEY)).key_id in wrong.stderr
    assert "Traceback" not in wrong.stderr and OTHER_KEY not in wrong.stderr + wrong.stdout
    assert run(env | {KEY_ENV: OTHER_KEY}, "db", "upgrade").returncode == 2

    # A key file others may read is refused, and the key is not printed.
    copy = tmp_path / "shared.key"
    copy.write_text(key + "\n")
    copy.chmod(0o644)
    readable = run(env | {KEY_FILE_ENV: str(copy)}, "advertiser", "list")
    assert readable.returncode == 2
    assert "may be read by others" in readable.stderr and "chmod 600" in readable.stderr
    assert key not in readable.stderr + readable.stdout
    copy.chmod(0o600)
    assert run(env | {KEY_FILE_ENV: str(copy)}, "advertiser", "list").returncode == 0


LEGACY_KEY = bytes(range(32))
ERASED = "+33612345679"  # erased: only its hash is left, under the legacy key


@pytest.fixture
def legacy_database(db_url: str, engine: Engine) -> Iterator[Engine]:
    """The test's database as Tambour 0005 left it: an advertiser with its suppression key in
    the advertisers table, and the hash of an erased number under that key."""
    config = schema.alembic_config(engine)
    command.downgrade(config, "0005")
    try:
        at = datetime(2026, 3, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO advertisers (slug, name, stop_number, categories, hash_key, "
                    "created_at) VALUES ('maison-lumiere', 'Maison Lumière', '36111', '[]', "
                    ":key, :at)"
                ),
                {"key": LEGACY_KEY, "at": at},
            )
            conn.execute(
                text("INSERT INTO sender_ids (advertiser_id, sender) VALUES (1, 'MLUMIERE')")
            )
            conn.execute(
                text(
                    "INSERT INTO suppressions (advertiser_id, phone_hash, source, "
                    "suppressed_at, recorded_at) VALUES (1, :hash, 'data_request', :at, :at)"
                ),
                {"hash": hmac.digest(LEGACY_KEY, ERASED.encode(), "sha256"), "at": at},
            )
        yield engine
    finally:
        command.upgrade(config, "head")  # the next test needs the schema whole


def test_a_database_made_before_keeps_its_opt_outs_and_loses_its_keys(
    db_url: str, legacy_database: Engine, tmp_path: Path
) -> None:
    engine = legacy_database
    cli = Cli(db_url)
    upgraded = cli("db", "upgrade")
    assert upgraded.out.strip() == f"schema 0005 -> {schema.head_revision()}"
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT hash_key FROM advertisers")).scalar_one()
        key_ids = conn.execute(select(installation.c.value)).scalars().all()
    assert bytes(stored) != LEGACY_KEY and len(stored) == 32
    assert key_ids == [Keys(bytes.fromhex(TEST_SECRET_KEY)).key_id]
    assert_no_key_in_the_database(engine, [ERASED])
    if db_url.startswith("sqlite"):
        assert LEGACY_KEY not in sqlite_bytes(db_url)  # nor in a free page or the log
    # The rows of before are sealed by the upgrade and listed by its audit entry.
    verified = cli("audit", "verify", "--json").json()
    assert verified["ok"] and verified["rows"]["suppressions"] == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE suppressions SET source = 'manual'"))
    assert cli("audit", "verify", ok=False).code == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE suppressions SET source = 'data_request'"))

    # The erased number comes back in a file: still suppressed, under its legacy hash.
    import_consenting(cli, tmp_path, ERASED)
    entry, reason = suppressed(cli, ERASED)
    assert (entry["source"], reason) == ("data_request", "opted_out")
    cli("optout", "add", ERASED, "--advertiser", "maison-lumiere", "--source", "sms_stop")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(suppressions)).scalar_one() == 1

    # The database is now tied to the key it was upgraded with.
    other = Cli(db_url)
    other.env[KEY_ENV] = OTHER_KEY
    refused = other("contacts", "show", ERASED, "--advertiser", "maison-lumiere", ok=False)
    assert refused.code == 2 and "secret key" in refused.err


def test_a_rotation_keeps_the_opt_outs_under_the_new_key_only(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    cli("optout", "add", NUMBER, "--advertiser", "maison-lumiere", "--source", "sms_stop")
    new_file = tmp_path / "keys" / "new.key"
    rotated = cli("keys", "rotate", "--new-key-file", str(new_file), "--json").json()
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    new = Keys(bytes.fromhex(new_file.read_text().strip()))
    old = Keys(bytes.fromhex(TEST_SECRET_KEY))
    assert rotated == {"old_key_id": old.key_id, "new_key_id": new.key_id, "advertisers": 1,
                       "new_key_file": str(new_file)}  # fmt: skip

    stale = cli("advertiser", "list", ok=False)  # the old key opens nothing any more
    assert stale.code == 2 and new.key_id in stale.err
    rotated_cli = Cli(db_url)
    rotated_cli.env |= {KEY_ENV: None, KEY_FILE_ENV: str(new_file)}  # type: ignore[dict-item]
    import_consenting(rotated_cli, tmp_path, NUMBER)
    entry, reason = suppressed(rotated_cli, NUMBER)
    assert (entry["source"], reason) == ("sms_stop", "opted_out")
    assert rotated_cli("keys", "show", "--json").json() == {
        "key_id": new.key_id, "origin": str(new_file), "database_key_id": new.key_id,
    }  # fmt: skip
    assert_no_key_in_the_database(engine, [NUMBER])
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert "keys.rotate" in actions
    assert rotated_cli("audit", "verify").code == 0
    same = rotated_cli("keys", "rotate", "--new-key-file", str(new_file), ok=False)
    assert same.code == 2 and "the new key is the current one" in same.err
