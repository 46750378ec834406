"""Standard Webhooks 1.0 signatures (https://www.standardwebhooks.com/): what the receiver checks.

A secret is 24 to 64 random bytes, shown as `whsec_` + base64. A message is signed over
`{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256; `webhook-signature` holds
`v1,<base64>`, one per secret, space-separated: during a rotation both the new and the old
secret sign, so a receiver that knows either accepts the message. Pure: no clock, no I/O.
(The tests check these signatures with the `standardwebhooks` package, an implementation
independent of this one.)
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Final

PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def shown(secret: bytes) -> str:
    """The secret as a receiver configures it."""
    return PREFIX + base64.b64encode(secret).decode("ascii")


def parsed(text: str) -> bytes:
    """A `whsec_...` secret back to its bytes; ValueError when it is not one."""
    if not text.startswith(PREFIX):
        raise ValueError(f"a webhook secret starts with {PREFIX}")
    try:
        secret = base64.b64decode(text[len(PREFIX) :], validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is base64 after its prefix") from error
    if not 24 <= len(secret) <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return secret


def signature(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature of a message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.digest(secret, signed, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(
    secrets_: Iterable[bytes], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of a signed message, signed with each secret given (current first)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets_
        ),
    }
