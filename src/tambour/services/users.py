"""The people of the web app (issue 16 point 2): accounts, their roles, invitations, logins with
throttling and an optional second factor. Sessions are services/sessions.py; who may do what,
services/roles.py.

- An account is an e-mail address, case-folded (one account per address whatever its case),
  with a password kept as an Argon2id hash (services/passwords.py) and memberships: a role at
  an advertiser, or the operator's. `create_user` makes the first operator (and any account
  the command line is asked for); everyone else comes by invitation: a link whose token is
  shown once (the database keeps its SHA-256), valid a week unless told, used once.
- `authenticate` checks an address and a password, then the TOTP code of an account that has
  enrolled one (operators and admins may). Failed attempts are counted per address and per
  client address: past `ThrottlePolicy.per_email` (or `per_client`) failures, a wait that
  doubles with each further failure is imposed, refused with the code `too_many_attempts` and
  the seconds to wait, before any password is checked. An unknown address costs as long as a
  wrong password and is refused in the same words.
- Disabling an account revokes its sessions; changing a password revokes the others.

Every change is in the audit log, naming the account by its id and its address (a phone number
in an address is masked there). No password, token or TOTP secret is ever logged, audited or
kept in clear.
"""

import hashlib
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Connection, delete, func, insert, select, update

from tambour.keys import Keys
from tambour.rules.template import control_character
from tambour.services import audit, passwords
from tambour.services.api_keys import UnauthenticatedError
from tambour.services.context import (
    ConflictError,
    Context,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)
from tambour.services.roles import ADVERTISER_ROLES, Role
from tambour.store.engine import reader
from tambour.store.tables import (
    advertisers,
    invitations,
    login_failures,
    memberships,
    sessions,
    users,
)

MAX_EMAIL: Final = 254  # the column's size (RFC 5321's limit on a path)
MAX_CLIENT: Final = 64
INVITATION_LIFETIME: Final = timedelta(days=7)
MAX_TOKEN: Final = 100  # a longer token is no token of ours (ours have 43 characters)
TOTP_PURPOSE: Final = "totp-secret"
TOTP_ROLES: Final = frozenset({Role.OPERATOR, Role.ADMIN})  # who may enrol a second factor
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


class UserState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Membership:
    role: Role
    advertiser_id: int | None  # None: the operator's
    advertiser: str | None  # the advertiser's slug


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    state: UserState
    memberships: tuple[Membership, ...]
    totp_enrolled: bool  # a second factor is asked at each login
    created_at: datetime
    created_by: str
    last_login_at: datetime | None
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state is UserState.ACTIVE

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "state": self.state.value,
            "memberships": [
                {"role": m.role.value, "advertiser": m.advertiser} for m in self.memberships
            ],
            "totp": self.totp_enrolled,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "last_login_at": _iso(self.last_login_at),
            "disabled_at": _iso(self.disabled_at),
        }


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    email: str
    role: Role
    advertiser_id: int | None
    advertiser: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime
    accepted_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewInvitation:
    invitation: Invitation
    token: str = field(repr=False)  # shown once: never stored, never logged

    @property
    def path(self) -> str:
        """The link's path on the web app, to send to the invited person."""
        return f"/invitations/{self.token}"


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """A second factor to confirm with a code: its secret, typed or read from a QR code."""

    secret: str = field(repr=False)  # base 32
    uri: str = field(repr=False)  # otpauth://totp/...


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failed logins are let through before a wait, and how long it grows."""

    per_email: int = 5  # failures for one address (whoever tries it)
    per_client: int = 20  # failures from one client address (an office may share one)
    first_wait: timedelta = timedelta(seconds=30)  # after the limit; doubled at each failure
    max_wait: timedelta = timedelta(minutes=15)
    memory: timedelta = timedelta(hours=24)  # older failures are forgotten


DEFAULT_THROTTLE: Final = ThrottlePolicy()


class ThrottledError(ServiceError):
    """Too many failed logins: try again after `retry_after` seconds (HTTP 429)."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed attempts: try again in {retry_after} seconds",
            code="too_many_attempts",
        )
        self.retry_after = retry_after


