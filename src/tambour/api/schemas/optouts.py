"""Opt-outs, as the API takes and shows them (the number is never shown back: its suppression
hash is)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant, text
from tambour.rules.codes import OptOutSource
from tambour.services.optouts import OptedOut, OptOutStatus


class OptOutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, text(1, 40), Field(examples=["+33612345678", "06 12 34 56 78"])]
    source: OptOutSource = Field(
        default=OptOutSource.MANUAL,
        description="How the person opposed: manual (a call, a letter), link, sms_stop, "
        "complaint_33700, data_request.",
    )


class OptOut(BaseModel):
    phone_hash: str = Field(description="The start of the number's suppression hash.")
    source: OptOutSource
    known_contact: bool = Field(
        description="A contact of the advertiser: its evidence has the opt-out too. "
        "Suppressed all the same when it is not."
    )

    @classmethod
    def of(cls, done: OptedOut) -> "OptOut":
        return cls(
            phone_hash=done.phone_hash,
            source=OptOutSource(done.source),
            known_contact=done.known_contact,
        )


class OptOutCheck(BaseModel):
    phone_hash: str = Field(description="The start of the number's suppression hash.")
    opted_out: bool = Field(
        description="On the advertiser's suppression list: no marketing message goes to it "
        "(unless a later consent outweighs a plain opt-out; never a 33700 complaint)."
    )
    source: OptOutSource | None = Field(description="How the latest opposition was made.")
    since: Instant | None = Field(description="When the latest opposition was made.")
    recorded_at: Instant | None = Field(description="When it was recorded here.")

    @classmethod
    def of(cls, status: OptOutStatus) -> "OptOutCheck":
        return cls(
            phone_hash=status.phone_hash,
            opted_out=status.opted_out,
            source=None if status.source is None else OptOutSource(status.source),
            since=status.since,
            recorded_at=status.recorded_at,
        )
