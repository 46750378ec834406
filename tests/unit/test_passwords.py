"""Passwords and TOTP codes of the web app's users (services/passwords.py), without a database:
the production hash is Argon2id with its parameters, the policy refuses by code, and a TOTP
code computed by pyotp is accepted within one step of the clock and never twice."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from tambour.services import passwords
from tambour.services.context import InvalidInputError

AT = datetime(2027, 3, 23, 9, 0, 10, tzinfo=UTC)


def test_the_production_hash_is_argon2id_with_rfc_9106_parameters() -> None:
    hashed = passwords.hash_password("lumière du printemps 2027")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password("lumière du printemps 2027", hashed)
    assert not passwords.verify_password("lumière du printemps 2026", hashed)
    assert passwords.hash_password("lumière du printemps 2027") != hashed  # salted
    assert not passwords.verify_password("lumière du printemps 2027", None)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("onze chiffr", "password_too_short"),
        ("é" * 1025, "password_too_long"),
        ("MOTDEPASSE123", "password_too_common"),
        ("zzzzzzzzzzzzzz", "password_too_common"),
        ("ababababababab", "password_too_common"),
        ("jean.martin.dupont@exemple.fr", "password_is_email"),
        ("JEAN.MARTIN.DUPONT", "password_is_email"),
        ("retour\nà la ligne", "password_control_character"),
    ],
)
def test_refused_passwords(password: str, code: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        passwords.check_password(password, email="jean.martin.dupont@exemple.fr", field="new")
    assert (caught.value.code, caught.value.field) == (code, "new")


@pytest.mark.parametrize(
    "password", ["douze signes", "Jean.Martin@exemple.fr 2027", "abcdéfgh" * 128]
)
def test_accepted_passwords(password: str) -> None:
    passwords.check_password(password, email="jean.martin@exemple.fr")


def test_a_totp_code_is_good_within_one_step_and_once() -> None:
    secret = passwords.new_totp_secret()
    assert len(secret) == 20
    app = pyotp.TOTP(passwords.totp_text(secret))  # what an authenticator app is given
    step = app.timecode(AT)
    now = passwords.match_totp(secret, app.at(AT), AT, None)
    assert now is not None and now.step == step
    assert passwords.match_totp(secret, app.at(AT), AT, last_step=step) is None  # used
    before = app.at(AT - timedelta(seconds=30))
    after = app.at(AT + timedelta(seconds=30))
    assert passwords.match_totp(secret, before, AT, None) == passwords.TotpMatch(step - 1)
    assert passwords.match_totp(secret, after, AT, step) == passwords.TotpMatch(step + 1)
    for far in (AT - timedelta(seconds=60), AT + timedelta(seconds=60)):
        assert passwords.match_totp(secret, app.at(far), AT, None) is None
    spaced = app.at(AT)[:3] + " " + app.at(AT)[3:]
    assert passwords.match_totp(secret, spaced, AT, None) is not None
    for junk in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert passwords.match_totp(secret, junk, AT, None) is None


def test_the_otpauth_uri_names_tambour_and_the_account() -> None:
    secret = bytes(range(20))
    uri = passwords.totp_uri(secret, "ops@tambour.fr")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == passwords.totp_text(secret) and parsed.issuer == "Tambour"
    assert parsed.name == "ops@tambour.fr"