# --- accounts ----------------------------------------------------------------------------------


def create_user(
    ctx: Context, *, email: str, password: str, role: Role, advertiser: str | None = None
) -> User:
    """A new active account with `role` (at `advertiser`, by its slug; none for an operator)
    and `password`: the first operator of an installation, or anyone made by hand."""
    folded = normalize_email(email)
    _check_role(role, advertiser)
    passwords.check_password(password, email=folded)
    hashed = passwords.hash_password(password)  # before the transaction: it takes a while
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser_id = None if advertiser is None else _advertiser_id(conn, advertiser)
        if _user_row(conn, folded) is not None:
            raise ConflictError(
                "an account has this address already", code="email_taken", field="email"
            )
        user_id = _insert_user(conn, ctx, folded, hashed, now)
        _add_membership(conn, ctx, user_id, role, advertiser_id, now)
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.create",
            advertiser_id=advertiser_id,
            details={**_named(user_id, folded), "role": role.value},
            at=now,
        )
        return _user(conn, user_id)


def list_users(ctx: Context, *, advertiser: str | None = None) -> list[User]:
    """Every account, oldest first; with `advertiser`, those with a role there."""
    with reader(ctx.engine) as conn:
        query = select(users.c.id).order_by(users.c.id)
        if advertiser is not None:
            members = select(memberships.c.user_id).where(
                memberships.c.advertiser_id == _advertiser_id(conn, advertiser)
            )
            query = query.where(users.c.id.in_(members))
        return [_user(conn, user_id) for user_id in conn.execute(query).scalars().all()]


def list_operators(ctx: Context) -> list[User]:
    """The platform's operators (accounts with the operator's role), oldest first."""
    with reader(ctx.engine) as conn:
        held = select(memberships.c.user_id).where(
            memberships.c.role == Role.OPERATOR.value, memberships.c.advertiser_id.is_(None)
        )
        query = select(users.c.id).where(users.c.id.in_(held)).order_by(users.c.id)
        return [_user(conn, user_id) for user_id in conn.execute(query).scalars().all()]


def get_user(ctx: Context, email: str) -> User:
    """The account of `email` (any case); NotFoundError when there is none."""
    with reader(ctx.engine) as conn:
        return _user(conn, _existing(conn, email).id)


def user_by_id(conn: Connection, user_id: int) -> User:
    return _user(conn, user_id)


def disable_user(
    ctx: Context, email: str, *, advertiser: str | None = None, acting: str | None = None
) -> User:
    """Disable an account: it can no longer log in, and its sessions are revoked. With
    `advertiser` (an advertiser's admin acting, by its slug): only an account that holds roles
    at that advertiser and nowhere else, never `acting`'s own (the address of who asks); the
    audit entry is then the advertiser's."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = _existing(conn, email)
        advertiser_id = _only_at(conn, row, advertiser, acting)
        if row.state == UserState.DISABLED:
            return _user(conn, row.id)
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(state=UserState.DISABLED.value, disabled_at=now)
        )
        revoked = revoke_sessions(conn, row.id, "disabled", now)
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.disable",
            advertiser_id=advertiser_id,
            details={**_named(row.id, row.email), "sessions_revoked": revoked},
            at=now,
        )
        return _user(conn, row.id)


def enable_user(
    ctx: Context, email: str, *, advertiser: str | None = None, acting: str | None = None
) -> User:
    """Let a disabled account log in again (its old sessions stay revoked). `advertiser` and
    `acting` as for `disable_user`."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = _existing(conn, email)
        advertiser_id = _only_at(conn, row, advertiser, acting)
        if row.state == UserState.ACTIVE:
            return _user(conn, row.id)
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(state=UserState.ACTIVE.value, disabled_at=None)
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.enable",
            advertiser_id=advertiser_id,
            details=_named(row.id, row.email),
            at=now,
        )
        return _user(conn, row.id)


