"""The audit log on SQLite and PostgreSQL: the chain, what verify() catches, the append-only
triggers, concurrent appenders, no phone numbers in clear, and streaming verification."""

import hashlib
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, delete, select, text, update
from sqlalchemy.exc import IntegrityError

from tambour.services import audit
from tambour.services.audit import GENESIS_HASH, AuditEntry
from tambour.store import schema
from tambour.store.tables import audit_log

T0 = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
EDITED = "was edited (its hash does not match its content)"


def fill(engine: Engine, n: int, *, start: int = 0) -> list[AuditEntry]:
    """n entries, each appended in its own transaction, with varied fields."""
    made = []
    for i in range(start, start + n):
        with engine.begin() as conn:
            made.append(
                audit.append(
                    conn,
                    actor=f"operator:{i % 3}",
                    action="contacts.import" if i % 2 else "campaign.launch",
                    details={"file": f"import-{i}.csv", "rows": i * 10, "note": "réimport"},
                    at=T0 + timedelta(seconds=i, microseconds=i),
                    advertiser_id=None if i % 4 == 0 else 1 + i % 2,
                )
            )
    return made


def check(engine: Engine, **anchor: Any) -> audit.VerifyResult:
    with engine.begin() as conn:
        return audit.verify(conn, **anchor)


