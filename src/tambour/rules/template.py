"""Message templates: `{field}` for any contact field, `{field|default}` with a default.

`{{` and `}}` stand for literal braces. A placeholder with no value and no default is unresolved
(rules.md section 5, `unresolved_placeholder`); so is a brace that opens and never closes.
Field names compare folded: `{Prénom}` finds a `prenom` column.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from tambour.rules.fold import fold

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


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
class TemplateError:
    """A malformed part of the template: what and where (character index)."""

    index: int
    message: str


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[str | Placeholder, ...]
    errors: tuple[TemplateError, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))

    def missing(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """Names of placeholders with no value (empty counts as none) and no default."""
        return tuple(
            p.name for p in self.placeholders if p.default is None and not values.get(p.key)
        )

    def render(self, values: Mapping[str, str]) -> str:
        """The text for one contact; `values` are keyed by `field_key`. Missing values with no
        default render empty: call `missing` first, a campaign with any is blocked."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(values.get(part.key) or part.default or "")
        return "".join(out)


def parse_template(source: str) -> Template:
    parts: list[str | Placeholder] = []
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
        name, bar, default = match.group(1).partition("|")
        name = name.strip()
        if not name:
            errors.append(TemplateError(match.start(), "empty placeholder '{}'"))
            continue
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(Placeholder(name, field_key(name), default if bar else None))
    literal.append(source[pos:])
    if "".join(literal):
        parts.append("".join(literal))
    return Template(source, tuple(parts), tuple(errors))
