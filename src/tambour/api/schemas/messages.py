"""One message, as the API takes it (`POST /api/v1/messages`) and shows it, with why it may be
sent (its basis) and when (its send time, held to the recipient's next window when needed)."""

from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant
from tambour.api.schemas.common import text as printable
from tambour.rules.codes import Nature
from tambour.services.messages import MAX_LABEL, MAX_REFERENCE, Message, MessagePart

MAX_TEXT = 1600  # ten parts of GSM-7: a longer text is blocked anyway (too_many_parts)


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Annotated[str, printable(1, 40), Field(examples=["+33612345678", "06 12 34 56 78"])]
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="The message; `{placeholders}` are filled in from the contact's fields "
        "(`{transaction}`: the transaction's reference). The STOP mention is added when the "
        "nature needs it.",
        examples=["Bonjour {first_name}, -20 % sur les luminaires ce week-end chez Lumio."],
    )
    sender: Annotated[str, printable(1, 16), Field(examples=["LUMIO"])]
    nature: Nature = Field(
        description="commercial, non_commercial, political or transactional: checked against "
        "the text, not taken on trust."
    )
    campaign: Annotated[
        str | None,
        printable(1, MAX_LABEL),
        Field(description="A grouping of your own (shown back, used in filters)."),
    ] = None
    send_at: AwareDatetime | None = Field(
        default=None,
        description="When to send (ISO 8601 with its offset), up to 35 days ahead; default now. "
        "Held to the recipient's next allowed window when it falls outside it.",
    )
    transaction: Annotated[
        str | None,
        printable(1, MAX_REFERENCE),
        Field(description="Transactional: the order, appointment or delivery it answers."),
    ] = None
    categories: list[Annotated[str, printable(1, 100)]] = Field(
        default_factory=list,
        max_length=20,
        description="The products or services it is about (the existing-customer basis).",
    )
    professions: list[Annotated[str, printable(1, 100)]] = Field(
        default_factory=list,
        max_length=20,
        description="B2B: the professions it concerns.",
    )


class Part(BaseModel):
    part: int
    of_parts: int
    carrier: str
    carrier_id: str = Field(description="The carrier's id for the part (its receipt's).")
    submitted_at: Instant | None
    outcome: str | None = Field(description="delivered, failed, expired, unknown; null: none yet.")
    error_code: int | None
    done_at: Instant | None

    @classmethod
    def of(cls, part: MessagePart) -> "Part":
        return cls(
            part=part.part, of_parts=part.of_parts, carrier=part.carrier,
            carrier_id=part.carrier_id, submitted_at=part.submitted_at, outcome=part.outcome,
            error_code=part.error_code, done_at=part.done_at,
        )  # fmt: skip


class MessageOut(BaseModel):
    id: int
    campaign_id: int = Field(description="The campaign of one recipient it is stored as.")
    kind: str = Field(description="message (sent by itself) or campaign (one of a campaign's).")
    campaign: str | None = Field(description="Your grouping, as given.")
    to: str = Field(description="E.164.")
    sender: str
    nature: str
    text: str = Field(description="As sent: personalized, STOP mention included.")
    encoding: str = Field(description="GSM-7 or UCS-2.")
    segments: int
    state: str = Field(
        description="queued, submitting, submitted, delivered, failed, expired, cancelled, "
        "unknown, recorded."
    )
    basis: str = Field(description="The legal basis it is sent on (a stable code).")
    deferral: str | None = Field(
        description="Why send_at is later than asked: quiet_hours, sunday, holiday..."
    )
    send_at: Instant = Field(description="The earliest instant it may leave.")
    send_at_local: str | None = Field(description="send_at in the recipient's own time zone.")
    territory: str | None
    timezone: str | None
    transaction: str | None
    reason: str | None = Field(description="Why it was held, cancelled or expired.")
    error_code: int | None
    carrier: str | None
    created_at: Instant
    submitted_at: Instant | None
    done_at: Instant | None
    parts: list[Part]

    @classmethod
    def of(cls, message: Message) -> "MessageOut":
        local = None
        if message.timezone:
            local = message.send_at.astimezone(ZoneInfo(message.timezone)).isoformat()
        return cls(
            id=message.id, campaign_id=message.campaign_id, kind=message.kind,
            campaign=message.label, to=message.to, sender=message.sender,
            nature=message.nature, text=message.text, encoding=message.encoding,
            segments=message.segments, state=message.state, basis=message.basis,
            deferral=message.deferral, send_at=message.send_at, send_at_local=local,
            territory=message.territory, timezone=message.timezone,
            transaction=message.transaction, reason=message.reason,
            error_code=message.error_code, carrier=message.carrier,
            created_at=message.created_at, submitted_at=message.submitted_at,
            done_at=message.done_at, parts=[Part.of(part) for part in message.parts],
        )  # fmt: skip
