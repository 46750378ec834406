"""rules.md section 6: what a reply from a person means (a STOP, a START, or anything else),
which advertisers it concerns, and the confirmation a STOP may get.

**STOP.** The text is read as words: case and accents folded (tambour.rules.fold), split at
spaces, punctuation, emoji, a change from digits to letters ("36111STOP") and from a small to
a capital letter ("MerciSTOP"); letters spelt out one by one are one word ("S.T.O.P",
"s t o p"). A reply is a STOP when, anywhere in it:

- a word starts with STOP, ARRET, DESABO(NNER), DESINSCRI(RE) (also the common "desincri"),
  UNSUBSCRI(BE), or is UNSUB, OPTOUT: "Merci STOP", "stp stop", "STOP!!!", "Stop svp",
  "STOP36111", "arrêtez", "désabonnez-moi", "désinscription", "stoppez", "stoppé";
- or it says an unambiguous refusal (REFUSALS below): "ne plus recevoir", "je ne veux plus",
  "ne m'envoyez plus", "plus de SMS", "pas de pub", "laissez-moi tranquille", "retirez-moi",
  "supprimez mon numéro", "pas intéressé", "c'est du spam", "harcèlement"...

The words are read on the side of the law: when in doubt, the reply opts out. A contact lost by
an opt-out read too widely is the advertiser's loss; a refusal missed makes every later message
to that person unlawful (and the person can always send START). So:

- verbs built on STOP or ARRET are STOPs whatever their form ("stoppé", "arrêté"), also in a
  question ("vous arrêtez quand ?") or negated ("ne stoppez pas"): nobody writes those to a
  marketing sender without meaning the messages;
- "je ne veux plus de pizza" is a STOP: "ne veux plus" is a refusal whatever follows;
- "non stop" with a space is a STOP (it may be "Non, stop"); only the compound written as one
  word, "non-stop" or "nonstop" (and "auto-stop"), is not: it means "without a break";
- typos are not guessed ("stpo", "arre"), nor "j'en veux plus" and "je veux plus de..." (in
  French also "I want more"): those replies are kept for the advertiser to read
  (`tambour replies list`), who marks an opt-out by hand (`tambour replies optout`).

**START** is a new consent, so it must be unambiguous: the whole text, punctuation and spaces
removed, is `start`. A text with a STOP in it is a STOP ("STOP START" is a STOP).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tambour.rules.facts import is_legal_form
from tambour.rules.fold import fold
from tambour.sms.text import count_text

STOP_PREFIXES: Final = ("stop", "arret", "desabo", "desinscri", "desincri", "unsubscri")
STOP_WORDS: Final = frozenset({"unsub", "optout"})
# Words that say the messages are unwanted, read as refusals (see the module docstring).
COMPLAINT_PREFIXES: Final = ("spam", "harcel")
START_WORD: Final = "start"

_VERB_SEND = r"(?:envoy|ecri|contact|appel|sollicit|derang|spamm|harcel|relanc)\w*"
_WANT = r"(?:veux|veut|voulons|voulez|veulent|souhaite|souhaitons|souhaitez|desire|desirons)"
_PRONOUN = r"(?:(?:me|m|nous|te|t|le|la|les|l|en|y) )"
_BOTHERED = r"(?:contacte|sollicite|derange|harcele|appele|relance|spamme)\w*"
_MEDIA = r"(?:sms|mms|textos?|pubs?|publicites?|spams?|newsletters?|messages? publicitaires?)"
_THEIR = (
    r"(?:vos|ces|tes|votre|ce|ses) (?:sms|messages?|textos?|pubs?|publicites?|offres?|promos?"
    r"|promotions?|mails?|relances?)"
)
_NUMBER = r"(?:numero|num|no|tel|telephone|portable|mobile|coordonnees|donnees|contact)s?"
_REMOVE = r"(?:retir|supprim|effac|enlev|ray|radi|ot|desactiv|bloqu)(?:ez|er|e)"
_LIST = r"(?:liste|fichier|base|mailing|repertoire)s?"
# Unambiguous refusals, searched in the folded words joined by single spaces.
REFUSALS: Final = tuple(
    re.compile(r"(?<![a-z0-9])" + pattern + r"(?![a-z0-9])")
    for pattern in (
        r"ne plus",  # ne plus recevoir, merci de ne plus m'écrire
        rf"ne? {_PRONOUN}?{_VERB_SEND} plus",  # ne m'envoyez plus, n'écrivez plus
        rf"ne? {_PRONOUN}?{_WANT} plus",  # je ne veux plus, je n'en veux plus
        rf"{_WANT} (?:pas|plus|jamais|rien) (?:de )?(?:recevoir|etre {_BOTHERED})",
        rf"(?:plus|pas|jamais) (?:de|d) (?:{_MEDIA}|{_THEIR})",  # plus de SMS, pas de vos pubs
        r"plus de messages?",  # "pas de message" is also "no message came": not that one
        r"(?:laisse|laissez|fiche|fichez|fous|foutez) (?:moi |nous |m )?"
        r"(?:tranquilles?|en paix|la paix)",  # laissez-moi tranquille, fichez-moi la paix
        rf"{_REMOVE} (?:moi|nous)",  # retirez-moi, supprimez-moi
        rf"{_REMOVE} (?:mon|ce|le|mes|notre|nos) {_NUMBER}",  # supprimez mon numéro
        rf"{_REMOVE} (?:(?:moi|nous|mon numero|ce numero) )?(?:de|d) (?:la|vos|votre|ces|cette|"
        rf"ce|le|du) ?{_LIST}",  # retirer de votre liste
        r"(?:pas|plus|aucunement|nullement) interess\w*",  # pas intéressé(e)(s)
        r"(?:opt out|remove me|no more (?:sms|texts?|messages?))",
    )
)
_NOT_ALNUM: Final = re.compile(r"[\W_]+")
_NOT_DIGIT: Final = re.compile(r"\D+")
# Small letter then capital: a word boundary the sender left out ("MerciSTOP").
_CASE_CHANGE: Final = re.compile(r"(?<=[a-zß-öø-ÿ])(?=[A-ZÀ-ÖØ-Þ])")
_WORD: Final = re.compile(r"[^\W\d_]+|\d+")
# Compounds in which STOP is no STOP: "non-stop" (without a break), "auto-stop" (hitchhiking).
_STOP_COMPOUND: Final = re.compile(r"(?<![^\W\d_])(non|auto)\s*[-‐‑‒–—]\s*(?=stop)")


class ReplyKind(StrEnum):
    STOP = "stop"
    START = "start"
    OTHER = "other"


def normalize_reply(text: str) -> str:
    """Case, accents, punctuation and spaces folded: 'Arrêt, SVP !' -> 'arretsvp'."""
    return _NOT_ALNUM.sub("", fold(text))


def reply_words(text: str) -> list[str]:
    """The folded words of a reply, as the STOP rules read them: 'MerciSTOP36111 !' ->
    ['merci', 'stop', '36111']; 'non-stop' -> ['nonstop']. Letters spelt out one by one stay
    apart here ('S.T.O.P' -> ['s', 't', 'o', 'p']): see spelt_words."""
    return _WORD.findall(_STOP_COMPOUND.sub(r"\1", fold(_CASE_CHANGE.sub(" ", text))))


def spelt_words(words: Sequence[str]) -> list[str]:
    """The words spelt out letter by letter among `words`: ['s', 't', 'o', 'p', 'svp'] ->
    ['stop']."""
    found: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) > 1:
            found.append("".join(run))
        run = []
    return found


def is_stop(text: str) -> bool:
    """Whether a reply opts out (see the module docstring)."""
    words = reply_words(text)
    for word in (*words, *spelt_words(words)):
        if word.startswith(STOP_PREFIXES) or word in STOP_WORDS:
            return True
        if word.startswith(COMPLAINT_PREFIXES):
            return True
    if normalize_reply(text).startswith(STOP_PREFIXES):  # "S T O Psvp": glued to what follows
        return True
    joined = " ".join(words)
    return any(pattern.search(joined) for pattern in REFUSALS)


def classify_reply(text: str) -> ReplyKind:
    if is_stop(text):
        return ReplyKind.STOP
    if normalize_reply(text) == START_WORD:
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
