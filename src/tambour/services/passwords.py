"""Passwords and second factors of the web app's users (services/users.py): what a password must
be, its Argon2id hash (pwdlib), and TOTP codes (pyotp, RFC 6238: 30-second steps, 6 digits).

A password has 12 characters at least (the CNIL's recommendation for a password alone, with
login throttling), 1,024 at most (a longer one would only cost the hash), no control character,
and is neither one of the most common passwords nor the account's e-mail address. Each refusal
has a code and English words (each entry point words it for its own users).

A TOTP code is accepted within one step of the server's clock (90 seconds in all), never twice:
the caller keeps the step of the last code accepted and gives it back (`last_step`).
"""

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import pyotp
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from tambour.rules.template import control_character
from tambour.services.context import InvalidInputError

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 1024
TOTP_ISSUER: Final = "Tambour"
TOTP_WINDOW: Final = 1  # steps of 30 seconds either side of the server's clock

# Argon2id with the argon2-cffi defaults (RFC 9106's second choice: 64 MiB, 3 passes, 4 lanes).
HASHER: PasswordHash = PasswordHash((Argon2Hasher(),))

# Among the most used passwords of 12 characters or more (lists of leaked passwords, French
# ones included), compared case-folded: a short list, but the one an attacker tries first.
COMMON: Final = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "123456789123",
        "1234567891011",
        "qwertyuiopas",
        "azertyuiopqs",
        "azertyuiop123",
        "qwertyuiop123",
        "azertyuiopqsdfghjklm",
        "qwertyuiopasdfghjkl",
        "motdepasse123",
        "motdepasse1234",
        "motdepassemotdepasse",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "iloveyou1234",
        "jetaime123456",
        "soleil123456",
        "bonjour123456",
        "administrator",
        "administrateur",
        "changeme1234",
        "welcome12345",
        "letmein12345",
        "football1234",
        "marseille13013",
        "000000000000",
        "111111111111",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "abcdef123456",
        "abc123456789",
        "tambour123456",
        "tambourtambour",
    }
)


def check_password(password: str, *, email: str, field: str = "password") -> None:
    """InvalidInputError (on `field`) when `password` is not one to accept."""
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(
            field, "password_too_short", f"a password has at least {MIN_LENGTH} characters"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(
            field, "password_too_long", f"a password has at most {MAX_LENGTH} characters"
        )
    if control_character(password):
        raise InvalidInputError(
            field, "password_control_character", "a password holds no control character"
        )
    folded = password.casefold()
    if folded in COMMON or _repeats(folded):
        raise InvalidInputError(
            field,
            "password_too_common",
            "this password is among the first ones tried: choose another",
        )
    local = email.casefold().split("@", 1)[0]
    if folded in (email.casefold(), local):
        raise InvalidInputError(
            field, "password_is_email", "a password is not the account's e-mail address"
        )


def _repeats(folded: str) -> bool:
    """One character, or one short run of them, repeated ('abcabcabcabc')."""
    return any(
        len(folded) % size == 0 and folded == folded[:size] * (len(folded) // size)
        for size in range(1, 4)
    )


def hash_password(password: str) -> str:
    """The Argon2id hash of `password` ($argon2id$v=19$m=...), salted."""
    return HASHER.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Whether `password` is the one `hashed` was made of. Without a hash (no such account), a
    hash is still checked, so that an unknown address takes as long as a wrong password."""
    if hashed is None:
        HASHER.verify(password, _dummy())
        return False
    return HASHER.verify(password, hashed)


_DUMMY: list[str] = []


def _dummy() -> str:
    if not _DUMMY:
        _DUMMY.append(HASHER.hash("not a password of anyone"))
    return _DUMMY[0]


# --- TOTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TotpMatch:
    step: int  # the time step the code was made for


def new_totp_secret() -> bytes:
    """A new TOTP secret: 20 random bytes (160 bits, RFC 4226's recommendation)."""
    return secrets.token_bytes(20)


def totp_text(secret: bytes) -> str:
    """The secret as an authenticator app takes it typed: base 32, no padding."""
    return base64.b32encode(secret).decode().rstrip("=")


def totp_uri(secret: bytes, email: str) -> str:
    """The otpauth:// URI of a QR code for an authenticator app."""
    return pyotp.TOTP(totp_text(secret)).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def match_totp(secret: bytes, code: str, at: datetime, last_step: int | None) -> TotpMatch | None:
    """The step `code` was made for, within one step of `at` and after `last_step`; None if
    it matches none of them (a code already used included)."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(totp_text(secret))
    current = totp.timecode(at)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return TotpMatch(step)
    return None
