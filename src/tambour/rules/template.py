"""Message templates: `{field}` for any contact field, `{field|default}` with a default.

`{stop_link}` is the message's own one-click opt-out link and `{link:https://...}` a short link
to that address, made per message at plan time (rules/links.py); any other `{word:...}` form is
an error. `{{` and `}}` stand for literal braces. A placeholder with no value and no default is
unresolved (rules.md section 5, `unresolved_placeholder`); so is a brace that opens
and never closes.
Field names compare folded: `{Prénom}` finds a `prenom` column.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from tambour.rules.fold import fold

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What a personalized value may not bring into a message: a link (a phishing vector no one
# reviewed) or a STOP mention (a second, perhaps wrong, opt-out instruction).
_LINK = re.compile(
    r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|(?<![\w@.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*"
    r"\.(?:fr|com|net|org|eu|io|ly|me|co|info|biz|shop|store|app|link|site|xyz|be|ch|de)(?![\w-]))"
)
# STOP as a word of its own, in folded text: not inside "non-stop" or "stop-motion".
STOP_WORD = re.compile(r"(?<![\w-])stop(?![\w-])")


def control_character(text: str, allowed: str = "") -> str | None:
    """What is wrong with the first control character of `text` (NUL included), or None.
    Characters of `allowed` (a line break in a message) pass."""
    for match in _CONTROL.finditer(text):
        if match.group() not in allowed:
            return (
                f"a control character (U+{ord(match.group()):04X}) at character {match.start() + 1}"
            )
    return None


@lru_cache(maxsize=8192)
def usable_value(value: str) -> bool:
    """Whether a contact's value may stand in a message: no control character, no link and
    no STOP mention (a value that could smuggle one is treated as absent: the placeholder's
    default applies, or the campaign is blocked for that recipient's missing value)."""
    return not (_CONTROL.search(value) or _LINK.search(value) or STOP_WORD.search(fold(value)))


@lru_cache(maxsize=4096)
def field_key(name: str) -> str:
    """The key a field is looked up by: folded, spaces and dashes as underscores."""
    return re.sub(r"[\s\-]+", "_", fold(name))


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    key: str
    default: str | None


@dataclass(frozen=True, slots=True)
class LinkPart:
    """A link made per message: `stop` (the opt-out link) or `go` (a short link to `target`)."""

    kind: str
    target: str | None = None
    index: int = 0  # where it starts in the source


STOP_LINK = "stop_link"
LINK_PREFIX = "link:"


@dataclass(frozen=True, slots=True)
class TemplateError:
    """A malformed part of the template: what and where (character index)."""

    index: int
    message: str


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[str | Placeholder | LinkPart, ...]
    errors: tuple[TemplateError, ...]
    keys: tuple[str, ...] = ()  # the placeholders' keys, each once
    required: tuple[Placeholder, ...] = ()  # the placeholders without a default, in order

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))

    @property
    def links(self) -> tuple[LinkPart, ...]:
        """The links made per message, in order."""
        return tuple(p for p in self.parts if isinstance(p, LinkPart))

    def usable(self, values: Mapping[str, str]) -> dict[str, str]:
        """The placeholders' values that may stand in a message (`usable_value`)."""
        found: dict[str, str] = {}
        for key in self.keys:
            value = values.get(key)
            if value and usable_value(value):
                found[key] = value
        return found

    def missing(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """Names of placeholders with no value (empty counts as none) and no default."""
        if not self.required:  # every placeholder has a default: asked for every recipient
            return ()
        return tuple(p.name for p in self.required if not values.get(p.key))

    def render(self, values: Mapping[str, str], links: Sequence[str] = ()) -> str:
        """The text for one contact; `values` are keyed by `field_key`, `links` are the
        message's own links in the order of `self.links`. Missing values with no default
        render empty: call `missing` first, a campaign with any is blocked."""
        out: list[str] = []
        made = iter(links)
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, LinkPart):
                out.append(next(made, ""))
            else:
                out.append(values.get(part.key) or part.default or "")
        return "".join(out)


def parse_template(source: str) -> Template:
    parts: list[str | Placeholder | LinkPart] = []
    errors: list[TemplateError] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(source):
        literal.append(source[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if match.group(1) is None:
            errors.append(TemplateError(match.start(), f"unmatched '{token}'"))
            literal.append(token)
            continue
        inside = match.group(1)
        link = _link_part(inside, match.start())
        if isinstance(link, TemplateError):
            errors.append(link)
            continue
        name, bar, default = inside.partition("|")
        name = name.strip()
        if link is None and not name:
            errors.append(TemplateError(match.start(), "empty placeholder '{}'"))
            continue
        if literal:
            parts.append("".join(literal))
            literal = []
        if link is not None:
            parts.append(link)
        else:
            parts.append(Placeholder(name, field_key(name), default if bar else None))
    literal.append(source[pos:])
    if "".join(literal):
        parts.append("".join(literal))
    placeholders = [p for p in parts if isinstance(p, Placeholder)]
    keys = tuple(dict.fromkeys(p.key for p in placeholders))
    required = tuple(p for p in placeholders if p.default is None)
    return Template(source, tuple(parts), tuple(errors), keys, required)


def _link_part(inside: str, index: int) -> LinkPart | TemplateError | None:
    """The link a placeholder's inside names, an error for an unknown `{word:...}` form, or
    None for a contact field."""
    if inside.strip().casefold() == STOP_LINK:
        return LinkPart("stop", None, index)
    head, colon, rest = inside.partition(":")
    if not colon or "|" in head or not head.strip() or " " in head.strip():
        return None
    if head.strip().casefold() == LINK_PREFIX[:-1]:
        return LinkPart("go", rest.strip(), index)
    return TemplateError(
        index,
        f"unknown placeholder form '{{{inside}}}': write {{field}}, {{field|default}}, "
        "{stop_link} or {link:https://...}",
    )
