"""The migrations build exactly the schema `store/tables.py` describes, on both databases, and
migration 0003 (no foreign keys on the ledger) keeps every row both ways."""

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select

from tambour.store import schema
from tambour.store.tables import contacts, evidence, metadata
from tests.integration.cli import Cli
from tests.integration.test_contacts import sample_file


def test_the_migrations_build_the_schema_the_code_describes(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migration_0003_keeps_the_ledger_both_ways(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")

    def counts() -> tuple[int, int]:
        with engine.connect() as conn:
            return (
                conn.execute(select(func.count()).select_from(contacts)).scalar_one(),
                conn.execute(select(func.count()).select_from(evidence)).scalar_one(),
            )

    def foreign_keys() -> list[str]:
        found = inspect(engine)
        return sorted(
            str(key["name"])
            for table in ("contacts", "evidence")
            for key in found.get_foreign_keys(table)
        )

    before = counts()
    assert before[0] > 20 and foreign_keys() == []
    config = schema.alembic_config(engine)
    command.downgrade(config, "0002")
    try:
        assert counts() == before
        assert foreign_keys() == [
            "fk_contacts_advertiser_id_advertisers",
            "fk_evidence_advertiser_id_advertisers",
            "fk_evidence_contact_id_contacts",
        ]
    finally:
        command.upgrade(config, "head")
    assert counts() == before and foreign_keys() == []


def test_the_quick_head_is_alembics_head() -> None:
    assert schema.quick_head() == schema.head_revision()


def test_a_command_on_a_current_schema_does_not_load_alembic(db_url: str) -> None:
    """Alembic takes a fifth of a second to import: only migrations and mismatches need it."""
    script = (
        "import sys; from tambour.cli.context import open_context; open_context(); "
        "print('alembic' in sys.modules)"
    )
    env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr


def test_a_schema_newer_than_this_tambour_is_refused(db_url: str, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    try:
        refused = Cli(db_url)("advertiser", "list", ok=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE alembic_version SET version_num = '{schema.head_revision()}'"
            )
    assert refused.code == 2 and "newer than this Tambour knows" in refused.err


def test_a_reader_that_leaves_early_gets_no_error_message(db_url: str, tmp_path: Path) -> None:
    """`tambour contacts export ... | head` : the pipe closes under the writer; like any Unix
    tool it stops without a message (it used to print 'error: : Broken pipe')."""
    cli = Cli(db_url)
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    env = {**os.environ, "TAMBOUR_DATABASE_URL": db_url}
    tambour = str(Path(sys.executable).with_name("tambour"))
    with subprocess.Popen(
        [tambour, "contacts", "export", "--advertiser", "maison-lumiere"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as export:  # fmt: skip
        assert export.stdout is not None and export.stderr is not None
        export.stdout.close()  # before it writes anything
        err = export.stderr.read().decode()
    assert export.returncode == 1 and err == ""
