"""Server-side sessions of the web app's users (issue 16 point 2).

Opening a session (after services/users.py `authenticate`) returns a random token, shown once:
the browser keeps it (a cookie), the database its SHA-256. Checking a token gives the account
with its roles, or refuses it: unknown, revoked (logout, by an operator, the account disabled,
its password changed), idle longer than `SessionPolicy.idle`, or older than
`SessionPolicy.absolute`. Both limits are the policy's: the web layer builds it from its
settings and gives the same to `open_session` and `check_session`. A check records that the
session was seen (at most once a `touch_every`, so that pages do not each write).
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select, update

from tambour.services import audit, users
from tambour.services.api_keys import UnauthenticatedError
from tambour.services.context import Context, NotFoundError
from tambour.services.users import User
from tambour.store.engine import reader
from tambour.store.tables import login_failures, sessions
from tambour.store.tables import users as user_rows

REVOKE_REASONS: Final = ("logout", "revoked", "disabled", "password_changed")


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=1)  # ends after this long without a request
    absolute: timedelta = timedelta(hours=12)  # ends this long after the login, whatever
    touch_every: timedelta = timedelta(minutes=1)  # how often a check records activity


DEFAULT_POLICY: Final = SessionPolicy()


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


@dataclass(frozen=True, slots=True)
class NewSession:
    session: Session
    token: str = field(repr=False)  # shown once: the browser's cookie; never stored or logged


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Whoever a valid token names: the account, its roles (`user.memberships`), the session."""

    user: User
    session: Session


def open_session(ctx: Context, user_id: int, policy: SessionPolicy = DEFAULT_POLICY) -> NewSession:
    """A new session of an active account (authenticated just before)."""
    token = users.new_token()
    now = ctx.now()
    with ctx.engine.begin() as conn:
        user = users.user_by_id(conn, user_id)
        if not user.active:
            raise UnauthenticatedError("this account is disabled", code="user_disabled")
        session_id = conn.execute(
            insert(sessions)
            .values(
                token_hash=users.token_digest(token),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + policy.absolute,
            )
            .returning(sessions.c.id)
        ).scalar_one()
        audit.append(
            conn,
            actor=ctx.actor,
            action="session.open",
            details={**users.named(user), "session": session_id},
            at=now,
        )
        return NewSession(_session(conn, session_id), token)


def check_session(ctx: Context, token: str, policy: SessionPolicy = DEFAULT_POLICY) -> SignedIn:
    """The account and session `token` names, if the session is live and the account active;
    UnauthenticatedError otherwise (`invalid_session`, `session_expired`, `user_disabled`)."""
    now = ctx.now()
    with reader(ctx.engine) as conn:
        row = _by_token(conn, token)
        if row is None:
            raise UnauthenticatedError("no such session: log in", code="invalid_session")
        _check_live(row, now, policy)
        user = users.user_by_id(conn, row.user_id)
    if not user.active:
        raise UnauthenticatedError("this account is disabled", code="user_disabled")
    session = _built(row)
    if now - session.last_seen_at >= policy.touch_every:
        with ctx.engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.id == session.id, sessions.c.last_seen_at < now)
                .values(last_seen_at=now)
            )
        session = replace(session, last_seen_at=now)
    return SignedIn(user, session)


def revoke_session(ctx: Context, token: str, *, reason: str = "logout") -> Session:
    """End the session `token` names (a logout); NotFoundError if there is none live."""
    if reason not in REVOKE_REASONS:
        raise ValueError(f"reason: one of {REVOKE_REASONS}")
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = _by_token(conn, token)
        if row is None or row.revoked_at is not None:
            raise NotFoundError("no live session has this token", code="session_not_found")
        conn.execute(
            update(sessions)
            .where(sessions.c.id == row.id)
            .values(revoked_at=now, revoked_reason=reason)
        )
        user = users.user_by_id(conn, row.user_id)
        audit.append(
            conn,
            actor=ctx.actor,
            action="session.revoke",
            details={**users.named(user), "session": row.id, "reason": reason},
            at=now,
        )
        return _session(conn, row.id)


