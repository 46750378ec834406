"""What use cases return, as JSON data: the frozen records they hand back turned into dicts,
lists and strings, every instant in ISO 8601 with its offset. The CLI's `--json` prints it;
an API's schemas may read the records themselves."""

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime, tzinfo
from enum import Enum
from typing import Any


def as_json(value: Any, *, zone: tzinfo | None = None) -> Any:
    """`value` as JSON data: a record by its `as_dict` when it has one, else by its fields;
    instants in ISO 8601 (in `zone` when given), enums by their value, tuples as lists."""
    if isinstance(value, datetime):
        return (value if zone is None else value.astimezone(zone)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return fields_json(value, zone=zone)
    if isinstance(value, Mapping):
        return {key: as_json(item, zone=zone) for key, item in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [as_json(item, zone=zone) for item in value]
    return value


def fields_json(record: Any, *, zone: tzinfo | None = None) -> dict[str, Any]:
    """A dataclass record's fields, in their order, as JSON data."""
    return {f.name: as_json(getattr(record, f.name), zone=zone) for f in fields(record)}


class View:
    """A frozen record a use case returns, shown as JSON by its fields in their order (a
    record whose JSON differs defines its own `as_dict`)."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        return fields_json(self)
