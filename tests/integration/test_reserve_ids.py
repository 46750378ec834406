"""`store.bulk.reserve_ids`: fresh ids, in increasing order, never one handed out before. On
PostgreSQL a run of ids crosses the wire as its ends; ids that are not a run (another session
drew some meanwhile) come as they were drawn."""

from sqlalchemy import Engine, text

from tambour.store.bulk import reserve_ids


def test_ids_are_fresh_and_increasing(engine: Engine) -> None:
    with engine.begin() as conn:
        first = reserve_ids(conn, "evidence", 3)
        second = reserve_ids(conn, "evidence", 4)
        assert reserve_ids(conn, "evidence", 0) == []
    assert first == [1, 2, 3]
    assert second == [4, 5, 6, 7]


def test_ids_that_are_not_a_run_come_as_drawn(engine: Engine, db_backend: str) -> None:
    """A sequence that steps by 3 stands for another session drawing between two of ours."""
    with engine.begin() as conn:
        if db_backend == "postgresql":
            conn.execute(text("CREATE TEMPORARY SEQUENCE probe_id_seq INCREMENT BY 3 START 5"))
            assert reserve_ids(conn, "probe", 4) == [5, 8, 11, 14]
            assert reserve_ids(conn, "probe", 1) == [17]
        else:  # one writer at a time: the ids after the largest, never one handed out before
            conn.execute(
                text("INSERT INTO installation (name, value) VALUES ('last_id:evidence', '40')")
            )
            assert reserve_ids(conn, "evidence", 2) == [41, 42]