def _only_at(conn: Connection, row: Any, advertiser: str | None, acting: str | None) -> int | None:
    """The id of `advertiser` when the account `row` holds roles there and nowhere else, for
    its admin to disable or enable it (None without an advertiser: the operator's command
    line). NotFoundError for an account of another advertiser (as if there were none);
    ConflictError for one that also works elsewhere (an operator decides) or for `acting`'s
    own account."""
    if advertiser is None:
        return None
    advertiser_id = _advertiser_id(conn, advertiser)
    held = (
        conn.execute(select(memberships.c.advertiser_id).where(memberships.c.user_id == row.id))
        .scalars()
        .all()
    )
    if advertiser_id not in held:
        raise NotFoundError("no account has this address", code="user_not_found", field="email")
    if any(other != advertiser_id for other in held):
        raise ConflictError(
            "this account also works for another advertiser or for the platform: an operator "
            "disables or enables it",
            code="user_shared",
            field="email",
        )
    if acting is not None and acting.strip().casefold() == row.email:
        raise ConflictError("an account cannot disable itself", code="own_account", field="email")
    return advertiser_id


def change_role(
    ctx: Context, *, email: str, advertiser: str, role: Role, acting: str | None = None
) -> User:
    """Give the account `email` the role `role` (admin, marketer or viewer) at `advertiser`
    (its slug), in place of the one it holds there; `acting` is the address of who asks (an
    admin of the advertiser: never its own role), None for the operator. Refused: a role that
    is not an advertiser's (`invalid_role`), an account with no role there (NotFound, as one
    of another advertiser), one's own role (`own_role`), and leaving the advertiser with no
    enabled admin (`last_admin`). The account's open sessions keep working: each request
    reads its roles afresh, so the next one sees the new role. Same role: nothing changes."""
    if role not in ADVERTISER_ROLES:
        raise InvalidInputError(
            "role", "invalid_role", "the role at an advertiser is admin, marketer or viewer"
        )
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = _existing(conn, email)
        advertiser_id = _advertiser_id(conn, advertiser)
        # The advertiser's row locked: its changes of role are made one at a time (two admins
        # demoting each other at once cannot both succeed, nor wait on each other).
        conn.execute(
            select(advertisers.c.id).where(advertisers.c.id == advertiser_id).with_for_update()
        )
        held = conn.execute(
            select(memberships.c.id, memberships.c.role)
            .where(memberships.c.user_id == row.id, memberships.c.advertiser_id == advertiser_id)
            .order_by(memberships.c.id)
        ).all()
        if not held:
            raise NotFoundError("no account has this address", code="user_not_found", field="email")
        if acting is not None and acting.strip().casefold() == row.email:
            raise ConflictError(
                "an account cannot change its own role", code="own_role", field="email"
            )
        before = sorted({Role(h.role) for h in held})
        if before == [role]:
            return _user(conn, row.id)
        if Role.ADMIN in before and role is not Role.ADMIN and row.state == UserState.ACTIVE:
            _keep_an_admin(conn, advertiser_id, row.id)
        first, *others = held
        conn.execute(
            update(memberships).where(memberships.c.id == first.id).values(role=role.value)
        )
        if others:
            conn.execute(delete(memberships).where(memberships.c.id.in_([h.id for h in others])))
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.role_change",
            advertiser_id=advertiser_id,
            details={
                **_named(row.id, row.email),
                "from": [r.value for r in before],
                "role": role.value,
            },
            at=now,
        )
        return _user(conn, row.id)


def _keep_an_admin(conn: Connection, advertiser_id: int, leaving: int) -> None:
    """ConflictError `last_admin` unless the advertiser keeps an enabled admin other than the
    account `leaving`."""
    other = conn.execute(
        select(memberships.c.id)
        .select_from(memberships.join(users, users.c.id == memberships.c.user_id))
        .where(
            memberships.c.advertiser_id == advertiser_id,
            memberships.c.role == Role.ADMIN.value,
            memberships.c.user_id != leaving,
            users.c.state == UserState.ACTIVE.value,
        )
        .limit(1)
    ).first()
    if other is None:
        raise ConflictError(
            "the advertiser would have no enabled admin left: give the role of admin to "
            "another account first",
            code="last_admin",
            field="role",
        )


