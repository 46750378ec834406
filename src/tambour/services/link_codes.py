"""The codes in the links of messages: a link's id through a keyed permutation of the 62^7
seven-character codes, so codes are unique (a permutation) without an index on them, and
neither guessable nor derivable from one another (the key is the installation's, outside the
database; without it, neighbouring ids give unrelated codes). An opt-out token adds three
characters of keyed check to its code: guessing one takes about 62^10 / (links issued) tries.

Why not random codes: a unique index and a retry on collision inside a plan's bulk insert;
the permutation needs neither, and a code is read back to its id by the inverse, then one
primary-key look-up. The permutation is a balanced Feistel network (6 rounds, keyed BLAKE2b)
on 42 bits, walked in cycles until it lands below 62^7.

The key is kept across a rotation (services/keyring.py): links already sent keep working.
"""

import hmac
from hashlib import blake2b
from typing import Final

from tambour.keys import Keys
from tambour.rules.links import CODE_LENGTH, TOKEN_LENGTH

LINK_PURPOSE: Final = "links"
ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SPACE: Final = 62**CODE_LENGTH  # how many codes there are
_INDEX: Final = {c: i for i, c in enumerate(ALPHABET)}
_HALF: Final = 21  # bits of each half: 2^42 > 62^7
_MASK: Final = (1 << _HALF) - 1
_ROUNDS: Final = 6
_CHECK: Final = TOKEN_LENGTH - CODE_LENGTH


class LinkCodes:
    """Codes and tokens under one key (made once per process: `for_keys`)."""

    __slots__ = ("_check_key", "_form_key", "_rounds")

    def __init__(self, key: bytes) -> None:
        # Keyed hashers made once and copied for each round (a keyed start costs twice more).
        self._rounds = tuple(
            blake2b(key=hmac.digest(key, b"round" + bytes([r]), "sha256"), digest_size=4)
            for r in range(_ROUNDS)
        )
        self._check_key = hmac.digest(key, b"check", "sha256")
        self._form_key = hmac.digest(key, b"form", "sha256")

    @classmethod
    def for_keys(cls, keys: Keys) -> "LinkCodes":
        return cls(keys.derive(LINK_PURPOSE))

    def _round(self, r: int, half: int) -> int:
        hasher = self._rounds[r].copy()
        hasher.update(half.to_bytes(3, "big"))
        return int.from_bytes(hasher.digest(), "big") & _MASK

    def _forward(self, n: int) -> int:
        left, right = n >> _HALF, n & _MASK
        for r in range(_ROUNDS):
            left, right = right, left ^ self._round(r, right)
        return (left << _HALF) | right

    def _backward(self, n: int) -> int:
        left, right = n >> _HALF, n & _MASK
        for r in reversed(range(_ROUNDS)):
            left, right = right ^ self._round(r, left), left
        return (left << _HALF) | right

    def code(self, link_id: int) -> str:
        """The 7-character code of link `link_id` (1 <= id < 62^7)."""
        if not 0 <= link_id < SPACE:
            raise ValueError(f"link id {link_id} out of the code space")
        n = self._forward(link_id)
        while n >= SPACE:  # cycle walking: stays a permutation of [0, SPACE)
            n = self._forward(n)
        return _encode(n)

    def link_id(self, code: str) -> int | None:
        """The id a code stands for, None for what is not a code."""
        if len(code) != CODE_LENGTH:
            return None
        n = _decode(code)
        if n is None:
            return None
        n = self._backward(n)
        while n >= SPACE:
            n = self._backward(n)
        return n

    def _check(self, code: str) -> str:
        digest = hmac.digest(self._check_key, code.encode(), "sha256")
        number = int.from_bytes(digest[:8], "big")
        return "".join(ALPHABET[(number // 62**i) % 62] for i in range(_CHECK))

    def token(self, link_id: int) -> str:
        """The 10-character opt-out token of link `link_id`: its code and a keyed check."""
        code = self.code(link_id)
        return code + self._check(code)

    def token_id(self, token: str) -> int | None:
        """The link id of an opt-out token, None unless its check holds."""
        if len(token) != TOKEN_LENGTH:
            return None
        code, check = token[:CODE_LENGTH], token[CODE_LENGTH:]
        if not all(c in _INDEX for c in token) or not hmac.compare_digest(check, self._check(code)):
            return None
        return self.link_id(code)

    def form_value(self, token: str) -> str:
        """The value the opt-out page's form carries for `token`: its POST must bring it back."""
        return hmac.digest(self._form_key, token.encode(), "sha256")[:16].hex()

    def form_ok(self, token: str, given: str) -> bool:
        return hmac.compare_digest(self.form_value(token), given)


def _encode(n: int) -> str:
    out = []
    for _ in range(CODE_LENGTH):
        n, digit = divmod(n, 62)
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


def _decode(code: str) -> int | None:
    n = 0
    for char in code:
        digit = _INDEX.get(char)
        if digit is None:
            return None
        n = n * 62 + digit
    return n
