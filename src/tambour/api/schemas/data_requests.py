"""Data requests, as the API takes and shows them (services/data_requests.py): the number is
taken, never shown back (the start of its keyed hash is)."""

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant, text
from tambour.services.data_requests import DataRequest, Means, RequestKind
from tambour.services.erasure import Erased


class DataRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RequestKind = Field(description="access, portability, rectification, erasure, objection.")
    number: Annotated[str, text(1, 40), Field(examples=["+33612345678", "06 12 34 56 78"])]
    requester: Annotated[
        str, text(1, 200), Field(description="Who asked (the person, or who acts for them).")
    ]
    means: Means = Field(default=Means.EMAIL, description="How the request came.")
    received_on: date | None = Field(
        default=None, description="The day it was received (Paris); today when not given."
    )
    note: Annotated[str | None, text(0, 1000)] = None


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, text(1, 500), Field(description="Told to the person.")]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm_erasure: bool = Field(
        default=False, description="Erasure only: true, to say it cannot be undone."
    )
    corrections: dict[Annotated[str, text(1, 64)], Annotated[str | None, text(0, 200)]] | None = (
        Field(
            default=None,
            max_length=50,
            description="Rectification only: field -> its right value (null or empty removes).",
        )
    )


class DataRequestOut(BaseModel):
    id: int
    kind: RequestKind
    phone_ref: str = Field(description="The start of the number's keyed hash.")
    contact_id: int | None
    requester: str
    means: Means
    received_on: date
    due_by: date = Field(description="One month after receipt, or as extended.")
    extended: bool
    extension_reason: str | None
    status: str = Field(description="open, answered or refused.")
    days_left: int | None = Field(description="Open: days until due_by (negative: overdue).")
    overdue: bool
    note: str | None
    answered_at: Instant | None
    answered_by: str | None
    outcome: dict[str, Any] | None
    created_at: Instant
    created_by: str

    @classmethod
    def of(cls, request: DataRequest) -> "DataRequestOut":
        return cls.model_validate({field: getattr(request, field) for field in cls.model_fields})


class AnswerOut(BaseModel):
    request: DataRequestOut
    data: dict[str, Any] | None = Field(
        default=None, description="Access, portability: everything held on the number."
    )
    document: str | None = Field(
        default=None, description="Access, portability: the same, as a printable French page."
    )
    erased: dict[str, Any] | None = Field(
        default=None, description="Erasure: what went, in counts."
    )

    @classmethod
    def of_erasure(cls, request: DataRequest, erased: Erased) -> "AnswerOut":
        return cls(request=DataRequestOut.of(request), erased=erased.as_dict())