def change_password(
    ctx: Context, *, email: str, current: str, new: str, keep_session: str | None = None
) -> User:
    """Change an account's password, given its current one; every session of the account but
    `keep_session` (the token of the one asking, if any) is revoked."""
    folded = normalize_email(email)
    with reader(ctx.engine) as conn:
        row = _existing(conn, folded)
    if not passwords.verify_password(current, row.password_hash):
        raise InvalidInputError("current", "wrong_password", "the current password is not this")
    passwords.check_password(new, email=folded, field="new")
    hashed = passwords.hash_password(new)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(password_hash=hashed, password_changed_at=now)
        )
        kept = None if keep_session is None else token_digest(keep_session)
        revoked = revoke_sessions(conn, row.id, "password_changed", now, keep=kept)
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.password_change",
            details={**_named(row.id, row.email), "sessions_revoked": revoked},
            at=now,
        )
        return _user(conn, row.id)


# --- invitations -------------------------------------------------------------------------------


def invite(
    ctx: Context,
    *,
    email: str,
    role: Role,
    advertiser: str | None = None,
    valid_for: timedelta = INVITATION_LIFETIME,
) -> NewInvitation:
    """An invitation to join with `role` (at `advertiser`; none for an operator), valid for
    `valid_for`: its token is returned this once. An address with an account already is
    invited too (a role at another advertiser): accepting then takes its password."""
    folded = normalize_email(email)
    _check_role(role, advertiser)
    if not timedelta(minutes=5) <= valid_for <= timedelta(days=30):
        raise InvalidInputError(
            "valid_for", "invalid_validity", "an invitation is valid from 5 minutes to 30 days"
        )
    token = new_token()
    now = ctx.now()
    with ctx.engine.begin() as conn:
        advertiser_id = None if advertiser is None else _advertiser_id(conn, advertiser)
        existing = _user_row(conn, folded)
        if existing is not None and _has_membership(conn, existing.id, role, advertiser_id):
            raise ConflictError(
                "this account has this role already", code="role_held", field="email"
            )
        row_id = conn.execute(
            insert(invitations)
            .values(
                token_hash=token_digest(token),
                email=folded,
                role=role.value,
                advertiser_id=advertiser_id,
                created_at=now,
                created_by=ctx.actor,
                expires_at=now + valid_for,
            )
            .returning(invitations.c.id)
        ).scalar_one()
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.invite",
            advertiser_id=advertiser_id,
            details={
                "invitation": row_id,
                "email": audit.without_phones(folded),
                "role": role.value,
                "expires_at": (now + valid_for).isoformat(),
            },
            at=now,
        )
        invitation = _invitation(conn, row_id)
    return NewInvitation(invitation, token)


def show_invitation(ctx: Context, token: str) -> Invitation:
    """The invitation `token` names, if it can still be accepted (what a page shows before
    asking for a password); NotFoundError or ConflictError as `accept_invitation` would."""
    with reader(ctx.engine) as conn:
        row = _open_invitation(conn, token, ctx.now())
        return _invitation(conn, row.id)


def list_invitations(
    ctx: Context, *, advertiser: str | None = None, operators: bool = False
) -> list[Invitation]:
    """The invitations that can still be accepted (neither used, expired nor revoked), oldest
    first: of `advertiser` (its slug), of operators (`operators`), or all of them."""
    if advertiser is not None and operators:
        raise InvalidInputError(
            "operators", "conflicting_arguments", "an advertiser's invitations or operators'"
        )
    now = ctx.now()
    with reader(ctx.engine) as conn:
        query = (
            select(invitations.c.id)
            .where(invitations.c.accepted_at.is_(None), invitations.c.expires_at > now)
            .order_by(invitations.c.id)
        )
        if advertiser is not None:
            query = query.where(invitations.c.advertiser_id == _advertiser_id(conn, advertiser))
        elif operators:
            query = query.where(invitations.c.advertiser_id.is_(None))
        return [_invitation(conn, row_id) for row_id in conn.execute(query).scalars().all()]


