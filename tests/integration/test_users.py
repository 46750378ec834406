"""Accounts, invitations, logins, sessions and second factors of the web app (issue 16 point 2),
through the use cases (services/users.py, services/sessions.py) and `tambour user`, on SQLite
and PostgreSQL, with an injected clock. TOTP codes are computed by pyotp from the secret the
enrolment shows, as an authenticator app would."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, select

from tambour.keys import Keys
from tambour.services import keyring, passwords, sessions, users
from tambour.services.advertisers import create as create_advertiser
from tambour.services.api_keys import UnauthenticatedError
from tambour.services.context import (
    ConflictError,
    Context,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)
from tambour.services.roles import ALLOWED, Action, Role, can, can_grant
from tambour.services.sessions import SessionPolicy
from tambour.services.users import ThrottledError, ThrottlePolicy, User
from tambour.store.tables import advertisers, audit_log, invitations, login_failures
from tambour.store.tables import sessions as session_rows
from tambour.store.tables import users as user_rows
from tests.integration.cli import Cli

START = datetime(2027, 3, 23, 9, 0, tzinfo=UTC)
PASSWORD = "lumière du printemps 2027"
OTHER_PASSWORD = "un tout autre secret, bien long"


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id still, with a small cost: the tests hash dozens of passwords on a small
    machine (the production parameters are checked in tests/unit/test_passwords.py)."""
    quick = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(passwords, "HASHER", quick)
    monkeypatch.setattr(passwords, "_DUMMY", [])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(engine: Engine, clock: Clock) -> Iterator[Context]:
    context = Context(engine=engine, actor="test:users", clock=clock)
    for slug, sender in (("maison-lumiere", "MLUMIERE"), ("copie", "COPIE")):
        create_advertiser(
            context, slug=slug, name=slug, senders=[sender], stop_number="36111",
            categories=["luminaires"],
        )  # fmt: skip
    yield context


def _advertiser_id(conn: Any, slug: str) -> int:
    return int(
        conn.execute(select(advertisers.c.id).where(advertisers.c.slug == slug)).scalar_one()
    )


def operator(ctx: Context, email: str = "ops@tambour.fr") -> User:
    return users.create_user(ctx, email=email, password=PASSWORD, role=Role.OPERATOR)


def member(ctx: Context, email: str, role: Role, advertiser: str = "maison-lumiere") -> User:
    made = users.invite(ctx, email=email, role=role, advertiser=advertiser)
    return users.accept_invitation(ctx, made.token, PASSWORD)


def audit_details(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.details).order_by(audit_log.c.seq)
        )
        return [(action, json.loads(details)) for action, details in rows]


def refused(call: Any, code: str, kind: type[ServiceError] = ServiceError) -> ServiceError:
    with pytest.raises(kind) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value


# --- accounts ----------------------------------------------------------------------------------


def test_the_first_operator_has_an_argon2id_hash_and_one_address_whatever_its_case(
    ctx: Context,
) -> None:
    made = users.create_user(
        ctx, email="  Admin@Tambour.FR ", password=PASSWORD, role=Role.OPERATOR
    )
    assert made.email == "admin@tambour.fr"
    assert [(m.role, m.advertiser_id) for m in made.memberships] == [(Role.OPERATOR, None)]
    with ctx.engine.connect() as conn:
        stored = conn.execute(select(user_rows.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert passwords.verify_password(PASSWORD, stored)
    refused(
        lambda: users.create_user(
            ctx, email="ADMIN@tambour.fr", password=PASSWORD, role=Role.OPERATOR
        ),
        "email_taken",
        ConflictError,
    )
    assert [action for action, _ in audit_details(ctx.engine)][-1] == "user.create"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("court", "password_too_short"),
        ("x" * 1025, "password_too_long"),
        ("Azertyuiop123", "password_too_common"),
        ("abcabcabcabc", "password_too_common"),
        ("pierre.dupont@tambour.fr", "password_is_email"),
        ("mot de passe\x00 caché", "password_control_character"),
    ],
)
def test_weak_passwords_are_refused_by_code(ctx: Context, password: str, code: str) -> None:
    error = refused(
        lambda: users.create_user(
            ctx, email="pierre.dupont@tambour.fr", password=password, role=Role.OPERATOR
        ),
        code,
        InvalidInputError,
    )
    assert error.field == "password"
    assert users.list_users(ctx) == []


def test_roles_and_advertisers_must_agree(ctx: Context) -> None:
    refused(
        lambda: users.create_user(ctx, email="a@b.fr", password=PASSWORD, role=Role.MARKETER),
        "advertiser_required",
    )
    refused(
        lambda: users.create_user(
            ctx, email="a@b.fr", password=PASSWORD, role=Role.OPERATOR, advertiser="copie"
        ),
        "operator_without_advertiser",
    )
    refused(
        lambda: users.invite(ctx, email="a@b.fr", role=Role.VIEWER, advertiser="personne"),
        "advertiser_not_found",
        NotFoundError,
    )
    for bad in ("pas une adresse", "a\x00b@tambour.fr", "a@b", "x" * 250 + "@b.fr"):
        refused(lambda bad=bad: users.invite(ctx, email=bad, role=Role.OPERATOR), "invalid_email")


# --- invitations -------------------------------------------------------------------------------


