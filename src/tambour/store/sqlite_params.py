"""SQLite parameters bound as they are, without the adapter search of Python's sqlite3.

The sqlite3 module adapts every parameter that is not exactly an int, float, str or bytearray:
for None and bytes it looks for an adapter in vain, raising and clearing an AttributeError on
the way. A plan row holds a dozen of them (NULL columns, its profile hash and seal), an
evidence row a few: the search cost a third of their insert. Adapters that hand the value
back take the short way; what is bound, and stored, does not change.
"""

import sqlite3
from typing import Any


def _as_is(value: Any) -> Any:
    return value


def bind_as_is() -> None:
    """Register the adapters (for the whole process, as sqlite3 keeps them; idempotent).
    Called by the bulk writers (plans, imports) before they write."""
    sqlite3.register_adapter(type(None), _as_is)
    sqlite3.register_adapter(bytes, _as_is)