def revoke_invitation(
    ctx: Context, invitation_id: int, *, advertiser: str | None = None
) -> Invitation:
    """Revoke an invitation that can still be accepted: its link stops working now (it is
    refused as expired). With `advertiser`, only one of that advertiser's (another's is not
    found). Audited. ConflictError when it was used or has expired already."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = conn.execute(select(invitations).where(invitations.c.id == invitation_id)).first()
        if (
            row is not None
            and advertiser is not None
            and row.advertiser_id != _advertiser_id(conn, advertiser)
        ):
            row = None  # another advertiser's: not found, as if there were none
        if row is None:
            raise NotFoundError(
                f"no invitation {invitation_id}", code="invitation_not_found", field="invitation"
            )
        if row.accepted_at is not None:
            raise ConflictError(
                "this invitation was used already", code="invitation_used", field="invitation"
            )
        if now >= row.expires_at:
            raise ConflictError(
                "this invitation has expired already",
                code="invitation_expired",
                field="invitation",
            )
        conn.execute(
            update(invitations)
            .where(invitations.c.id == row.id, invitations.c.accepted_at.is_(None))
            .values(expires_at=now)
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.invitation_revoke",
            advertiser_id=row.advertiser_id,
            details={
                "invitation": row.id,
                "email": audit.without_phones(row.email),
                "role": row.role,
            },
            at=now,
        )
        return _invitation(conn, row.id)


def accept_invitation(ctx: Context, token: str, password: str) -> User:
    """Accept an invitation: a new account with `password`, or, for an address that has one
    already, the role added once `password` is checked to be the account's. Used once."""
    now = ctx.now()
    with reader(ctx.engine) as conn:
        found = _open_invitation(conn, token, now)
        existing = _user_row(conn, found.email)
    if existing is None:
        passwords.check_password(password, email=found.email)
        hashed: str | None = passwords.hash_password(password)
    else:
        if not passwords.verify_password(password, existing.password_hash):
            raise InvalidInputError(
                "password", "wrong_password", "this address has an account: give its password"
            )
        if existing.state != UserState.ACTIVE:
            raise ConflictError("this account is disabled", code="user_disabled")
        hashed = None
    with ctx.engine.begin() as conn:
        row = _open_invitation(conn, token, now)  # again: accepted meanwhile?
        claimed = conn.execute(
            update(invitations)
            .where(invitations.c.id == row.id, invitations.c.accepted_at.is_(None))
            .values(accepted_at=now)
        ).rowcount
        if claimed != 1:
            raise _used()
        current = _user_row(conn, row.email)
        if current is None:
            if hashed is None:  # the account was removed meanwhile: accept again
                raise _used()
            user_id = _insert_user(conn, ctx, row.email, hashed, now)
        else:
            if existing is None or current.id != existing.id:  # made meanwhile by another
                raise ConflictError("an account has this address already", code="email_taken")
            user_id = current.id
        role = Role(row.role)
        if not _has_membership(conn, user_id, role, row.advertiser_id):
            _add_membership(conn, ctx, user_id, role, row.advertiser_id, now)
        conn.execute(
            update(invitations).where(invitations.c.id == row.id).values(accepted_user_id=user_id)
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.accept_invitation",
            advertiser_id=row.advertiser_id,
            details={**_named(user_id, row.email), "invitation": row.id, "role": role.value},
            at=now,
        )
        return _user(conn, user_id)


def _open_invitation(conn: Connection, token: str, now: datetime) -> Any:
    row = None
    if 0 < len(token) <= MAX_TOKEN:
        row = conn.execute(
            select(invitations).where(invitations.c.token_hash == token_digest(token))
        ).first()
    if row is None:
        raise NotFoundError("no such invitation", code="invitation_not_found", field="token")
    if row.accepted_at is not None:
        raise _used()
    if now >= row.expires_at:
        raise ConflictError(
            "this invitation has expired: ask for another",
            code="invitation_expired",
            field="token",
        )
    return row


def _used() -> ConflictError:
    return ConflictError("this invitation was used already", code="invitation_used", field="token")


# --- logging in --------------------------------------------------------------------------------


