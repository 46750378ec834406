"""The workers alive, as each says at its heartbeat, and what that tells the others: how many
share an account's `account_tps` (a carrier's limit for the whole account, whatever the number
of workers and binds sending through it). Statements in the caller's transaction."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from tambour.store.bulk import adapt_datetime, driver_cursor, mark


def seen(
    conn: Connection, name: str, carriers: Iterable[str], now: datetime, started_at: datetime
) -> None:
    """`name` is alive now, sending through `carriers`."""
    q = mark(conn)
    at = adapt_datetime(conn, now)
    listed = " ".join(sorted(carriers))
    cursor = driver_cursor(conn)
    cursor.execute(
        f"UPDATE workers SET seen_at = {q}, carriers = {q} WHERE name = {q}", [at, listed, name]
    )
    if not cursor.rowcount:
        cursor.execute(
            "INSERT INTO workers (name, carriers, started_at, seen_at)"
            f" VALUES ({q}, {q}, {q}, {q})",
            [name, listed, adapt_datetime(conn, started_at), at],
        )


def gone(conn: Connection, name: str) -> None:
    """`name` stops: the others share what it had at once."""
    driver_cursor(conn).execute(f"DELETE FROM workers WHERE name = {mark(conn)}", [name])


def sharing(
    conn: Connection, carriers: Sequence[str], now: datetime, alive_within: timedelta
) -> Mapping[str, int]:
    """How many workers seen within `alive_within` send through each of `carriers` (at least
    one: the caller counts itself). Workers not seen for three times that are forgotten."""
    q = mark(conn)
    cursor = driver_cursor(conn)
    cursor.execute(
        f"DELETE FROM workers WHERE seen_at < {q}", [adapt_datetime(conn, now - 3 * alive_within)]
    )
    cursor.execute(
        f"SELECT carriers FROM workers WHERE seen_at >= {q}",
        [adapt_datetime(conn, now - alive_within)],
    )
    counts = dict.fromkeys(carriers, 0)
    for (listed,) in cursor.fetchall():
        for carrier in listed.split(" "):
            if carrier in counts:
                counts[carrier] += 1
    return {carrier: max(1, n) for carrier, n in counts.items()}
