"""Ended sessions and old failed logins are deleted by `sessions.purge` (and `tambour user
purge`), the live ones kept, the purge audited."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, func, select

from tambour.services import passwords, sessions, users
from tambour.services.api_keys import UnauthenticatedError
from tambour.services.context import Context
from tambour.services.roles import Role
from tambour.store.tables import audit_log, login_failures
from tambour.store.tables import sessions as session_rows

PASSWORD = "un secret bien long pour les tests"


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(passwords, "HASHER", quick)
    monkeypatch.setattr(passwords, "_DUMMY", [])


def test_purge_deletes_what_ended_long_ago_and_keeps_the_rest(engine: Engine) -> None:
    now = [datetime(2027, 3, 1, 9, 0, tzinfo=UTC)]
    ctx = Context(engine=engine, actor="test:purge", clock=lambda: now[0])
    user = users.create_user(ctx, email="ops@tambour.fr", password=PASSWORD, role=Role.OPERATOR)

    def at(days_ago: float) -> None:
        now[0] = datetime(2027, 3, 1, 9, 0, tzinfo=UTC) - timedelta(days=days_ago)

    at(40)
    logged_out = sessions.open_session(ctx, user.id)
    sessions.revoke_session(ctx, logged_out.token)  # ended 40 days ago: goes
    at(35)
    sessions.open_session(ctx, user.id)  # expired 35 days ago (12 h after): goes
    at(10)
    recent_logout = sessions.open_session(ctx, user.id)
    sessions.revoke_session(ctx, recent_logout.token)  # ended 10 days ago: kept
    at(3)
    for _ in range(2):  # failures 3 days ago: forgotten
        with pytest.raises(UnauthenticatedError):
            users.authenticate(ctx, email="ops@tambour.fr", password="faux mot de passe!")
    at(0.01)
    with pytest.raises(UnauthenticatedError):  # a recent failure (another address): kept
        users.authenticate(ctx, email="personne@tambour.fr", password="faux mot de passe!")
    at(0)
    live = sessions.open_session(ctx, user.id)

    done = sessions.purge(ctx)

    assert done == sessions.Purged(sessions=2, login_failures=2)
    with engine.connect() as conn:
        kept = set(conn.execute(select(session_rows.c.id)).scalars())
        assert kept == {recent_logout.session.id, live.session.id}
        assert conn.execute(select(func.count()).select_from(login_failures)).scalar() == 1
        last = conn.execute(
            select(audit_log.c.action, audit_log.c.details).order_by(audit_log.c.seq.desc())
        ).first()
    assert last is not None and last.action == "session.purge"
    assert json.loads(last.details) == {"sessions": 2, "login_failures": 2}
    assert sessions.check_session(ctx, live.token).user.id == user.id  # still signed in
    assert sessions.purge(ctx) == sessions.Purged(0, 0)  # nothing more


def test_tambour_user_purge(db_url: str) -> None:
    from tests.integration.cli import Cli

    cli = Cli(db_url)
    cli("user", "create", "ops@tambour.fr", "--role", "operator", "--password-stdin",
        stdin=PASSWORD + "\n")  # fmt: skip
    assert cli("user", "purge", "--json").json() == {"sessions": 0, "login_failures": 0}
    assert "0 ended session(s)" in cli("user", "purge").out
    assert cli("user", "purge", "--days", "0", ok=False).code == 2  # at least a day