def authenticate(
    ctx: Context,
    *,
    email: str,
    password: str,
    totp_code: str | None = None,
    client: str | None = None,
    throttle: ThrottlePolicy = DEFAULT_THROTTLE,
) -> User:
    """The account `email` and `password` prove, with the TOTP code it enrolled one; else
    UnauthenticatedError (`invalid_credentials`, `totp_required`, `invalid_totp_code`,
    `user_disabled`) or ThrottledError before anything is checked."""
    folded = _storable(email.strip().casefold())[:MAX_EMAIL]  # whatever was typed
    client = None if client is None else _storable(client)[:MAX_CLIENT]
    now = ctx.now()
    with reader(ctx.engine) as conn:
        wait = _wait(conn, folded, client, now, throttle)
        if wait:
            raise ThrottledError(wait)
        row = _user_row(conn, folded)
    if len(password) > passwords.MAX_LENGTH or not passwords.verify_password(
        password, None if row is None else row.password_hash
    ):
        _failed(ctx, folded, client, now, throttle)
        raise UnauthenticatedError("wrong e-mail address or password", code="invalid_credentials")
    assert row is not None
    if row.state != UserState.ACTIVE:
        raise UnauthenticatedError("this account is disabled", code="user_disabled")
    step = None
    if row.totp_confirmed_at is not None:
        if not totp_code:
            raise UnauthenticatedError(
                "this account asks for a code from its authenticator app", code="totp_required"
            )
        step = _totp_step(ctx.keys, row, totp_code, now)
        if step is None:
            _failed(ctx, folded, client, now, throttle)
            raise UnauthenticatedError("wrong or used code", code="invalid_totp_code")
    with ctx.engine.begin() as conn:
        values: dict[str, Any] = {"last_login_at": now}
        query = update(users).where(users.c.id == row.id, users.c.state == UserState.ACTIVE)
        if step is not None:  # a code is good once: two logins racing with it, one wins
            values["totp_last_step"] = step
            query = query.where(
                (users.c.totp_last_step.is_(None)) | (users.c.totp_last_step < step)
            )
        if conn.execute(query.values(**values)).rowcount != 1:
            raise UnauthenticatedError("wrong or used code", code="invalid_totp_code")
        conn.execute(delete(login_failures).where(login_failures.c.email == folded))
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.login",
            details={**_named(row.id, row.email), "second_factor": step is not None},
            at=now,
        )
        return _user(conn, row.id)


def _wait(
    conn: Connection, email: str, client: str | None, now: datetime, policy: ThrottlePolicy
) -> int:
    """The seconds to wait before another attempt for `email` from `client` (0: none)."""
    since = now - policy.memory
    keys = [(login_failures.c.email == email, policy.per_email)]
    if client is not None:
        keys.append((login_failures.c.client == client, policy.per_client))
    longest = 0
    for condition, limit in keys:
        count, last = conn.execute(
            select(func.count(), func.max(login_failures.c.at)).where(
                condition, login_failures.c.at > since
            )
        ).one()
        if count < limit or last is None:
            continue
        last = _aware(last)
        wait = min(policy.max_wait, policy.first_wait * 2 ** min(count - limit, 32))
        left = (last + wait - now).total_seconds()
        longest = max(longest, math.ceil(left))
    return longest


def _aware(value: datetime | str) -> datetime:
    # Should max() come back without the column's type: naive UTC, or its text on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _failed(
    ctx: Context, email: str, client: str | None, now: datetime, policy: ThrottlePolicy
) -> None:
    with ctx.engine.begin() as conn:
        forgotten = now - policy.memory
        conn.execute(
            delete(login_failures).where(
                login_failures.c.email == email, login_failures.c.at <= forgotten
            )
        )
        conn.execute(insert(login_failures).values(email=email, client=client, at=now))


# --- second factor -----------------------------------------------------------------------------


def enrol_totp(ctx: Context, email: str) -> TotpEnrolment:
    """A new TOTP secret for the account (an operator's or an admin's), to confirm with a code
    (`confirm_totp`) before logins ask for one. An account with a confirmed one is refused."""
    secret = passwords.new_totp_secret()
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = _existing(conn, email)
        user = _user(conn, row.id)
        if not any(m.role in TOTP_ROLES for m in user.memberships):
            raise InvalidInputError(
                "email", "totp_not_offered", "a second factor is for operators and admins"
            )
        if row.totp_confirmed_at is not None:
            raise ConflictError(
                "this account has a second factor already", code="totp_enrolled", field="email"
            )
        version = row.totp_version + 1  # a new label: a pad serves one secret only
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(
                totp_secret=_wrapped(ctx.keys, row.id, version, secret),
                totp_version=version,
                totp_last_step=None,
            )
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.totp_enrol",
            details=_named(row.id, row.email),
            at=now,
        )
    return TotpEnrolment(passwords.totp_text(secret), passwords.totp_uri(secret, row.email))


