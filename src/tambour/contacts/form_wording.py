"""What a hosted consent form says, as data: its texts in French (required) and English, the
purposes a person may tick (consent forms) or the objection box (B2B and customer-exception
blocks), serialised canonically and hashed. Pure: no database, no clock.

The hash (SHA-256 of the canonical JSON, hex) is what a consent's proof names: the wording of
any version is found again by it, so a data-protection officer shows what the person saw.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

LANGUAGES: Final = ("fr", "en")  # French first: every text has it; English falls back to it
FORMAT: Final = 1  # of the canonical serialisation: part of what is hashed
MAX_TEXT: Final = 2000
MAX_PURPOSES: Final = 6
CHANNELS: Final = ("sms", "mms")  # `sms` consent covers SMS and MMS (rules/basis.py)
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class FormKind(StrEnum):
    CONSENT = "consent"  # B2C: an unticked box per purpose and channel
    B2B = "b2b"  # professionals: the information and an unticked objection box
    CUSTOMER_NOTICE = "customer_notice"  # the customer exception's block, at checkout


Texts = Mapping[str, str]  # language -> text


@dataclass(frozen=True, slots=True)
class Purpose:
    """One box of a consent form: what ticking it agrees to, on which channels."""

    key: str
    channels: tuple[str, ...]
    label: Texts


@dataclass(frozen=True, slots=True)
class Wording:
    kind: FormKind
    title: Texts
    information: Texts  # who collects, for what, how to object or withdraw
    purposes: tuple[Purpose, ...] = ()  # consent forms only
    objection: Texts = field(default_factory=dict)  # b2b and customer_notice only

    def text(self, texts: Texts, lang: str) -> str:
        """A text in `lang`, French when it has none in that language."""
        return texts.get(lang) or texts["fr"]

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "kind": self.kind.value,
            "title": dict(self.title),
            "information": dict(self.information),
        }
        if self.purposes:
            data["purposes"] = [
                {"key": p.key, "channels": list(p.channels), "label": dict(p.label)}
                for p in self.purposes
            ]
        if self.objection:
            data["objection"] = dict(self.objection)
        return data

    def canonical(self) -> str:
        """The one JSON text of this wording (keys sorted, no spaces, UTF-8 as is)."""
        return canonical_json(self.as_data())

    @property
    def hash(self) -> str:
        return wording_hash(self.canonical())


canonical_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def wording_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


class WordingError(ValueError):
    """A wording that cannot be published: `where` says which text, `code` why."""

    def __init__(self, where: str, code: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.code = code
        self.message = message


def _texts(value: Any, where: str, *, required: bool = True) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise WordingError(
            where, "invalid_wording", "give the text by language: {fr: ..., en: ...}"
        )
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise WordingError(where, "invalid_wording", f"languages are fr and en, not {unknown}")
    texts: dict[str, str] = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if text is None:
            continue
        if not isinstance(text, str):
            raise WordingError(f"{where}.{lang}", "invalid_wording", "a text")
        text = " ".join(text.split()) if "\n" not in text else text.strip()
        if len(text) > MAX_TEXT:
            raise WordingError(
                f"{where}.{lang}", "wording_too_long", f"at most {MAX_TEXT} characters"
            )
        if text:
            texts[lang] = text
    if "fr" not in texts and (required or texts):
        raise WordingError(f"{where}.fr", "french_required", "the French text is required")
    return texts


def parse_wording(data: Any) -> Wording:
    """A wording from its data (as `as_data` gives it, `format` optional); WordingError for
    what cannot be shown to a person: a missing French text, a purpose without a channel, a
    consent form without a box or a notice without its objection box."""
    if not isinstance(data, Mapping):
        raise WordingError("wording", "invalid_wording", "an object")
    try:
        kind = FormKind(str(data.get("kind")))
    except ValueError:
        said = ", ".join(k.value for k in FormKind)
        raise WordingError("wording.kind", "invalid_form_kind", f"one of {said}") from None
    title = _texts(data.get("title"), "wording.title")
    information = _texts(data.get("information"), "wording.information")
    purposes: list[Purpose] = []
    raw = data.get("purposes") or []
    if not isinstance(raw, list) or len(raw) > MAX_PURPOSES:
        raise WordingError("wording.purposes", "invalid_wording", f"at most {MAX_PURPOSES} boxes")
    for index, item in enumerate(raw):
        where = f"wording.purposes[{index}]"
        if not isinstance(item, Mapping):
            raise WordingError(where, "invalid_wording", "an object")
        key = item.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise WordingError(f"{where}.key", "invalid_key", "lower-case letters, digits, _")
        if any(p.key == key for p in purposes):
            raise WordingError(f"{where}.key", "duplicate_key", f"{key!r} is given twice")
        channels = item.get("channels")
        if (
            not isinstance(channels, list)
            or not channels
            or any(c not in CHANNELS for c in channels)
        ):
            raise WordingError(f"{where}.channels", "invalid_channel", "sms and/or mms")
        label = _texts(item.get("label"), f"{where}.label")
        purposes.append(Purpose(key, tuple(sorted(set(channels))), label))
    objection = _texts(data.get("objection"), "wording.objection", required=False)
    if kind is FormKind.CONSENT:
        if not purposes:
            raise WordingError("wording.purposes", "no_purpose", "a consent form has a box")
        if objection:
            raise WordingError("wording.objection", "invalid_wording", "not on a consent form")
    else:
        if purposes:
            raise WordingError("wording.purposes", "invalid_wording", "only on a consent form")
        if not objection:
            raise WordingError("wording.objection", "no_objection", "the objection box's text")
    return Wording(kind, title, information, tuple(purposes), objection)


def default_wording(kind: FormKind, advertiser: str) -> Wording:
    """The wording a new form starts with, naming `advertiser` (its legal name)."""
    if kind is FormKind.CONSENT:
        return Wording(
            kind,
            title={"fr": f"Recevoir les offres de {advertiser}", "en": f"Offers from {advertiser}"},
            information={
                "fr": (
                    f"{advertiser} utilise votre numéro de téléphone pour vous envoyer ses "
                    "offres, uniquement si vous cochez une case ci-dessous. Vous pouvez retirer "
                    "votre consentement à tout moment, gratuitement, en répondant STOP à un "
                    "message. Vos données sont conservées trois ans après votre dernier "
                    "contact avec nous."
                ),
                "en": (
                    f"{advertiser} uses your phone number to send you its offers, only if you "
                    "tick a box below. You may withdraw your consent at any time, free of "
                    "charge, by replying STOP to a message. Your data is kept for three years "
                    "after your last contact with us."
                ),
            },
            purposes=(
                Purpose(
                    "sms",
                    ("sms",),
                    {
                        "fr": (
                            "J'accepte que mes informations soient utilisées pour de la "
                            f"prospection commerciale par SMS de la part de {advertiser}."
                        ),
                        "en": (
                            "I agree that my details be used for marketing by SMS from "
                            f"{advertiser}."
                        ),
                    },
                ),
                Purpose(
                    "mms",
                    ("mms",),
                    {
                        "fr": (
                            "J'accepte que mes informations soient utilisées pour de la "
                            f"prospection commerciale par MMS de la part de {advertiser}."
                        ),
                        "en": (
                            "I agree that my details be used for marketing by MMS from "
                            f"{advertiser}."
                        ),
                    },
                ),
            ),
        )
    professional = kind is FormKind.B2B
    return Wording(
        kind,
        title={
            "fr": f"Vos informations chez {advertiser}",
            "en": f"Your details at {advertiser}",
        },
        information={
            "fr": (
                f"{advertiser} pourra vous adresser par SMS des offres "
                + (
                    "en rapport avec votre activité professionnelle"
                    if professional
                    else "sur des produits analogues à ceux que vous avez achetés"
                )
                + ". Vous pouvez vous y opposer dès maintenant en cochant la case ci-dessous, "
                "ou à tout moment, gratuitement, en répondant STOP à un message."
            ),
            "en": (
                f"{advertiser} may send you offers by SMS "
                + (
                    "related to your profession"
                    if professional
                    else "about products similar to those you bought"
                )
                + ". You may object now by ticking the box below, or at any time, free of "
                "charge, by replying STOP to a message."
            ),
        },
        objection={
            "fr": f"Je m'oppose à recevoir des offres par SMS de la part de {advertiser}.",
            "en": f"I object to receiving offers by SMS from {advertiser}.",
        },
    )
