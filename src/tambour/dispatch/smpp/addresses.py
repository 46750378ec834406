"""Senders and recipients as SMPP addresses (type of number, numbering plan indicator).

- An alphanumeric sender (a brand, with at least one letter): TON 5 (alphanumeric), NPI 0.
- A short number (digits, at most 8: the French 3xxxx to 8xxxx): TON 3 (network specific),
  NPI 0 by default; carriers differ, so both are settings.
- A full number, `+33…` or a national notation: TON 1 (international), NPI 1 (E.164), digits
  without the plus. Recipients are always that.
"""

import re
from functools import lru_cache
from typing import Final

from tambour.dispatch.smpp.pdu import Address
from tambour.sms.phone import parse_phone

TON_UNKNOWN: Final = 0
TON_INTERNATIONAL: Final = 1
TON_NATIONAL: Final = 2
TON_NETWORK_SPECIFIC: Final = 3
TON_ALPHANUMERIC: Final = 5
NPI_UNKNOWN: Final = 0
NPI_E164: Final = 1

MAX_ALPHANUMERIC: Final = 11
MAX_SHORT_NUMBER: Final = 8
_ALPHANUMERIC: Final = re.compile(r"[A-Za-z0-9 ]{1,11}")


class AddressError(ValueError):
    """A sender or recipient that cannot be written as an SMPP address."""


@lru_cache(maxsize=256)  # a campaign's every message has the same: asked once a message
def sender_address(
    sender: str, short_ton: int = TON_NETWORK_SPECIFIC, short_npi: int = NPI_UNKNOWN
) -> Address:
    """The source address of a message sent as `sender`."""
    stripped = sender.strip()
    if stripped.isdigit() and len(stripped) <= MAX_SHORT_NUMBER:
        return Address(short_ton, short_npi, stripped)
    if any(c.isalpha() for c in stripped):
        if not _ALPHANUMERIC.fullmatch(stripped):
            raise AddressError(
                f"an alphanumeric sender has 1 to {MAX_ALPHANUMERIC} ASCII letters, digits "
                f"or spaces ({len(stripped)} characters given)"
            )
        return Address(TON_ALPHANUMERIC, NPI_UNKNOWN, stripped)
    return _international(stripped, "sender")


def recipient_address(number: str) -> Address:
    """The destination address of `number` (E.164 or any notation parse_phone reads)."""
    return _international(number, "recipient")


def _international(number: str, role: str) -> Address:
    if number.startswith("+") and number[1:].isdigit() and len(number) <= 16:
        return Address(TON_INTERNATIONAL, NPI_E164, number[1:])
    e164 = parse_phone(number).e164
    if e164 is None:
        raise AddressError(f"the {role} is not a phone number")
    return Address(TON_INTERNATIONAL, NPI_E164, e164[1:])


def address_e164(address: Address) -> str | None:
    """The E.164 number an MO reply came from, or None when the address is not a phone number
    (an alphanumeric or a short code)."""
    digits = address.address.lstrip("+")
    if not digits.isdigit():
        return None
    if address.ton == TON_INTERNATIONAL or address.address.startswith("+"):
        return parse_phone("+" + digits).e164
    if len(digits) <= MAX_SHORT_NUMBER:
        return None
    return parse_phone(digits).e164