def test_an_invitation_is_a_link_shown_once_and_used_once(ctx: Context, clock: Clock) -> None:
    made = users.invite(ctx, email="Marie@Maison-Lumiere.FR", role=Role.MARKETER,
                        advertiser="maison-lumiere")  # fmt: skip
    assert made.path == f"/invitations/{made.token}" and len(made.token) >= 43
    assert made.invitation.email == "marie@maison-lumiere.fr"
    assert made.invitation.expires_at == START + timedelta(days=7)
    with ctx.engine.connect() as conn:
        stored = conn.execute(select(invitations.c.token_hash)).scalar_one()
    assert bytes(stored) == hashlib.sha256(made.token.encode()).digest()
    assert users.show_invitation(ctx, made.token).role is Role.MARKETER

    refused(lambda: users.accept_invitation(ctx, made.token, "court"), "password_too_short")
    clock.advance(days=1)
    marie = users.accept_invitation(ctx, made.token, PASSWORD)
    assert marie.email == "marie@maison-lumiere.fr" and marie.active
    assert [(m.role, m.advertiser) for m in marie.memberships] == [
        (Role.MARKETER, "maison-lumiere")
    ]
    refused(lambda: users.accept_invitation(ctx, made.token, PASSWORD), "invitation_used",
            ConflictError)  # fmt: skip
    refused(lambda: users.accept_invitation(ctx, made.token, OTHER_PASSWORD), "invitation_used")
    refused(lambda: users.accept_invitation(ctx, "inconnu", PASSWORD), "invitation_not_found",
            NotFoundError)  # fmt: skip
    assert len(users.list_users(ctx)) == 1


def test_an_invitation_expires(ctx: Context, clock: Clock) -> None:
    made = users.invite(
        ctx, email="paul@copie.fr", role=Role.VIEWER, advertiser="copie",
        valid_for=timedelta(hours=1),
    )  # fmt: skip
    clock.advance(hours=1)
    refused(lambda: users.accept_invitation(ctx, made.token, PASSWORD), "invitation_expired")
    assert users.list_users(ctx) == []
    refused(
        lambda: users.invite(ctx, email="p@copie.fr", role=Role.VIEWER, advertiser="copie",
                             valid_for=timedelta(days=90)),
        "invalid_validity",
    )  # fmt: skip


def test_an_account_invited_elsewhere_gets_the_role_once_its_password_is_given(
    ctx: Context,
) -> None:
    marie = member(ctx, "marie@agence.fr", Role.MARKETER, "maison-lumiere")
    made = users.invite(ctx, email="marie@agence.fr", role=Role.VIEWER, advertiser="copie")
    refused(lambda: users.accept_invitation(ctx, made.token, OTHER_PASSWORD), "wrong_password")
    both = users.accept_invitation(ctx, made.token, PASSWORD)
    assert both.id == marie.id
    assert {(m.role, m.advertiser) for m in both.memberships} == {
        (Role.MARKETER, "maison-lumiere"),
        (Role.VIEWER, "copie"),
    }
    refused(
        lambda: users.invite(ctx, email="marie@agence.fr", role=Role.VIEWER, advertiser="copie"),
        "role_held",
    )
    assert [u.email for u in users.list_users(ctx, advertiser="copie")] == ["marie@agence.fr"]


# --- logging in and throttling -----------------------------------------------------------------


def test_authenticate_says_the_same_for_an_unknown_address_and_a_wrong_password(
    ctx: Context,
) -> None:
    made = operator(ctx)
    assert users.authenticate(ctx, email="OPS@tambour.fr", password=PASSWORD).id == made.id
    wrong = refused(
        lambda: users.authenticate(ctx, email="ops@tambour.fr", password=OTHER_PASSWORD),
        "invalid_credentials",
        UnauthenticatedError,
    )
    unknown = refused(
        lambda: users.authenticate(ctx, email="nobody@tambour.fr", password=PASSWORD),
        "invalid_credentials",
    )
    assert str(wrong) == str(unknown) and wrong.status == 401
    for typed in ("ops\x00@tambour.fr", "x" * 300, ""):  # kept for throttling as they come
        refused(lambda typed=typed: users.authenticate(ctx, email=typed, password=PASSWORD,
                                                       client="\x00" * 80),
                "invalid_credentials")  # fmt: skip
    assert users.get_user(ctx, "ops@tambour.fr").last_login_at == START


def test_failed_logins_for_one_address_impose_a_growing_wait(ctx: Context, clock: Clock) -> None:
    operator(ctx)
    policy = ThrottlePolicy(per_email=3, first_wait=timedelta(seconds=30))

    def attempt(password: str = OTHER_PASSWORD, client: str | None = None) -> User:
        return users.authenticate(ctx, email="ops@tambour.fr", password=password,
                                  client=client, throttle=policy)  # fmt: skip

    for _ in range(3):
        refused(attempt, "invalid_credentials")
        clock.advance(seconds=1)
    error = refused(lambda: attempt(PASSWORD), "too_many_attempts", ThrottledError)
    assert isinstance(error, ThrottledError)
    assert error.retry_after == 29 and error.status == 429  # 30 s after the last failure
    assert "29 seconds" in str(error)
    clock.advance(seconds=29)
    refused(attempt, "invalid_credentials")  # the wait is over: a fourth failure
    error = refused(lambda: attempt(PASSWORD, "203.0.113.9"), "too_many_attempts")
    assert isinstance(error, ThrottledError) and error.retry_after == 60  # doubled
    clock.advance(seconds=60)
    assert attempt(PASSWORD).email == "ops@tambour.fr"  # the right password, in time
    with ctx.engine.connect() as conn:
        assert conn.execute(select(login_failures)).all() == []  # forgotten after a success
    refused(attempt, "invalid_credentials")  # counting starts again


