"""Bulk writes (store/bulk.py) store the instants they are given, whatever the database
session's time zone: PostgreSQL's binary COPY is written from naive UTC datetimes."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tambour.services import optouts
from tambour.services.context import Context
from tambour.store.bulk import copy_time, insert_rows, update_rows
from tambour.store.tables import evidence, outbox
from tests.dispatch_setup import launched_campaign, mobile, paris
from tests.integration.cli import Cli
from tests.integration.test_contacts import write_csv

TAHITI = "?options=-c%20TimeZone%3DPacific%2FTahiti"  # UTC-10: an offset nobody would miss


@pytest.mark.parametrize("workers", ["0", "1"])
def test_imported_instants_are_the_instants_of_the_file(
    db_url: str, db_backend: str, engine: Engine, tmp_path: Path, workers: str
) -> None:
    cli = Cli(db_url + (TAHITI if db_backend == "postgresql" else ""))
    cli.advertiser()
    source = write_csv(
        tmp_path / "c.csv",
        [
            {"phone": "0612345678", "consent": "oui", "consent_at": "2025-07-14T12:00:00"},
            {"phone": "0612345679", "consent": "oui", "consent_at": "2025-12-24T23:30:00Z"},
        ],
    )
    cli("contacts", "import", str(source), "--advertiser", "maison-lumiere", "--workers", workers)
    with engine.connect() as conn:
        stored = sorted(conn.execute(select(evidence.c.occurred_at)).scalars())
    assert stored == [
        datetime(2025, 7, 14, 10, 0, tzinfo=UTC),  # noon in Paris, summer time
        datetime(2025, 12, 24, 23, 30, tzinfo=UTC),
    ]


def test_an_opt_out_is_dated_when_it_is_recorded(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    known = write_csv(tmp_path / "c.csv", [{"phone": "0612345678"}])
    cli("contacts", "import", str(known), "--advertiser", "maison-lumiere")
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the night Paris changes time
    ctx = Context(engine, "test", lambda: at)
    optouts.add(
        ctx, slug="maison-lumiere", number="0612345678", source=optouts.parse_source("manual")
    )
    with engine.connect() as conn:
        assert conn.execute(select(evidence.c.occurred_at, evidence.c.recorded_at)).one() == (
            at,
            at,
        )


def test_insert_rows_refuses_an_instant_it_would_misread(engine: Engine) -> None:
    """A datetime where copy_time gives text (SQLite) or a naive UTC datetime (PostgreSQL):
    refused, rather than stored in another format or read in the session's time zone."""
    aware = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    with engine.begin() as conn, pytest.raises(TypeError, match="copy_time"):
        insert_rows(conn, "evidence", ("occurred_at",), [(aware,)])
    assert copy_time("postgresql", aware) == datetime(2026, 11, 28, 1, 0)
    assert copy_time("sqlite", aware) == "2026-11-28 01:00:00.000000"


def test_update_rows_sets_per_row_values_and_one_value_for_all(
    engine: Engine, tmp_path: Path
) -> None:
    """`same` columns take one value for every matched row (NULL included), per-row columns
    their own; rows failing `where` or matching nothing are left alone."""
    now = paris("2026-12-01T10:00")
    launched_campaign(engine, tmp_path, [mobile(i) for i in range(3)], now=now)
    with engine.connect() as conn:
        ids = sorted(conn.execute(select(outbox.c.id)).scalars())
    at = paris("2026-12-01T11:30")
    with engine.begin() as conn:
        update_rows(
            conn, "outbox", ("id",), ("state", "error_code"),
            [(ids[0], "failed", 11), (ids[1], "expired", None), (ids[2] + 99, "failed", 1)],
            where="{t}.state = 'queued'",
            same={"done_at": at, "updated_at": at, "send_by": None, "reason": "because"},
        )  # fmt: skip
        update_rows(  # no longer queued: refused by `where`
            conn, "outbox", ("id",), ("state",), [(ids[0], "cancelled")],
            where="{t}.state = 'queued'", same={"reason": "never"},
        )  # fmt: skip
    with engine.connect() as conn:
        found = conn.execute(
            select(outbox.c.id, outbox.c.state, outbox.c.error_code, outbox.c.reason,
                   outbox.c.done_at).order_by(outbox.c.id)
        ).all()  # fmt: skip
    assert [tuple(r[:4]) for r in found] == [
        (ids[0], "failed", 11, "because"),
        (ids[1], "expired", None, "because"),
        (ids[2], "queued", None, None),
    ]
    assert [r.done_at for r in found[:2]] == [at, at] and found[2].done_at is None