def revoke_all(ctx: Context, email: str, *, keep: str | None = None) -> int:
    """End every live session of the account `email` but the one of token `keep` (the page
    asking, which stays signed in); how many there were."""
    now = ctx.now()
    kept = None if keep is None else users.token_digest(keep)
    with ctx.engine.begin() as conn:
        user = users.user_by_id(conn, _user_id(conn, email))
        count = users.revoke_sessions(conn, user.id, "revoked", now, keep=kept)
        audit.append(
            conn,
            actor=ctx.actor,
            action="session.revoke_all",
            details={**users.named(user), "sessions_revoked": count},
            at=now,
        )
        return count


def live_sessions(
    ctx: Context, email: str, policy: SessionPolicy = DEFAULT_POLICY
) -> list[Session]:
    """The account's sessions still live, newest first."""
    now = ctx.now()
    with reader(ctx.engine) as conn:
        rows = conn.execute(
            select(sessions)
            .where(
                sessions.c.user_id == _user_id(conn, email),
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.id.desc())
        ).all()
    return [_built(row) for row in rows if _live(row, now, policy)]


@dataclass(frozen=True, slots=True)
class Purged:
    sessions: int  # ended sessions deleted
    login_failures: int  # failed logins forgotten


ENDED_KEPT: Final = timedelta(days=30)  # an ended session stays listed this long


def purge(
    ctx: Context,
    *,
    ended_kept: timedelta = ENDED_KEPT,
    failures_kept: timedelta = users.DEFAULT_THROTTLE.memory,
) -> Purged:
    """Delete the sessions that ended (logged out, revoked, expired) more than `ended_kept`
    ago, and the failed logins older than the throttle remembers: neither is needed any more
    (the audit log keeps who logged in and out). Audited with its counts."""
    now = ctx.now()
    ended_before = now - ended_kept
    with ctx.engine.begin() as conn:
        gone = conn.execute(
            delete(sessions).where(
                (sessions.c.revoked_at < ended_before) | (sessions.c.expires_at < ended_before)
            )
        ).rowcount
        forgotten = conn.execute(
            delete(login_failures).where(login_failures.c.at < now - failures_kept)
        ).rowcount
        done = Purged(int(gone), int(forgotten))
        audit.append(
            conn,
            actor=ctx.actor,
            action="session.purge",
            details={"sessions": done.sessions, "login_failures": done.login_failures},
            at=now,
        )
        return done


def _user_id(conn: Connection, email: str) -> int:
    found: int | None = conn.execute(
        select(user_rows.c.id).where(user_rows.c.email == email.strip().casefold())
    ).scalar()
    if found is None:
        raise NotFoundError("no account has this address", code="user_not_found", field="email")
    return found


def _by_token(conn: Connection, token: str) -> Any:
    """The session row of `token`; None if there is none."""
    if not 0 < len(token) <= users.MAX_TOKEN:
        return None
    return conn.execute(
        select(sessions).where(sessions.c.token_hash == users.token_digest(token))
    ).first()


def _live(row: Any, now: datetime, policy: SessionPolicy) -> bool:
    return (
        row.revoked_at is None
        and now < min(row.expires_at, row.created_at + policy.absolute)
        and now < row.last_seen_at + policy.idle
    )


def _check_live(row: Any, now: datetime, policy: SessionPolicy) -> None:
    if row.revoked_at is not None:
        raise UnauthenticatedError("this session has ended: log in", code="invalid_session")
    if not _live(row, now, policy):
        raise UnauthenticatedError("this session has expired: log in", code="session_expired")


def _session(conn: Connection, session_id: int) -> Session:
    return _built(conn.execute(select(sessions).where(sessions.c.id == session_id)).one())


def _built(row: Any) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )
