"""Translations, French first: the gettext catalogs of the package and French conventions for
numbers and dates (Babel).

The catalogs are src/tambour/locale/<language>/LC_MESSAGES/tambour.mo, compiled from the .po
files beside them (`make catalogs` extracts, updates and compiles them with Babel). Message ids
are English, the language of the source; the French catalog (the reference) and the English one
are both complete, and a test checks it. A text is looked up in a language chosen explicitly
(`translator("fr")`) or, for the command line, from the environment as gettext reads it
(LANGUAGE, LC_ALL, LC_MESSAGES, LANG: the first set decides); French when it names neither
language of the catalogs (none given, `C`, `POSIX`, another language).
"""

import gettext
import os
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from babel import Locale

DOMAIN: Final = "tambour"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
LANGUAGES: Final = ("fr", "en")  # the catalogs; the first is the default
DEFAULT_LANGUAGE: Final = "fr"
ENVIRONMENT: Final = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a marker)
    """Marks a text for extraction (pybabel extract) without translating it here."""
    return message


def C_(context: str, message: str) -> str:  # noqa: N802
    """Marks a text with its context (msgctxt) for extraction, without translating it here."""
    del context
    return message


_AT: Final = N_("{date} at {time}")  # a date and a time of day: "7 déc. 2026 à 10:00"


def language_of(tag: str | None) -> str | None:
    """The catalog language a locale name or language tag names (`fr_FR.UTF-8`, `en-GB`,
    `fr`), or None when it names none of them."""
    if not tag:
        return None
    code = tag.strip().replace("-", "_").split(".")[0].split("@")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the environment as gettext chooses it: the first of LANGUAGE, LC_ALL,
    LC_MESSAGES and LANG that is set (LANGUAGE may list several, `de:en:fr`, the first with a
    catalog wins); French when it names no catalog language."""
    env = os.environ if environ is None else environ
    for variable in ENVIRONMENT:
        value = env.get(variable)
        if value:
            for tag in value.split(":"):
                if tag in ("C", "POSIX"):  # gettext stops at C: no translation asked
                    break
                found = language_of(tag)
                if found is not None:
                    return found
            break
    return DEFAULT_LANGUAGE


def resolve(language: str | None) -> str:
    """A catalog language: the one given when there is a catalog for it, else the default
    (French); None means the environment's."""
    if language is None:
        return environment_language()
    return language_of(language) or DEFAULT_LANGUAGE


def translator(language: str | None = None) -> gettext.GNUTranslations:
    """The compiled catalog of `language` (`fr`, `en`, `fr_FR.UTF-8`...; another language gets
    French); None: the environment's language (read at each call)."""
    return _load(resolve(language))


@cache
def _load(language: str) -> gettext.GNUTranslations:
    # fallback=False: a missing catalog is a broken install, said at once, never English
    # shown to a French user in silence.
    found = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language])
    assert isinstance(found, gettext.GNUTranslations)
    return found


def format_decimal(number: float | Decimal | int, language: str | None = None) -> str:
    """A number in the conventions of `language` (French by default when None is given and the
    environment names none): 1 234,5 in French (a narrow no-break space groups the thousands),
    1,234.5 in English."""
    from babel.numbers import format_decimal as babel_decimal  # Babel: only when formatting

    return babel_decimal(number, locale=_locale(resolve(language)))


@cache
def _locale(language: str) -> "Locale":
    """Babel's locale of `language`, parsed once (a parse at each number cost a page showing
    hundreds of them a fifth of its time)."""
    from babel import Locale

    return Locale.parse(language)


def format_datetime(
    instant: datetime, zone: str = "Europe/Paris", language: str | None = None
) -> str:
    """An instant as a reader of `language` reads it, in the time zone `zone` (the recipient's
    where it matters): `7 déc. 2026 à 10:00` in French, `Dec 7, 2026 at 10:00 AM` in English.
    A naive instant is refused: its zone is unknown."""
    if instant.tzinfo is None:
        raise ValueError("a datetime without a time zone cannot be placed in one")
    from babel.dates import format_date, format_time

    lang = resolve(language)
    local = instant.astimezone(ZoneInfo(zone))
    return (
        _load(lang)
        .gettext(_AT)
        .format(
            date=format_date(local.date(), "medium", locale=_locale(lang)),
            time=format_time(local.time(), "short", locale=_locale(lang)),
        )
    )