def pending_totp(ctx: Context, email: str) -> TotpEnrolment | None:
    """The enrolment waiting for its code (shown again after a wrong one, so that the app
    already set up is not set up anew); None when none waits."""
    with reader(ctx.engine) as conn:
        row = _existing(conn, email)
    if row.totp_secret is None or row.totp_confirmed_at is not None:
        return None
    secret = _wrapped(ctx.keys, row.id, row.totp_version, row.totp_secret)
    return TotpEnrolment(passwords.totp_text(secret), passwords.totp_uri(secret, row.email))


def confirm_totp(ctx: Context, email: str, code: str) -> User:
    """Confirm an enrolment with a code of the app: from now on, logins ask for one."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = _existing(conn, email)
        if row.totp_secret is None or row.totp_confirmed_at is not None:
            raise ConflictError(
                "no second factor waits for confirmation", code="totp_not_pending", field="email"
            )
        step = _totp_step(ctx.keys, row, code, now)
        if step is None:
            raise InvalidInputError("code", "invalid_totp_code", "wrong code")
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(totp_confirmed_at=now, totp_last_step=step)
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.totp_confirm",
            details=_named(row.id, row.email),
            at=now,
        )
        return _user(conn, row.id)


def remove_totp(ctx: Context, email: str) -> User:
    """Remove an account's second factor (a lost phone): logins ask for none until another
    is enrolled."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = _existing(conn, email)
        if row.totp_secret is None:
            return _user(conn, row.id)
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(totp_secret=None, totp_confirmed_at=None, totp_last_step=None)
        )
        audit.append(
            conn,
            actor=ctx.actor,
            action="user.totp_remove",
            details=_named(row.id, row.email),
            at=now,
        )
        return _user(conn, row.id)


def _totp_step(keys: Keys, row: Any, code: str, now: datetime) -> int | None:
    secret = _wrapped(keys, row.id, row.totp_version, row.totp_secret)
    match = passwords.match_totp(secret, code, now, row.totp_last_step)
    return None if match is None else match.step


def _wrapped(keys: Keys, user_id: int, version: int, secret: bytes) -> bytes:
    # XOR with a pad of its own (the user and the enrolment): the same call undoes it.
    return keys.wrap(TOTP_PURPOSE, b"totp:%d:%d" % (user_id, version), secret)


def rewrap_totp_secrets(conn: Connection, old: Keys, new: Keys) -> int:
    """Store every TOTP secret under `new` instead of `old` (a rotation of the key)."""
    rows = conn.execute(
        select(users.c.id, users.c.totp_version, users.c.totp_secret).where(
            users.c.totp_secret.is_not(None)
        )
    ).all()
    for user_id, version, stored in rows:
        secret = _wrapped(old, user_id, version, stored)
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(totp_secret=_wrapped(new, user_id, version, secret))
        )
    return len(rows)


# --- shared with services/sessions.py ----------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def revoke_sessions(
    conn: Connection, user_id: int, reason: str, now: datetime, *, keep: bytes | None = None
) -> int:
    """Revoke every live session of `user_id` (but the one whose token digest is `keep`)."""
    query = update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
    if keep is not None:
        query = query.where(sessions.c.token_hash != keep)
    return int(conn.execute(query.values(revoked_at=now, revoked_reason=reason)).rowcount)


def named(user: User) -> dict[str, Any]:
    """How the audit log names an account."""
    return _named(user.id, user.email)


# --- helpers -----------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """`email` case-folded and stripped; InvalidInputError when it is no address."""
    folded = email.strip().casefold()
    if len(folded) > MAX_EMAIL or not _EMAIL.fullmatch(folded) or control_character(folded):
        raise InvalidInputError("email", "invalid_email", "not an e-mail address (name@domain.fr)")
    return folded