def test_the_wait_never_exceeds_the_maximum_and_failures_are_forgotten(
    ctx: Context, clock: Clock
) -> None:
    operator(ctx)
    policy = ThrottlePolicy(per_email=1, first_wait=timedelta(seconds=10),
                            max_wait=timedelta(seconds=50), memory=timedelta(hours=1))  # fmt: skip
    waits = []
    for _ in range(6):
        refused(
            lambda: users.authenticate(ctx, email="ops@tambour.fr", password="x",
                                       throttle=policy),
            "invalid_credentials",
        )  # fmt: skip
        error = refused(
            lambda: users.authenticate(ctx, email="ops@tambour.fr", password=PASSWORD,
                                       throttle=policy),
            "too_many_attempts",
        )  # fmt: skip
        assert isinstance(error, ThrottledError)
        waits.append(error.retry_after)
        clock.advance(seconds=error.retry_after)
    assert waits == [10, 20, 40, 50, 50, 50]
    clock.advance(hours=1)
    refused(lambda: users.authenticate(ctx, email="ops@tambour.fr", password="x",
                                       throttle=policy), "invalid_credentials")  # fmt: skip


def test_failed_logins_from_one_client_throttle_it_for_every_address(
    ctx: Context, clock: Clock
) -> None:
    operator(ctx)
    policy = ThrottlePolicy(per_email=10, per_client=3)
    for n in range(3):
        refused(
            lambda n=n: users.authenticate(ctx, email=f"guess{n}@tambour.fr", password="x",
                                           client="198.51.100.7", throttle=policy),
            "invalid_credentials",
        )  # fmt: skip
    refused(
        lambda: users.authenticate(ctx, email="ops@tambour.fr", password=PASSWORD,
                                   client="198.51.100.7", throttle=policy),
        "too_many_attempts",
    )  # fmt: skip
    assert (
        users.authenticate(
            ctx, email="ops@tambour.fr", password=PASSWORD, client="192.0.2.1", throttle=policy
        ).email
        == "ops@tambour.fr"
    )


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_is_a_token_shown_once_that_names_the_user_and_its_roles(ctx: Context) -> None:
    marie = member(ctx, "marie@maison-lumiere.fr", Role.ADMIN)
    opened = sessions.open_session(ctx, marie.id)
    with ctx.engine.connect() as conn:
        stored = conn.execute(select(session_rows.c.token_hash)).scalar_one()
    assert bytes(stored) == hashlib.sha256(opened.token.encode()).digest()
    signed = sessions.check_session(ctx, opened.token)
    assert signed.user.id == marie.id and signed.session.id == opened.session.id
    assert [(m.role, m.advertiser) for m in signed.user.memberships] == [
        (Role.ADMIN, "maison-lumiere")
    ]
    refused(lambda: sessions.check_session(ctx, opened.token + "x"), "invalid_session",
            UnauthenticatedError)  # fmt: skip
    refused(lambda: sessions.check_session(ctx, ""), "invalid_session")
    sessions.revoke_session(ctx, opened.token)
    refused(lambda: sessions.check_session(ctx, opened.token), "invalid_session")
    refused(lambda: sessions.revoke_session(ctx, opened.token), "session_not_found")


def test_a_session_ends_when_idle_too_long(ctx: Context, clock: Clock) -> None:
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=8))
    user = operator(ctx)
    opened = sessions.open_session(ctx, user.id, policy)
    clock.advance(minutes=29)
    sessions.check_session(ctx, opened.token, policy)  # seen: the idle time starts again
    clock.advance(minutes=29)
    sessions.check_session(ctx, opened.token, policy)
    clock.advance(minutes=30)
    refused(lambda: sessions.check_session(ctx, opened.token, policy), "session_expired")
    # The policy is the caller's: a longer idle time given later lets it live again.
    longer = SessionPolicy(idle=timedelta(hours=2), absolute=timedelta(hours=8))
    assert sessions.check_session(ctx, opened.token, longer).user.id == user.id


def test_a_session_ends_at_its_absolute_expiry_however_active(ctx: Context, clock: Clock) -> None:
    policy = SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(hours=4))
    user = operator(ctx)
    opened = sessions.open_session(ctx, user.id, policy)
    assert opened.session.expires_at == START + timedelta(hours=4)
    for _ in range(7):
        clock.advance(minutes=30)
        sessions.check_session(ctx, opened.token, policy)
    clock.advance(minutes=30)  # 4 hours after the login
    refused(lambda: sessions.check_session(ctx, opened.token, policy), "session_expired")
    shorter = SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(hours=2))
    second = sessions.open_session(ctx, user.id, policy)
    clock.advance(hours=2)
    refused(lambda: sessions.check_session(ctx, second.token, shorter), "session_expired")


