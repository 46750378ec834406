"""Comparison keys: categories, professions, tags and names compare ignoring case and accents."""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case, strip accents and squeeze white space: 'Électroménager ' -> 'electromenager'.

    Ligatures are spelled out (œ -> oe) by NFKD plus an explicit table, since NFKD keeps œ.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped).strip()


_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "Œ": "oe", "Æ": "ae"})


_NONE: frozenset[str] = frozenset()


def fold_set(items: Iterable[str]) -> frozenset[str]:
    """The folded, non-empty members of a list of categories, professions or tags."""
    if isinstance(items, list | tuple):  # a contact's lists, read for every contact planned
        if len(items) < 2:  # usually
            folded = fold(items[0]) if items else ""
            return frozenset((folded,)) if folded else _NONE
        return _fold_members(tuple(items))
    return frozenset(f for f in map(fold, items) if f)


@lru_cache(maxsize=4096)  # contacts share a few lists ('vip;newsletter'); sets are immutable
def _fold_members(items: tuple[str, ...]) -> frozenset[str]:
    return frozenset(f for f in map(fold, items) if f)


def split_list(value: str) -> tuple[str, ...]:
    """A `;`-separated list cell (rules.md section 2) as its stripped, non-empty members."""
    if ";" not in value:  # most cells hold one member: skip the split
        single = value.strip()
        return (single,) if single else ()
    return tuple(part.strip() for part in value.split(";") if part.strip())