def _storable(text: str) -> str:
    # PostgreSQL stores no NUL: one typed in a login form is kept as another character.
    return text.replace("\x00", "\ufffd")


def _check_role(role: Role, advertiser: str | None) -> None:
    if role is Role.OPERATOR and advertiser is not None:
        raise InvalidInputError(
            "advertiser", "operator_without_advertiser", "an operator belongs to no advertiser"
        )
    if role in ADVERTISER_ROLES and advertiser is None:
        raise InvalidInputError(
            "advertiser",
            "advertiser_required",
            f"the role {role.value} is held at an advertiser: name it",
        )


def _named(user_id: int, email: str) -> dict[str, Any]:
    return {"user": user_id, "email": audit.without_phones(email)}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _advertiser_id(conn: Connection, slug: str) -> int:
    found: int | None = conn.execute(
        select(advertisers.c.id).where(advertisers.c.slug == slug)
    ).scalar()
    if found is None:
        raise NotFoundError(
            f"no advertiser {slug!r}", code="advertiser_not_found", field="advertiser"
        )
    return found


def _user_row(conn: Connection, folded: str) -> Any:
    return conn.execute(select(users).where(users.c.email == folded)).first()


def _existing(conn: Connection, email: str) -> Any:
    row = _user_row(conn, email.strip().casefold())
    if row is None:
        raise NotFoundError("no account has this address", code="user_not_found", field="email")
    return row


def _insert_user(conn: Connection, ctx: Context, email: str, hashed: str, now: datetime) -> int:
    user_id: int = conn.execute(
        insert(users)
        .values(
            email=email,
            password_hash=hashed,
            state=UserState.ACTIVE.value,
            totp_version=0,
            password_changed_at=now,
            created_at=now,
            created_by=ctx.actor,
        )
        .returning(users.c.id)
    ).scalar_one()
    return user_id


def _has_membership(conn: Connection, user_id: int, role: Role, advertiser_id: int | None) -> bool:
    where = (
        memberships.c.advertiser_id.is_(None)
        if advertiser_id is None
        else memberships.c.advertiser_id == advertiser_id
    )
    return (
        conn.execute(
            select(memberships.c.id).where(
                memberships.c.user_id == user_id, memberships.c.role == role.value, where
            )
        ).first()
        is not None
    )


def _add_membership(
    conn: Connection,
    ctx: Context,
    user_id: int,
    role: Role,
    advertiser_id: int | None,
    now: datetime,
) -> None:
    conn.execute(
        insert(memberships).values(
            user_id=user_id,
            role=role.value,
            advertiser_id=advertiser_id,
            created_at=now,
            created_by=ctx.actor,
        )
    )


def _user(conn: Connection, user_id: int) -> User:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFoundError("no such account", code="user_not_found")
    held = conn.execute(
        select(memberships.c.role, memberships.c.advertiser_id, advertisers.c.slug)
        .select_from(
            memberships.outerjoin(advertisers, advertisers.c.id == memberships.c.advertiser_id)
        )
        .where(memberships.c.user_id == user_id)
        .order_by(memberships.c.id)
    ).all()
    return User(
        id=row.id,
        email=row.email,
        state=UserState(row.state),
        memberships=_memberships(held),
        totp_enrolled=row.totp_confirmed_at is not None,
        created_at=row.created_at,
        created_by=row.created_by,
        last_login_at=row.last_login_at,
        disabled_at=row.disabled_at,
    )


def _memberships(rows: Sequence[Any]) -> tuple[Membership, ...]:
    return tuple(Membership(Role(r.role), r.advertiser_id, r.slug) for r in rows)


def _invitation(conn: Connection, row_id: int) -> Invitation:
    row = conn.execute(
        select(invitations, advertisers.c.slug)
        .select_from(
            invitations.outerjoin(advertisers, advertisers.c.id == invitations.c.advertiser_id)
        )
        .where(invitations.c.id == row_id)
    ).one()
    return Invitation(
        id=row.id,
        email=row.email,
        role=Role(row.role),
        advertiser_id=row.advertiser_id,
        advertiser=row.slug,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
    )