def test_a_disabled_users_sessions_and_logins_are_refused(ctx: Context) -> None:
    marie = member(ctx, "marie@maison-lumiere.fr", Role.MARKETER)
    first = sessions.open_session(ctx, marie.id)
    second = sessions.open_session(ctx, marie.id)
    disabled = users.disable_user(ctx, "Marie@maison-lumiere.fr")
    assert not disabled.active and disabled.disabled_at == START
    for opened in (first, second):
        refused(lambda opened=opened: sessions.check_session(ctx, opened.token),
                "invalid_session")  # fmt: skip
    refused(
        lambda: users.authenticate(ctx, email="marie@maison-lumiere.fr", password=PASSWORD),
        "user_disabled",
    )
    refused(lambda: sessions.open_session(ctx, marie.id), "user_disabled")
    users.enable_user(ctx, "marie@maison-lumiere.fr")
    refused(lambda: sessions.check_session(ctx, first.token), "invalid_session")  # still ended
    assert users.authenticate(ctx, email="marie@maison-lumiere.fr", password=PASSWORD).active
    actions = [action for action, _ in audit_details(ctx.engine)]
    assert "user.disable" in actions and "user.enable" in actions


def test_revoke_all_ends_every_session_of_one_user_only(ctx: Context) -> None:
    marie = member(ctx, "marie@maison-lumiere.fr", Role.MARKETER)
    paul = member(ctx, "paul@maison-lumiere.fr", Role.VIEWER)
    hers = [sessions.open_session(ctx, marie.id) for _ in range(3)]
    his = sessions.open_session(ctx, paul.id)
    assert len(sessions.live_sessions(ctx, "marie@maison-lumiere.fr")) == 3
    assert sessions.revoke_all(ctx, "MARIE@maison-lumiere.fr") == 3
    for opened in hers:
        refused(lambda opened=opened: sessions.check_session(ctx, opened.token),
                "invalid_session")  # fmt: skip
    assert sessions.check_session(ctx, his.token).user.id == paul.id
    refused(lambda: sessions.revoke_all(ctx, "nobody@x.fr"), "user_not_found")


def test_changing_a_password_keeps_only_the_session_asking(ctx: Context) -> None:
    user = operator(ctx)
    here = sessions.open_session(ctx, user.id)
    elsewhere = sessions.open_session(ctx, user.id)
    refused(
        lambda: users.change_password(ctx, email=user.email, current=OTHER_PASSWORD,
                                      new=OTHER_PASSWORD),
        "wrong_password",
    )  # fmt: skip
    refused(
        lambda: users.change_password(ctx, email=user.email, current=PASSWORD, new="password1234"),
        "password_too_common",
    )
    users.change_password(ctx, email=user.email, current=PASSWORD, new=OTHER_PASSWORD,
                          keep_session=here.token)  # fmt: skip
    assert sessions.check_session(ctx, here.token).user.id == user.id
    refused(lambda: sessions.check_session(ctx, elsewhere.token), "invalid_session")
    refused(lambda: users.authenticate(ctx, email=user.email, password=PASSWORD),
            "invalid_credentials")  # fmt: skip
    assert users.authenticate(ctx, email=user.email, password=OTHER_PASSWORD).id == user.id


# --- second factor -----------------------------------------------------------------------------


def test_totp_enrolled_confirmed_then_asked_at_each_login_once_per_code(
    ctx: Context, clock: Clock
) -> None:
    user = operator(ctx)
    enrolment = users.enrol_totp(ctx, user.email)
    assert enrolment.uri.startswith("otpauth://totp/Tambour:ops%40tambour.fr?secret=")
    app = pyotp.TOTP(enrolment.secret)
    # Not confirmed yet: logins do not ask for it.
    assert not users.authenticate(ctx, email=user.email, password=PASSWORD).totp_enrolled
    refused(lambda: users.confirm_totp(ctx, user.email, "000000" if app.at(START) != "000000"
                                       else "111111"), "invalid_totp_code")  # fmt: skip
    assert users.confirm_totp(ctx, user.email, app.at(START)).totp_enrolled
    refused(lambda: users.enrol_totp(ctx, user.email), "totp_enrolled")

    clock.advance(seconds=30)
    refused(lambda: users.authenticate(ctx, email=user.email, password=PASSWORD),
            "totp_required", UnauthenticatedError)  # fmt: skip
    code = app.at(clock.now)
    assert users.authenticate(ctx, email=user.email, password=PASSWORD, totp_code=code).id
    refused(
        lambda: users.authenticate(ctx, email=user.email, password=PASSWORD, totp_code=code),
        "invalid_totp_code",
    )  # fmt: skip  (a code is good once)
    clock.advance(seconds=30)
    # The previous step's code is refused (used); the next step's is accepted (a fast phone).
    refused(lambda: users.authenticate(ctx, email=user.email, password=PASSWORD, totp_code=code),
            "invalid_totp_code")  # fmt: skip
    ahead = app.at(clock.now + timedelta(seconds=30))
    assert users.authenticate(ctx, email=user.email, password=PASSWORD, totp_code=ahead).id
    clock.advance(minutes=5)
    late = app.at(clock.now - timedelta(seconds=90))  # three steps ago: out of the window
    refused(lambda: users.authenticate(ctx, email=user.email, password=PASSWORD, totp_code=late),
            "invalid_totp_code")  # fmt: skip
    slow = app.at(clock.now - timedelta(seconds=30))  # one step ago: in the window
    assert users.authenticate(ctx, email=user.email, password=PASSWORD, totp_code=slow).id
    # A wrong password is refused before any code is looked at.
    now_code = app.at(clock.now)
    refused(lambda: users.authenticate(ctx, email=user.email, password=OTHER_PASSWORD,
                                       totp_code=now_code), "invalid_credentials")  # fmt: skip


