"""rules.md section 6: what a reply from a person means, a STOP, a START, or anything else.

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
from enum import StrEnum
from typing import Final

from tambour.rules.fold import fold

STOP_PREFIXES: Final = ("stop", "arret", "desabonn", "desinscri", "unsubscribe")
START_WORD: Final = "start"
_NOT_ALNUM: Final = re.compile(r"[\W_]+")


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
