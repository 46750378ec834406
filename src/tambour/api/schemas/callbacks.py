"""An HTTP aggregator's delivery callbacks, as `tambour serve` takes them: one JSON object a
callback, a receipt or a reply (dispatch/transports/http_callbacks.py reads what they mean).
Members other than these are ignored: an aggregator may add its own."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

CallbackType = Literal["receipt", "reply"]


class ReceiptCallback(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["receipt"]
    id: Annotated[str, Field(min_length=1, max_length=64, description="The carrier's id.")]
    status: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40,
            description="delivered, failed (undelivered, undeliverable), expired, rejected, "
            "deleted, enroute (sent, queued), accepted, unknown, or an SMPP stat word "
            "(DELIVRD, UNDELIV...).",
        ),
    ]
    error: Annotated[
        StrictInt | Annotated[str, Field(max_length=40)] | None,
        Field(description="The carrier's error code: a number, or decimal or 0x-hex digits."),
    ] = None


class ReplyCallback(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["reply"]
    sender: Annotated[
        str, Field(alias="from", min_length=1, max_length=64, description="Who wrote.")
    ]
    to: Annotated[
        str, Field(min_length=1, max_length=64, description="The short number written to.")
    ]
    text: Annotated[str, Field(max_length=10_000)]


class CallbackAccepted(BaseModel):
    """The answer to a callback recorded (or known already): the aggregator is done with it."""

    ok: Literal[True] = True
    type: CallbackType