def test_wrong_totp_codes_count_towards_throttling(ctx: Context) -> None:
    user = operator(ctx)
    app = pyotp.TOTP(users.enrol_totp(ctx, user.email).secret)
    users.confirm_totp(ctx, user.email, app.at(START))
    policy = ThrottlePolicy(per_email=2)
    wrong = "123456" if app.at(START) != "123456" else "654321"
    for _ in range(2):
        refused(lambda: users.authenticate(ctx, email=user.email, password=PASSWORD,
                                           totp_code=wrong, throttle=policy),
                "invalid_totp_code")  # fmt: skip
    refused(lambda: users.authenticate(ctx, email=user.email, password=PASSWORD,
                                       totp_code=app.at(START), throttle=policy),
            "too_many_attempts")  # fmt: skip


def test_totp_is_offered_to_operators_and_admins_only(ctx: Context) -> None:
    member(ctx, "admin@maison-lumiere.fr", Role.ADMIN)
    member(ctx, "marie@maison-lumiere.fr", Role.MARKETER)
    member(ctx, "dpo@maison-lumiere.fr", Role.VIEWER)
    assert users.enrol_totp(ctx, "admin@maison-lumiere.fr").secret
    for email in ("marie@maison-lumiere.fr", "dpo@maison-lumiere.fr"):
        refused(lambda email=email: users.enrol_totp(ctx, email), "totp_not_offered")
    refused(lambda: users.confirm_totp(ctx, "marie@maison-lumiere.fr", "123456"),
            "totp_not_pending")  # fmt: skip


def test_the_totp_secret_is_stored_wrapped_and_survives_a_key_rotation(
    ctx: Context, clock: Clock
) -> None:
    user = operator(ctx)
    enrolment = users.enrol_totp(ctx, user.email)
    app = pyotp.TOTP(enrolment.secret)
    users.confirm_totp(ctx, user.email, app.at(START))
    raw = passwords.base64.b32decode(enrolment.secret)
    with ctx.engine.connect() as conn:
        stored = bytes(conn.execute(select(user_rows.c.totp_secret)).scalar_one())
    assert len(stored) == len(raw) and stored != raw
    keyring.rotate(ctx, Keys(bytes.fromhex("c3" * 32)))
    rotated = Context(engine=ctx.engine, actor="test:users", clock=clock,
                      keys=Keys(bytes.fromhex("c3" * 32)))  # fmt: skip
    with ctx.engine.connect() as conn:
        assert bytes(conn.execute(select(user_rows.c.totp_secret)).scalar_one()) != stored
    clock.advance(seconds=30)
    assert users.authenticate(rotated, email=user.email, password=PASSWORD,
                              totp_code=app.at(clock.now)).id == user.id  # fmt: skip


def test_no_password_token_or_secret_reaches_the_audit_log(ctx: Context) -> None:
    user = operator(ctx)
    made = users.invite(ctx, email="0612345678@free.fr", role=Role.ADMIN, advertiser="copie")
    admin = users.accept_invitation(ctx, made.token, OTHER_PASSWORD)
    opened = sessions.open_session(ctx, admin.id)
    enrolment = users.enrol_totp(ctx, admin.email)
    users.confirm_totp(ctx, admin.email, pyotp.TOTP(enrolment.secret).at(START))
    users.change_password(ctx, email=user.email, current=PASSWORD, new=OTHER_PASSWORD + "!")
    sessions.revoke_session(ctx, opened.token)
    with ctx.engine.connect() as conn:
        text = " ".join(str(d) for d in conn.execute(select(audit_log.c.details)).scalars())
    for secret in (PASSWORD, OTHER_PASSWORD, made.token, opened.token, enrolment.secret):
        assert secret not in text
    assert "0612345678" not in text and "[phone]@free.fr" in text  # the address, masked
    actions = [action for action, _ in audit_details(ctx.engine)]
    for expected in ("user.create", "user.invite", "user.accept_invitation", "session.open",
                     "user.totp_enrol", "user.totp_confirm", "user.password_change",
                     "session.revoke"):  # fmt: skip
        assert expected in actions


# --- roles across advertisers ------------------------------------------------------------------


def test_roles_of_one_advertiser_never_grant_anything_at_another(ctx: Context) -> None:
    with ctx.engine.connect() as conn:
        lumiere, copie = _advertiser_id(conn, "maison-lumiere"), _advertiser_id(conn, "copie")
    people = {role: member(ctx, f"{role.value}@maison-lumiere.fr", role) for role in
              (Role.ADMIN, Role.MARKETER, Role.VIEWER)}  # fmt: skip
    ops = operator(ctx)
    for role, user in people.items():
        for action in Action:
            at_home = can(user, action, lumiere)
            assert at_home == (role in ALLOWED[action] and action not in (
                Action.MANAGE_ADVERTISERS, Action.MANAGE_OPERATORS)), (role, action)  # fmt: skip
            assert not can(user, action, copie), (role, action)
        assert not can_grant(user, Role.VIEWER, copie)
    assert can_grant(people[Role.ADMIN], Role.MARKETER, lumiere)
    assert not can_grant(people[Role.ADMIN], Role.OPERATOR, None)
    assert can(ops, Action.MANAGE_USERS, copie) and not can(ops, Action.READ, copie)
    # An account that works for both advertisers holds each role where it was given only.
    made = users.invite(ctx, email="marketer@maison-lumiere.fr", role=Role.VIEWER,
                        advertiser="copie")  # fmt: skip
    both = users.accept_invitation(ctx, made.token, PASSWORD)
    assert can(both, Action.WRITE_CAMPAIGNS, lumiere)
    assert can(both, Action.READ, copie) and not can(both, Action.WRITE_CAMPAIGNS, copie)
    signed = sessions.check_session(ctx, sessions.open_session(ctx, both.id).token)
    assert not can(signed.user, Action.WRITE_CONTACTS, copie)


