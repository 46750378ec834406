"""rules.md section 6: what a reply from a person means (a STOP, a START, or anything else),
which advertisers it concerns, and the confirmation a STOP may get.

The text is normalized as rules.md says: case and accents folded (tambour.rules.fold), then
punctuation and spaces removed, so "Stop !", "S.T.O.P", "stop sms" and "ＳＴＯＰ" all read `stop`.
It is a STOP when it is or starts with one of the words of rules.md: STOP (which covers STOP SMS),
ARRET, DESABONNER, DESINSCRIRE, UNSUBSCRIBE. Two stems are read a little wider, on the safe side
of the law (an opt-out wrongly recorded costs a contact; one missed is an unlawful message):
"desabonn" and "desinscri" also catch "désabonnement", "désabonnez-moi" and "désinscription".

START is a new consent, so it must be unambiguous: the whole normalized text is `start`. A text
that starts with a STOP word is a STOP whatever follows ("STOP START" is a STOP).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tambour.rules.facts import is_legal_form
from tambour.rules.fold import fold
from tambour.sms.text import count_text

STOP_PREFIXES: Final = ("stop", "arret", "desabonn", "desinscri", "unsubscribe")
START_WORD: Final = "start"
_NOT_ALNUM: Final = re.compile(r"[\W_]+")
_NOT_DIGIT: Final = re.compile(r"\D+")


class ReplyKind(StrEnum):
    STOP = "stop"
    START = "start"
    OTHER = "other"


def normalize_reply(text: str) -> str:
    """Case, accents, punctuation and spaces folded: 'Arrêt, SVP !' -> 'arretsvp'."""
    return _NOT_ALNUM.sub("", fold(text))


def classify_reply(text: str) -> ReplyKind:
    normalized = normalize_reply(text)
    if normalized.startswith(STOP_PREFIXES):
        return ReplyKind.STOP
    if normalized == START_WORD:
        return ReplyKind.START
    return ReplyKind.OTHER


# --- routing: who a reply concerns ---------------------------------------------------------------


def short_digits(number: str) -> str:
    """A short number as compared with the advertisers' STOP numbers: its digits only."""
    return _NOT_DIGIT.sub("", number)


@dataclass(frozen=True, slots=True)
class Routing:
    """What the database says about a batch's numbers, for routing its replies."""

    owners: Mapping[str, tuple[int, ...]]  # short number (digits) -> advertisers it is STOP of
    messaged: frozenset[tuple[int, str]]  # (advertiser id, E.164) of numbers messaged

    def stop_targets(self, short_number: str, e164: str) -> tuple[int, ...]:
        """The advertisers a STOP (or any reply) to `short_number` from `e164` concerns."""
        owners = self.owners.get(short_digits(short_number), ())
        if owners:
            messaged = tuple(a for a in owners if (a, e164) in self.messaged)
            return messaged or owners
        return tuple(sorted({a for a, number in self.messaged if number == e164}))

    def start_target(self, short_number: str, e164: str) -> int | None:
        """The one advertiser a START concerns, or None when it is not certain which."""
        owners = self.owners.get(short_digits(short_number), ())
        messaged = [a for a in owners if (a, e164) in self.messaged]
        candidates = messaged or owners
        return candidates[0] if len(candidates) == 1 else None


# --- the STOP confirmation -----------------------------------------------------------------------


def _without_legal_form(name: str) -> str:
    """The name as written, without its trailing legal form (never emptied)."""
    words = name.split()
    while len(words) > 1 and is_legal_form(words[-1]):
        words.pop()
    return " ".join(words)


def _enumerate(names: Sequence[str]) -> str:
    """'A', 'A et B', 'A, B et C'."""
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " et " + names[-1]


def confirmation_text(names: Sequence[str]) -> str:
    """The STOP confirmation naming the advertisers, without promotion: one GSM-7 segment when
    the names allow it (legal forms dropped if that is what it takes), else the full names."""
    unique = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    texts = [
        f"Vous ne recevrez plus de SMS de {_enumerate(variant)}."
        for variant in (unique, list(dict.fromkeys(_without_legal_form(n) for n in unique)))
    ]
    for text in texts:
        counted = count_text(text)
        if counted.encoding == "GSM-7" and counted.segments == 1:
            return text
    return min(texts, key=lambda t: (count_text(t).segments, texts.index(t)))