@contextmanager
def as_attacker(engine: Engine) -> Iterator[Connection]:
    """A transaction with the append-only triggers out of the way, as someone with direct
    access to the database would do it; they are back afterwards."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            yield conn
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            triggers = conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_log'"
                )
            ).all()
            assert triggers, "the append-only triggers are missing"
            for name, _ in triggers:
                conn.execute(text(f"DROP TRIGGER {name}"))
            yield conn
            for _, sql in triggers:
                conn.exec_driver_sql(sql)


def row(conn: Connection, seq: int) -> dict[str, Any]:
    return dict(conn.execute(select(audit_log).where(audit_log.c.seq == seq)).one()._mapping)


# -- the chain -------------------------------------------------------------------------------


def test_empty_log_verifies(engine: Engine) -> None:
    with engine.begin() as conn:
        assert audit.head(conn) == (0, GENESIS_HASH)
        assert audit.entries(conn) == []
    assert check(engine) == audit.VerifyResult(True, 0, GENESIS_HASH, None, None)
    assert check(engine, expect_count=0, expect_head=GENESIS_HASH).ok


def test_append_chains_entries_and_verifies(engine: Engine) -> None:
    made = fill(engine, 6)

    assert [entry.seq for entry in made] == [1, 2, 3, 4, 5, 6]
    assert made[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(made):
        assert after.prev_hash == before.hash
    for entry in made:
        details_json = audit.canonical_json(entry.details)
        assert entry.hash == audit.entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.advertiser_id,
            details_json,
            entry.prev_hash,
        )
    result = check(engine)
    assert result == audit.VerifyResult(True, 6, made[-1].hash, None, None)
    with engine.begin() as conn:
        assert audit.head(conn) == (6, made[-1].hash)
        # Read back exactly as written (microseconds, UTC, accents, None advertiser).
        assert audit.entries(conn, limit=100) == made[::-1]
        assert [e.seq for e in audit.entries(conn, limit=2)] == [6, 5]
        assert [e.seq for e in audit.entries(conn, advertiser_id=2)] == [6, 4, 2]
        assert audit.entries(conn, advertiser_id=99) == []
        stored = row(conn, 1)
    assert stored["details"] == '{"file":"import-0.csv","note":"réimport","rows":0}'


def test_append_converts_times_to_utc(engine: Engine) -> None:
    paris = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    with engine.begin() as conn:
        entry = audit.append(conn, actor="cli", action="db.upgrade", details={}, at=paris)
    assert entry.at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert entry.at.tzinfo is UTC
    assert check(engine).ok


def test_entry_hash_encoding_is_pinned_and_unambiguous() -> None:
    """Changing the encoding would invalidate every log already written: it is pinned here."""
    args = (1, T0, "operator:a", "campaign.launch", None, '{"rows":3}', GENESIS_HASH)
    encoded = (
        '["tambour-audit/1",1,"2026-12-01T09:00:00.123456+00:00","operator:a",'
        '"campaign.launch",null,"{\\"rows\\":3}","' + GENESIS_HASH + '"]'
    )
    assert audit.entry_hash(*args) == hashlib.sha256(encoded.encode("ascii")).hexdigest()
    assert audit.entry_hash(*args) == (
        "bc1f63d02544121a8b019d6530eedb256d426102a74f66541b6b26ca9ebaf14a"
    )
    # Moving characters from one field to the next gives another hash.
    shifted = (1, T0, "operator:", "acampaign.launch", None, '{"rows":3}', GENESIS_HASH)
    assert audit.entry_hash(*shifted) != audit.entry_hash(*args)
    # The same instant in another zone is the same entry.
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    assert audit.entry_hash(1, paris, *args[2:]) == audit.entry_hash(*args)
    with pytest.raises(ValueError, match="timezone-aware"):
        audit.entry_hash(1, T0.replace(tzinfo=None), *args[2:])


def test_bad_arguments_are_refused_and_nothing_is_written(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="timezone-aware"):
            audit.append(conn, actor="a", action="b", details={}, at=T0.replace(tzinfo=None))
        with pytest.raises(ValueError, match="actor"):
            audit.append(conn, actor="x" * 101, action="b", details={}, at=T0)
        with pytest.raises(ValueError, match="action"):
            audit.append(conn, actor="a", action="", details={}, at=T0)
        with pytest.raises(TypeError):
            audit.append(conn, actor="a", action="b", details={"when": T0}, at=T0)
        assert audit.head(conn) == (0, GENESIS_HASH)


# SQLite connections from make_engine always open BEGIN IMMEDIATE: PostgreSQL only.
@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_append_refuses_an_autocommit_connection_on_postgresql(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        with pytest.raises(RuntimeError, match="AUTOCOMMIT"):
            audit.append(conn, actor="a", action="b", details={}, at=T0)
        assert audit.head(conn) == (0, GENESIS_HASH)


# -- tampering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("details", lambda v: v.replace('"rows":20', '"rows":21')),
        ("actor", lambda v: "operator:mallory"),
        ("at", lambda v: v + timedelta(microseconds=1)),
        ("action", lambda v: "contacts.export"),
        ("advertiser_id", lambda v: 7),
    ],
)
def test_an_edited_entry_is_named(engine: Engine, column: str, change: Any) -> None:
    made = fill(engine, 6)
    with as_attacker(engine) as conn:
        before = row(conn, 3)[column]
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values({column: change(before)}))

    result = check(engine)
    assert not result.ok
    assert result.first_bad == 3
    assert result.problem == f"entry 3 {EDITED}"
    assert (result.count, result.head) == (6, made[-1].hash)  # still read to the end


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(engine: Engine) -> None:
    fill(engine, 6)
    with as_attacker(engine) as conn:
        old = row(conn, 3)
        details = old["details"].replace('"rows":20', '"rows":0')
        forged = audit.entry_hash(
            3,
            old["at"],
            old["actor"],
            old["action"],
            old["advertiser_id"],
            details,
            old["prev_hash"],
        )
        conn.execute(
            update(audit_log).where(audit_log.c.seq == 3).values(details=details, hash=forged)
        )

    result = check(engine)
    assert (result.ok, result.first_bad) == (False, 4)
    assert result.problem == "entry 4 does not follow entry 3 (prev_hash mismatch)"


def test_a_removed_middle_entry_is_named(engine: Engine) -> None:
    fill(engine, 8)
    with as_attacker(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 5))

    result = check(engine)
    assert (result.ok, result.first_bad, result.count) == (False, 5, 7)
    assert result.problem == "entry 5 is missing (seq jumps from 4 to 6)"


def test_removed_first_entries_are_named(engine: Engine) -> None:
    fill(engine, 5)
    with as_attacker(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq <= 2))

    result = check(engine)
    assert (result.ok, result.first_bad) == (False, 1)
    assert result.problem == "entries 1 to 2 are missing (the log starts at 3)"


def test_a_removal_hidden_by_renumbering_is_detected(engine: Engine) -> None:
    fill(engine, 8)
    with as_attacker(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 5))
        for seq in (6, 7, 8):  # in increasing order, so the primary key never collides
            conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(seq=seq - 1))

    result = check(engine)
    assert (result.ok, result.first_bad) == (False, 5)
    assert result.problem == f"entry 5 {EDITED}"


def test_two_swapped_entries_are_detected(engine: Engine) -> None:
    fill(engine, 6)
    with as_attacker(engine) as conn:
        third, fourth = row(conn, 3), row(conn, 4)
        for seq, content in ((3, fourth), (4, third)):
            values = {key: value for key, value in content.items() if key != "seq"}
            conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(values))

    result = check(engine)
    assert (result.ok, result.first_bad) == (False, 3)
    assert result.problem == f"entry 3 {EDITED}"


def test_a_removed_tail_is_detected_by_the_anchor_only(engine: Engine) -> None:
    fill(engine, 10)
    with engine.begin() as conn:
        anchor = audit.head(conn)
    with as_attacker(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 8))

    assert check(engine).ok  # a shorter chain is still a valid chain
    result = check(engine, expect_count=anchor[0], expect_head=anchor[1])
    assert (result.ok, result.count, result.first_bad) == (False, 8, 9)
    assert result.problem == "the log has 8 entries, the anchor says 10"
    assert check(engine, expect_count=10).problem == "the log has 8 entries, the anchor says 10"
    assert not check(engine, expect_head=anchor[1]).ok


def test_the_anchor_stays_valid_while_the_log_grows(engine: Engine) -> None:
    fill(engine, 4)
    with engine.begin() as conn:
        count, last = audit.head(conn)
    fill(engine, 3, start=4)

    assert check(engine, expect_count=count, expect_head=last).ok
    assert check(engine, expect_head=last).ok
    assert check(engine, expect_count=count).ok


def test_a_cut_and_regrown_tail_is_detected_by_the_anchor(engine: Engine) -> None:
    fill(engine, 10)
    with engine.begin() as conn:
        count, last = audit.head(conn)
    with as_attacker(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 8))
    fill(engine, 4, start=100)  # appended again past the cut: the chain itself is valid

    assert check(engine).ok
    result = check(engine, expect_count=count, expect_head=last)
    assert (result.ok, result.first_bad) == (False, 10)
    assert result.problem == "entry 10 does not match the anchor (the log was rewritten up to it)"


def test_a_chain_rewritten_with_recomputed_hashes_is_detected_by_the_anchor(
    engine: Engine,
) -> None:
    fill(engine, 5)
    with engine.begin() as conn:
        count, last = audit.head(conn)
    with as_attacker(engine) as conn:
        prev = GENESIS_HASH
        for seq in range(1, 6):
            old = row(conn, seq)
            actor = "operator:mallory" if seq == 2 else old["actor"]
            digest = audit.entry_hash(
                seq, old["at"], actor, old["action"], old["advertiser_id"], old["details"], prev
            )
            conn.execute(
                update(audit_log)
                .where(audit_log.c.seq == seq)
                .values(actor=actor, prev_hash=prev, hash=digest)
            )
            prev = digest

    assert check(engine).ok
    result = check(engine, expect_count=count, expect_head=last)
    assert (result.ok, result.first_bad) == (False, 5)
    head_only = check(engine, expect_head=last)
    assert head_only.problem == "no entry has the anchor's hash (the log was rewritten or cut)"


# -- the append-only triggers ----------------------------------------------------------------


def test_the_database_refuses_update_and_delete(engine: Engine) -> None:
    fill(engine, 3)
    with engine.begin() as conn:
        before = row(conn, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
        "UPDATE audit_log SET hash = hash",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(IntegrityError, match="audit_log is append-only"), engine.begin() as c:
            c.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(IntegrityError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))

    with engine.begin() as conn:
        assert row(conn, 2) == before
        assert audit.head(conn)[0] == 3
    assert check(engine).ok


def test_the_migration_downgrade_removes_the_triggers(engine: Engine) -> None:
    fill(engine, 2)
    config = schema.alembic_config(engine)
    command.downgrade(config, "0001")
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    finally:
        command.upgrade(config, "head")
    assert check(engine).problem == f"entry 1 {EDITED}"
    with pytest.raises(IntegrityError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


# -- concurrency -----------------------------------------------------------------------------


def test_concurrent_appenders_make_one_gapless_chain(engine: Engine) -> None:
    per_thread = 200
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def appender(name: str) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with engine.begin() as conn:  # one transaction per append
                    audit.append(
                        conn,
                        actor=name,
                        action="message.send",
                        details={"n": i},
                        at=T0 + timedelta(microseconds=i),
                    )
                time.sleep(0.0002)  # outside the transaction: lets the other thread in
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=appender, args=(f"worker-{k}",)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    result = check(engine)
    assert (result.ok, result.count) == (True, 2 * per_thread), result.problem
    with engine.begin() as conn:
        actors = conn.execute(select(audit_log.c.actor).order_by(audit_log.c.seq)).scalars().all()
    assert sorted(actors) == ["worker-0"] * per_thread + ["worker-1"] * per_thread


# -- no phone numbers in clear ---------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"to": "0612345678"},
        {"to": "06 12 34 56 78"},
        {"to": "06.12.34.56.78"},
        {"to": "06-12-34-56-78"},
        {"to": "+33 6 12 34 56 78"},
        {"to": "+33612345678"},
        {"to": "+33 (0)6 12 34 56 78"},
        {"to": " 0033\u00a0612345678 "},
        {"to": "+687 75 12 11"},
        {"note": "rappel du 06 12 34 56 78 demain"},
        {"batch": {"recipients": ["hash:ab12", "0612345678"]}},
        {"pairs": [("ok", "+44 7911 123456")]},
        {"0612345678": "key holds the number"},
    ],
)
def test_a_phone_number_in_details_is_refused(engine: Engine, details: dict[str, Any]) -> None:
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="phone number"):
            audit.append(conn, actor="api", action="optout.record", details=details, at=T0)
        assert audit.head(conn) == (0, GENESIS_HASH)


def test_counts_file_names_and_hashes_are_accepted(engine: Engine) -> None:
    details = {
        "file": "contacts-2026-12.csv",
        "rows": 1234567890,  # numbers are counts, not phone numbers
        "sha256": "a3f1" * 16,
        "short": "1234567",  # 7 digits
        "digits": "12345678",  # not a number anywhere
        "day": "2026-12-01",
        "hash": "h:0612345678abcdef",  # digits inside a hash
        "ref": "INV-12345678",
        "at": "2026-12-01T09:00:00+00:00",
    }
    with engine.begin() as conn:
        entry = audit.append(conn, actor="api", action="contacts.import", details=details, at=T0)
    assert entry.details == details


# -- streaming -------------------------------------------------------------------------------


def test_verify_streams_a_large_log(engine: Engine) -> None:
    """20,000 entries, written in bulk (the chain computed here), verified with a peak of well
    under 1 MB of Python memory where holding every row at once takes some 18 MB."""
    check(engine)  # warm-up: compiled statements and dialect caches are not what is measured
    n = 20_000
    pad = "x" * 200  # makes each row heavy enough that holding them all would show
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        at = T0 + timedelta(milliseconds=seq)
        details = audit.canonical_json({"rows": seq, "pad": pad})
        digest = audit.entry_hash(seq, at, "bench", "message.send", 1, details, prev)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": "bench",
                "action": "message.send",
                "advertiser_id": 1,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    with engine.begin() as conn:
        conn.execute(audit_log.insert(), rows)
    del rows

    tracemalloc.start()
    try:
        result = check(engine)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result == audit.VerifyResult(True, n, prev, None, None)
    assert peak < 3_000_000, f"verify held {peak} bytes at its peak: is it still streaming?"
