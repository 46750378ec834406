"""33700 complaints, as the API takes and shows them (services/complaints.py): a number is
taken, never shown back (the start of its keyed hash is)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant
from tambour.api.schemas.common import text as printable
from tambour.services.complaints import ComplaintImport, ComplaintRates, ComplaintReport


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[
        str, printable(1, 40), Field(description="The number that reported (any notation).")
    ]
    sender: Annotated[
        str, printable(1, 16), Field(description="The sender ID or short number it came from.")
    ]
    reported_at: Annotated[
        str,
        printable(1, 40),
        Field(
            description="When it was reported: ISO 8601 (without a zone: Paris), or a date "
            "alone (that whole day).",
            examples=["2026-12-02T08:30:00+01:00", "2026-12-02"],
        ),
    ]
    text: Annotated[str | None, printable(0, 2000)] = Field(
        default=None, description="The message's text, or an excerpt (it picks the message)."
    )


class ReportBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[ReportIn] = Field(min_length=1, max_length=10_000)


class RejectedOut(BaseModel):
    line: int = Field(description="The line of the file, or the report's place in the batch.")
    field: str
    code: str
    reason: str


class PausedOut(BaseModel):
    advertiser: str
    campaign_id: int
    campaign: str
    held: int = Field(description="Queued messages now waiting.")
    complaints: int
    sent: int
    per_1000: float | None
    threshold: float


class ComplaintImportOut(BaseModel):
    origin: str
    received: int = Field(description="Reports read (rejected ones included).")
    recorded: int = Field(description="New reports (matched, unmatched or unattributed).")
    already: int = Field(description="Reports taken in before: counted once.")
    matched: int
    unmatched: int
    unattributed: int
    rejected: list[RejectedOut]
    paused: list[PausedOut] = Field(description="Campaigns this import paused.")

    @classmethod
    def of(cls, done: ComplaintImport) -> "ComplaintImportOut":
        found: dict[str, Any] = {
            name: getattr(done, name)
            for name in cls.model_fields
            if name not in ("rejected", "paused")
        }
        return cls(
            **found,
            rejected=[RejectedOut(**r.as_dict()) for r in done.rejected[:1000]],
            paused=[PausedOut(**p.as_dict()) for p in done.paused],
        )


class ComplaintReportOut(BaseModel):
    id: int
    state: str = Field(description="matched (to a message) or unmatched.")
    reported_at: Instant
    time_given: bool = Field(description="false: a date alone (reported_at its Paris midnight).")
    sender: str
    phone_ref: str = Field(description="The start of the number's keyed hash.")
    excerpt: str | None
    message_id: int | None
    campaign_id: int | None
    campaign: str | None
    origin: str
    received_at: Instant

    @classmethod
    def of(cls, report: ComplaintReport) -> "ComplaintReportOut":
        return cls.model_validate({name: getattr(report, name) for name in cls.model_fields})


class RateOut(BaseModel):
    name: str
    complaints: int
    sent: int = Field(description="Messages sent in the window.")
    per_1000: float | None = Field(description="Complaints per 1,000 messages; null: none sent.")
    campaign_id: int | None = None


class PausedCampaignOut(BaseModel):
    id: int
    name: str
    paused_at: Instant
    held: int


class ComplaintRatesOut(BaseModel):
    slug: str
    at: Instant
    window_days: int
    threshold: float = Field(description="Complaints per 1,000 messages that pause.")
    own_threshold: bool
    min_messages: int
    crossed: bool
    advertiser: RateOut
    campaigns: list[RateOut]
    senders: list[RateOut]
    unmatched: int
    paused: list[PausedCampaignOut]

    @classmethod
    def of(cls, rates: ComplaintRates) -> "ComplaintRatesOut":
        def rate(r: Any) -> RateOut:
            return RateOut(**r.as_dict())

        return cls(
            slug=rates.slug, at=rates.at, window_days=rates.window_days,
            threshold=rates.threshold, own_threshold=rates.own_threshold,
            min_messages=rates.min_messages, crossed=rates.crossed,
            advertiser=rate(rates.advertiser), campaigns=[rate(r) for r in rates.campaigns],
            senders=[rate(r) for r in rates.senders], unmatched=rates.unmatched,
            paused=[
                PausedCampaignOut(id=p.id, name=p.name, paused_at=p.paused_at, held=p.held)
                for p in rates.paused
            ],
        )  # fmt: skip


class Resumed(BaseModel):
    campaign_id: int
    campaign: str
    paused_at: Instant
    requeued: int = Field(description="Messages queued again.")
