"""Types every schema shares: instants in ISO 8601 with their offset, texts without control
characters (invisible, and a NUL the database refuses), pages of a list."""

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

# UTC, written with its offset (+00:00) rather than pydantic's Z.
Instant = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# No C0 or C1 control, DEL, nor line or paragraph separator.
_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"


def text(min_length: int = 0, max_length: int = 200) -> Any:
    """A text of people: no control character, within these lengths."""
    return Field(min_length=min_length, max_length=max_length, pattern=_PRINTABLE)


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next: str | None = Field(
        description="The next page's URL (also in the Link header); null on the last page."
    )