# --- the command line --------------------------------------------------------------------------


def run(cli: Cli, *args: str, stdin: str = "", ok: bool = True) -> Any:
    from tambour.cli import app

    done = cli.runner.invoke(app, list(args), input=stdin, env=cli.env, catch_exceptions=False)
    if ok:
        assert done.exit_code == 0, f"{args}: {done.stderr or done.stdout}"
    return done


def test_the_user_command(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser("maison-lumiere")
    cli.advertiser("copie")
    made = run(cli, "user", "create", "Ops@Tambour.fr", "--role", "operator",
               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert made.stdout.strip() == "ops@tambour.fr: operator"
    # Asked twice, not echoed: a different second answer is asked again.
    answers = f"{PASSWORD}\n{OTHER_PASSWORD}\n{PASSWORD}\n{PASSWORD}\n"
    typed = run(cli, "user", "create", "dpo@copie.fr", "--role", "viewer", "--advertiser",
                "copie", stdin=answers)  # fmt: skip
    assert "dpo@copie.fr: viewer of copie" in typed.stdout and PASSWORD not in typed.stdout
    short = run(cli, "user", "create", "x@copie.fr", "--role", "operator", "--password-stdin",
                stdin="court\n", ok=False)  # fmt: skip
    assert short.exit_code == 2 and "at least 12 characters" in short.stderr
    missing = run(cli, "user", "invite", "m@x.fr", "--role", "marketer", ok=False)
    assert missing.exit_code == 2 and missing.stderr.startswith("error: --advertiser:")

    invited = run(cli, "user", "invite", "marie@maison-lumiere.fr", "--role", "marketer",
                  "--advertiser", "maison-lumiere")  # fmt: skip
    path = invited.stdout.strip()
    assert path.startswith("/invitations/") and "shown once" in invited.stderr
    ctx = Context(engine=engine, actor="test:web")
    marie = users.accept_invitation(ctx, path.removeprefix("/invitations/"), PASSWORD)
    opened = sessions.open_session(ctx, marie.id)

    listed = run(cli, "user", "list", "--advertiser", "maison-lumiere", "--json")
    assert [(u["email"], u["memberships"]) for u in json.loads(listed.stdout)] == [
        ("marie@maison-lumiere.fr", [{"role": "marketer", "advertiser": "maison-lumiere"}])
    ]
    assert len(json.loads(run(cli, "user", "list", "--json").stdout)) == 3

    second = sessions.open_session(ctx, marie.id)
    assert run(cli, "user", "sessions", "revoke", "marie@maison-lumiere.fr").stdout.strip() == (
        "2 sessions ended"
    )
    refused(lambda: sessions.check_session(ctx, second.token), "invalid_session")
    refused(lambda: sessions.check_session(ctx, opened.token), "invalid_session")
    third = sessions.open_session(ctx, marie.id)
    disabled = run(cli, "user", "disable", "MARIE@maison-lumiere.fr")
    assert (
        disabled.stdout.strip() == "marie@maison-lumiere.fr: marketer of maison-lumiere (disabled)"
    )
    refused(lambda: sessions.check_session(ctx, third.token), "invalid_session")
    unknown = run(cli, "user", "disable", "nobody@x.fr", ok=False)
    assert unknown.exit_code == 2 and "tambour user list" in unknown.stderr


# --- open invitations, revoked; an advertiser's admin disabling its own accounts ---------------


def test_open_invitations_are_listed_by_advertiser_and_revoked_for_good(
    ctx: Context, clock: Clock, engine: Engine
) -> None:
    first = users.invite(ctx, email="a@maison-lumiere.fr", role=Role.MARKETER,
                         advertiser="maison-lumiere")  # fmt: skip
    users.invite(ctx, email="b@maison-lumiere.fr", role=Role.VIEWER,
                          advertiser="maison-lumiere", valid_for=timedelta(hours=1))  # fmt: skip
    other = users.invite(ctx, email="c@copie.fr", role=Role.ADMIN, advertiser="copie")
    ops = users.invite(ctx, email="ops2@tambour.fr", role=Role.OPERATOR)
    used = users.invite(ctx, email="d@maison-lumiere.fr", role=Role.VIEWER,
                        advertiser="maison-lumiere")  # fmt: skip
    users.accept_invitation(ctx, used.token, PASSWORD)

    def listed(**scope: Any) -> list[str]:
        return [i.email for i in users.list_invitations(ctx, **scope)]

    assert listed(advertiser="maison-lumiere") == ["a@maison-lumiere.fr", "b@maison-lumiere.fr"]
    assert listed(advertiser="copie") == ["c@copie.fr"]
    assert listed(operators=True) == ["ops2@tambour.fr"]
    assert len(listed()) == 4
    clock.advance(hours=1)  # the second expires
    assert listed(advertiser="maison-lumiere") == ["a@maison-lumiere.fr"]

    # Another advertiser's invitation is not found through this one.
    refused(lambda: users.revoke_invitation(ctx, other.invitation.id, advertiser="maison-lumiere"),
            "invitation_not_found", NotFoundError)  # fmt: skip
    revoked = users.revoke_invitation(ctx, first.invitation.id, advertiser="maison-lumiere")
    assert revoked.expires_at == clock.now and listed(advertiser="maison-lumiere") == []
    refused(lambda: users.accept_invitation(ctx, first.token, PASSWORD), "invitation_expired")
    refused(lambda: users.revoke_invitation(ctx, first.invitation.id), "invitation_expired",
            ConflictError)  # fmt: skip
    refused(lambda: users.revoke_invitation(ctx, used.invitation.id), "invitation_used")
    refused(lambda: users.revoke_invitation(ctx, 999_999), "invitation_not_found")
    users.revoke_invitation(ctx, ops.invitation.id)  # the operator's command line: any
    entries = [d for a, d in audit_details(engine) if a == "user.invitation_revoke"]
    assert entries == [
        {"invitation": first.invitation.id, "email": "a@maison-lumiere.fr", "role": "marketer"},
        {"invitation": ops.invitation.id, "email": "ops2@tambour.fr", "role": "operator"},
    ]
    with engine.connect() as conn:
        owners = (
            conn.execute(
                select(audit_log.c.advertiser_id).where(
                    audit_log.c.action == "user.invitation_revoke"
                )
            )
            .scalars()
            .all()
        )
        assert owners == [_advertiser_id(conn, "maison-lumiere"), None]


def test_an_admin_disables_and_enables_only_its_advertisers_own_accounts(
    ctx: Context, engine: Engine
) -> None:
    admin = member(ctx, "admin@maison-lumiere.fr", Role.ADMIN)
    marie = member(ctx, "marie@maison-lumiere.fr", Role.MARKETER)
    member(ctx, "paul@copie.fr", Role.MARKETER, "copie")
    shared = member(ctx, "agence@exemple.fr", Role.MARKETER)
    made = users.invite(ctx, email="agence@exemple.fr", role=Role.VIEWER, advertiser="copie")
    users.accept_invitation(ctx, made.token, PASSWORD)
    scope = {"advertiser": "maison-lumiere", "acting": admin.email}

    done = users.disable_user(ctx, "Marie@maison-lumiere.fr", **scope)
    assert not done.active
    assert users.enable_user(ctx, marie.email, **scope).active
    refused(lambda: users.disable_user(ctx, "paul@copie.fr", **scope), "user_not_found",
            NotFoundError)  # fmt: skip
    refused(lambda: users.disable_user(ctx, shared.email, **scope), "user_shared", ConflictError)
    refused(lambda: users.disable_user(ctx, admin.email, **scope), "own_account", ConflictError)
    assert users.get_user(ctx, "paul@copie.fr").active and users.get_user(ctx, shared.email).active
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.advertiser_id).where(
                audit_log.c.action.in_(["user.disable", "user.enable"])
            )
        ).all()
        home = _advertiser_id(conn, "maison-lumiere")
    assert [tuple(r) for r in rows] == [("user.disable", home), ("user.enable", home)]


def test_the_invitation_commands(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser("maison-lumiere")
    invited = run(cli, "user", "invite", "marie@maison-lumiere.fr", "--role", "marketer",
                  "--advertiser", "maison-lumiere")  # fmt: skip
    assert invited.stdout.startswith("/invitations/")
    run(cli, "user", "invite", "ops@tambour.fr", "--role", "operator")
    listed = json.loads(run(cli, "user", "invitations", "--json").stdout)
    assert [(i["email"], i["role"], i["advertiser"]) for i in listed] == [
        ("marie@maison-lumiere.fr", "marketer", "maison-lumiere"),
        ("ops@tambour.fr", "operator", None),
    ]
    text = run(cli, "user", "invitations", "--advertiser", "maison-lumiere").stdout
    assert text.startswith(f"{listed[0]['id']}: marie@maison-lumiere.fr as marketer of maison")
    ops = json.loads(run(cli, "user", "invitations", "--operators", "--json").stdout)
    assert [i["email"] for i in ops] == ["ops@tambour.fr"]
    done = run(cli, "user", "revoke-invitation", str(listed[0]["id"]))
    assert "revoked" in done.stdout
    again = run(cli, "user", "revoke-invitation", str(listed[0]["id"]), ok=False)
    assert again.exit_code == 2 and "expired" in again.stderr
    unknown = run(cli, "user", "revoke-invitation", "4242", ok=False)
    assert unknown.exit_code == 2 and "tambour user invitations" in unknown.stderr
    assert len(json.loads(run(cli, "user", "invitations", "--json").stdout)) == 1


# --- changing a member's role ------------------------------------------------------------------


def _roles_at(user: User, slug: str) -> list[str]:
    return [m.role.value for m in user.memberships if m.advertiser == slug]


def test_an_admin_changes_a_members_role_and_its_session_sees_it_next(
    ctx: Context, engine: Engine
) -> None:
    admin = member(ctx, "admin@maison-lumiere.fr", Role.ADMIN)
    marie = member(ctx, "marie@maison-lumiere.fr", Role.MARKETER)
    opened = sessions.open_session(ctx, marie.id)
    home = _advertiser_id_of(engine, "maison-lumiere")
    assert can(sessions.check_session(ctx, opened.token).user, Action.WRITE_CAMPAIGNS, home)
    scope = {"advertiser": "maison-lumiere", "acting": admin.email}

    done = users.change_role(ctx, email="Marie@Maison-Lumiere.fr", role=Role.VIEWER, **scope)
    assert _roles_at(done, "maison-lumiere") == ["viewer"]
    # The session lives on, and reads the role afresh: a viewer now.
    seen = sessions.check_session(ctx, opened.token).user
    assert can(seen, Action.READ, home) and not can(seen, Action.WRITE_CAMPAIGNS, home)
    # The same role again changes nothing, and is not audited twice.
    users.change_role(ctx, email=marie.email, role=Role.VIEWER, **scope)
    promoted = users.change_role(ctx, email=marie.email, role=Role.ADMIN, **scope)
    assert _roles_at(promoted, "maison-lumiere") == ["admin"]
    entries = [(a, d) for a, d in audit_details(engine) if a == "user.role_change"]
    assert [d for _, d in entries] == [
        {"user": marie.id, "email": marie.email, "from": ["marketer"], "role": "viewer"},
        {"user": marie.id, "email": marie.email, "from": ["viewer"], "role": "admin"},
    ]
    with engine.connect() as conn:
        owners = set(
            conn.execute(
                select(audit_log.c.advertiser_id).where(audit_log.c.action == "user.role_change")
            ).scalars()
        )
    assert owners == {home}


def test_a_role_change_is_refused_for_oneself_the_last_admin_and_a_stranger(
    ctx: Context,
) -> None:
    admin = member(ctx, "admin@maison-lumiere.fr", Role.ADMIN)
    marie = member(ctx, "marie@maison-lumiere.fr", Role.MARKETER)
    paul = member(ctx, "paul@copie.fr", Role.MARKETER, "copie")
    scope = {"advertiser": "maison-lumiere", "acting": admin.email}
    refused(lambda: users.change_role(ctx, email=admin.email, role=Role.VIEWER, **scope),
            "own_role", ConflictError)  # fmt: skip
    refused(lambda: users.change_role(ctx, email=paul.email, role=Role.VIEWER, **scope),
            "user_not_found", NotFoundError)  # fmt: skip
    refused(lambda: users.change_role(ctx, email=marie.email, role=Role.OPERATOR, **scope),
            "invalid_role", InvalidInputError)  # fmt: skip
    # The operator (no `acting`) cannot take the advertiser's only admin away either.
    refused(lambda: users.change_role(ctx, email=admin.email, advertiser="maison-lumiere",
                                      role=Role.MARKETER), "last_admin", ConflictError)  # fmt: skip
    # A second admin, enabled, lets the first step down; a disabled one does not count.
    users.change_role(ctx, email=marie.email, role=Role.ADMIN, **scope)
    users.disable_user(ctx, marie.email)
    refused(lambda: users.change_role(ctx, email=admin.email, advertiser="maison-lumiere",
                                      role=Role.VIEWER), "last_admin", ConflictError)  # fmt: skip
    users.enable_user(ctx, marie.email)
    done = users.change_role(ctx, email=admin.email, advertiser="maison-lumiere", role=Role.VIEWER)
    assert _roles_at(done, "maison-lumiere") == ["viewer"]
    assert _roles_at(users.get_user(ctx, paul.email), "copie") == ["marketer"]  # untouched


def test_the_role_command(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser("maison-lumiere")
    ctx = Context(engine=engine, actor="test:users")
    member(ctx, "admin@maison-lumiere.fr", Role.ADMIN)
    member(ctx, "marie@maison-lumiere.fr", Role.MARKETER)
    done = run(cli, "user", "role", "marie@maison-lumiere.fr", "--advertiser", "maison-lumiere",
               "--role", "Viewer")  # fmt: skip
    assert done.stdout.strip() == "marie@maison-lumiere.fr: viewer of maison-lumiere"
    as_json = run(cli, "user", "role", "marie@maison-lumiere.fr", "--advertiser",
                  "maison-lumiere", "--role", "admin", "--json")  # fmt: skip
    assert json.loads(as_json.stdout)["memberships"] == [
        {"role": "admin", "advertiser": "maison-lumiere"}
    ]
    bad = run(cli, "user", "role", "marie@maison-lumiere.fr", "--advertiser", "maison-lumiere",
              "--role", "operator", ok=False)  # fmt: skip
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --role:")
    run(cli, "user", "role", "marie@maison-lumiere.fr", "--advertiser", "maison-lumiere",
        "--role", "marketer")  # fmt: skip
    last = run(cli, "user", "role", "admin@maison-lumiere.fr", "--advertiser", "maison-lumiere",
               "--role", "viewer", ok=False)  # fmt: skip
    assert last.exit_code == 2 and "no enabled admin" in last.stderr
    unknown = run(cli, "user", "role", "nobody@x.fr", "--advertiser", "maison-lumiere",
                  "--role", "viewer", ok=False)  # fmt: skip
    assert unknown.exit_code == 2 and "tambour user list" in unknown.stderr
    with engine.connect() as conn:
        changes = conn.execute(
            select(audit_log.c.details).where(audit_log.c.action == "user.role_change")
        ).scalars()
        said = [json.loads(details)["role"] for details in changes]
    assert said == ["viewer", "admin", "marketer"]  # the refusals recorded nothing


def _advertiser_id_of(engine: Engine, slug: str) -> int:
    with engine.connect() as conn:
        return _advertiser_id(conn, slug)
