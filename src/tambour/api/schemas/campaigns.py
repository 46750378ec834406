"""Campaigns, their plans and what launching or cancelling one did, as the API shows and takes
them. Codes (reasons, bases, blocks) come with their French label (rules/labels.py)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant, Page, text
from tambour.jobs.kinds.campaign_export import ExportForm
from tambour.rules.ab_tests import WinnerBy
from tambour.rules.codes import Channel, Nature
from tambour.rules.content import ContentCheck
from tambour.rules.labels import label
from tambour.services import ab_tests, campaign_edit, campaigns, plan_reads
from tambour.store.tables import OUTBOX_STATES

CampaignState = Literal["draft", "planned", "launched", "paused", "finished", "cancelled"]
Decision = Literal["send", "exclude"]
FIRST_YEAR, LAST_YEAR = 2000, 2999


def _plausible(value: datetime) -> datetime:
    """An instant a campaign may name: in UTC, within years a calendar can compute with."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise ValueError(f"the year is {FIRST_YEAR} to {LAST_YEAR}")
    return utc


When = Annotated[
    AwareDatetime,
    AfterValidator(_plausible),
    Field(description="ISO 8601 with its offset (2027-03-23T10:00:00+01:00)."),
]
Name = Annotated[str, text(1, 200)]
SenderId = Annotated[
    str, text(1, 16), Field(description="One of the advertiser's sender IDs, or its short number.")
]
# A message may hold line breaks; no other control character.
MessageText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        pattern=r"^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]*$",
        description="The message; {field} or {field|default} for any contact field.",
        examples=["Maison Lumière : -20% sur nos luminaires à {ville|votre boutique} !"],
    ),
]
Labels = Annotated[list[Annotated[str, text(1, 100)]], Field(max_length=100)]
TransactionField = Annotated[
    str,
    text(1, 64),
    Field(description="Transactional: the contact field holding each recipient's transaction."),
]


class ABTestIn(BaseModel):
    """An A/B test: the campaign's `text` is variant A; these are B, C, D."""

    model_config = ConfigDict(extra="forbid")

    variants: list[MessageText] = Field(
        min_length=1, max_length=3, description="The texts of variants B, C and D, in order."
    )
    test_share: int | None = Field(
        default=None, description="Percent of the audience tested (1 to 100; default 20)."
    )
    winner_by: WinnerBy | None = Field(
        default=None,
        description="clicks (most people following the short link) or optouts (fewest "
        "opt-outs); default clicks when the text has a short link.",
    )
    test_minutes: int | None = Field(
        default=None,
        description="How long the test lasts once its first message is due (default 240), "
        "before the rest of the audience gets the winner.",
    )

    def given(self) -> dict[str, Any]:
        return {
            "variants": self.variants,
            "test_share": self.test_share,
            "winner_by": self.winner_by and self.winner_by.value,
            "test_minutes": self.test_minutes,
        }


class ABTestOut(BaseModel):
    variants: list[str] = Field(description="The texts of variants B, C, D.")
    test_share: int
    winner_by: WinnerBy
    test_minutes: int
    test_ends_at: Instant | None = Field(description="Set at launch.")
    winner: str | None = Field(description="The winning variant, once chosen (A to D).")
    winner_at: Instant | None

    @classmethod
    def of(cls, c: campaigns.Campaign) -> "ABTestOut | None":
        if c.ab is None:
            return None
        return cls(
            variants=list(c.ab.variants), test_share=c.ab.share, winner_by=c.ab.winner_by,
            test_minutes=c.ab.minutes, test_ends_at=c.test_ends_at, winner=c.winner,
            winner_at=c.winner_at,
        )  # fmt: skip


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="Unique among the advertiser's campaigns.")
    nature: Nature
    channel: Channel = Channel.SMS
    sender: SenderId
    text: MessageText
    categories: Labels = Field(default=[], description="The product categories promoted.")
    professions: Labels = Field(default=[], description="The professions aimed at (B2B).")
    tags: Labels = Field(
        default=[], description="The audience: contacts with any of these tags; [] for all."
    )
    start: When | None = Field(default=None, description="null: as soon as planned.")
    send_by: When | None = Field(default=None, description="The deadline; null: none.")
    transaction_field: TransactionField | None = None
    ab_test: ABTestIn | None = Field(default=None, description="An A/B test of the text.")


# The members of an edit that may not be null (null clears start, send_by, transaction_field).
NOT_NULL = ("nature", "sender", "text", "categories", "professions", "tags")


class CampaignUpdate(BaseModel):
    """What to change: a member left out is kept; `start`, `send_by` or `transaction_field`
    null clears it. The name and the channel do not change: create another campaign."""

    model_config = ConfigDict(extra="forbid")

    nature: Nature | None = None
    sender: SenderId | None = None
    text: MessageText | None = None
    categories: Labels | None = None
    professions: Labels | None = None
    tags: Labels | None = None
    start: When | None = None
    send_by: When | None = None
    transaction_field: TransactionField | None = None
    ab_test: ABTestIn | None = Field(
        default=None,
        description="The A/B test, whole (its settings left out keep theirs); null removes it.",
    )

    def changes(self) -> campaign_edit.Changes:
        given: dict[str, Any] = {
            name: getattr(self, name)
            for name in self.model_fields_set
            if name in _CHANGEABLE and name != "ab_test"
        }
        if "ab_test" in self.model_fields_set:
            if self.ab_test is None:
                given["variants"] = []
            else:
                given.update({k: v for k, v in self.ab_test.given().items() if v is not None})
        return campaign_edit.Changes(**given)


_CHANGEABLE = frozenset(CampaignUpdate.model_fields)


class Block(BaseModel):
    code: str = Field(description="Why nothing can be sent (docs/rules.md).")
    label: str = Field(description="The code in French.")
    message: str


class PlanFigures(BaseModel):
    targeted: int | None
    send: int | None
    exclude: int | None
    by_reason: dict[str, int] | None
    parts: int | None = Field(description="Message parts (SMS segments) to send.")
    blocks: list[Block] | None
    seconds: float | None = Field(description="How long planning took.")


class Campaign(BaseModel):
    id: int
    advertiser: str
    name: str
    nature: Nature
    channel: Channel
    sender: str
    text: str
    categories: list[str]
    professions: list[str]
    tags: list[str]
    start: Instant | None
    send_by: Instant | None
    transaction_field: str | None
    status: CampaignState = Field(
        description="draft (no plan), planned, launched, paused (launched, held for its "
        "advertiser's 33700 complaint rate until the operator resumes it), finished (launched, "
        "nothing left to send) or cancelled."
    )
    created_at: Instant
    planned_at: Instant | None
    launched_at: Instant | None
    cancelled_at: Instant | None
    finished_at: Instant | None
    paused_at: Instant | None = Field(
        default=None, description="Paused for its complaint rate since then; null: not paused."
    )
    plan: PlanFigures | None = Field(description="The current plan's figures; null: none.")
    messages: dict[str, int] = Field(description="Its messages by state.")
    ab_test: ABTestOut | None = Field(default=None, description="Its A/B test; null: none.")

    @classmethod
    def fields(cls, overview: campaigns.CampaignOverview) -> dict[str, Any]:
        c = overview.campaign
        plan = overview.plan
        figures = None
        if plan is not None:
            figures = PlanFigures(
                targeted=plan.targeted,
                send=plan.send,
                exclude=plan.exclude,
                by_reason=dict(plan.by_reason) if plan.by_reason is not None else None,
                parts=plan.parts,
                blocks=None if plan.blocks is None else [_block(b) for b in plan.blocks],
                seconds=plan.seconds,
            )
        return {
            "id": c.id,
            "advertiser": c.advertiser.slug,
            "name": c.name,
            "nature": c.nature,
            "channel": c.channel,
            "sender": c.sender,
            "text": c.text,
            "categories": list(c.categories),
            "professions": list(c.professions),
            "tags": list(c.tags),
            "start": c.start_at,
            "send_by": c.send_by,
            "transaction_field": c.transaction_field,
            "status": overview.status,
            "created_at": c.created_at,
            "planned_at": c.planned_at,
            "launched_at": c.launched_at,
            "cancelled_at": c.cancelled_at,
            "finished_at": c.finished_at,
            "paused_at": c.paused_at,
            "plan": figures,
            "messages": dict(overview.messages),
            "ab_test": ABTestOut.of(c),
        }

    @classmethod
    def of(cls, overview: campaigns.CampaignOverview) -> "Campaign":
        return cls(**cls.fields(overview))


def _block(block: Any) -> Block:
    code = str(block.get("code", ""))
    return Block(code=code, label=label(code), message=str(block.get("message", "")))


def _unsent(campaign: campaigns.Campaign) -> campaigns.CampaignOverview:
    """A campaign just created or edited: a draft, no plan, no message."""
    return campaigns.CampaignOverview(
        campaign, campaign.status, None, dict.fromkeys(OUTBOX_STATES, 0)
    )


class CampaignDefined(Campaign):
    blocks: list[Block] = Field(
        description="What its content blocks, as a plan would report it: [] when nothing does."
    )

    @classmethod
    def made(cls, campaign: campaigns.Campaign, content: ContentCheck) -> "CampaignDefined":
        blocks = [
            Block(code=b.code.value, label=label(b.code.value), message=b.message)
            for b in content.blocks
        ]
        return cls(**cls.fields(_unsent(campaign)), blocks=blocks)


class CampaignEdited(CampaignDefined):
    changed: list[str] = Field(description="The parts that changed.")
    plan_dropped: bool = Field(description="It had a plan, dropped: plan again.")

    @classmethod
    def edited(cls, done: campaign_edit.Edited) -> "CampaignEdited":
        made = CampaignDefined.made(done.campaign, done.content)
        return cls(**made.model_dump(), changed=list(done.changed), plan_dropped=done.plan_dropped)


class CampaignStatus(Campaign):
    reasons: dict[str, dict[str, int]] = Field(
        description="Why messages are where they are, by state then reason."
    )
    carriers: dict[str, dict[str, int]] = Field(
        description="The messages each carrier took, by state ('' names the one carrier of "
        "a single-transport configuration)."
    )

    @classmethod
    def of_status(cls, found: campaigns.CampaignStatus) -> "CampaignStatus":
        return cls(
            **cls.fields(found),
            reasons={k: dict(v) for k, v in found.reasons.items()},
            carriers={k: dict(v) for k, v in found.carriers.items()},
        )


CampaignPage = Page[Campaign]


class CampaignDeleted(BaseModel):
    id: int
    name: str
    was: CampaignState
    plan_rows: int = Field(description="Rows of its plans removed.")


class Launched(BaseModel):
    campaign_id: int
    campaign: str
    queued: int = Field(description="Messages queued, each due at its send time.")
    parts: int | None
    launched_at: Instant
    held: int = Field(
        default=0, description="An A/B test's rest: held until the winner's text is chosen."
    )


class VariantFigures(BaseModel):
    label: str = Field(description="A (the campaign's text) to D.")
    text: str
    messages: int = Field(description="Messages of the test with this variant.")
    sent: int = Field(description="Of them, taken by a carrier.")
    delivered: int
    clicked: int = Field(description="Messages whose short link a person followed (bots not).")
    opted_out: int = Field(description="Recipients who opted out after their message left.")
    click_rate: float | None = Field(description="clicked / sent; null: nothing sent.")
    optout_rate: float | None = Field(description="opted_out / sent; null: nothing sent.")


class ABTestReport(BaseModel):
    campaign_id: int
    campaign: str
    winner_by: WinnerBy
    test_share: int
    test_minutes: int
    test_ends_at: Instant | None
    winner: str | None
    winner_at: Instant | None
    leading: str | None = Field(description="The variant the figures favour now.")
    variants: list[VariantFigures]
    rest: int = Field(description="Messages of the rest of the audience.")
    rest_held: int = Field(description="Of them, still waiting for the winner's text.")
    rest_released_at: Instant | None

    @classmethod
    def of(cls, campaign_id: int, found: ab_tests.ABReport) -> "ABTestReport":
        return cls(
            campaign_id=campaign_id,
            **{k: v for k, v in found.as_dict().items() if k != "variants"},
            variants=[VariantFigures(**v.as_dict()) for v in found.variants],
        )


class WinnerChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: Literal["A", "B", "C", "D"] | None = Field(
        default=None,
        description="The variant to send to the rest now, ending the test sooner; null: by "
        "the figures, once the test is over.",
    )


class WinnerChosen(BaseModel):
    campaign_id: int
    campaign: str
    winner: str
    measured: bool = Field(description="false: nothing of the test was sent; A is kept.")
    by: str = Field(description="clicks, optouts, or hand (named by the caller).")
    released: int = Field(description="Messages of the rest queued with the winner's text.")
    cancelled: int = Field(description="Of the rest, cancelled: the text cannot be made today.")
    winner_at: Instant
    job: int | None = Field(
        default=None,
        description="The job giving the rest the winner's text (GET /api/v1/jobs/{id}); its "
        "result says how many messages were queued or cancelled.",
    )


class Cancelled(BaseModel):
    campaign_id: int
    campaign: str
    was: CampaignState
    withdrawn: int = Field(description="Queued messages withdrawn.")
    already_sent: int = Field(description="Handed to the carrier already: not recalled.")


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: ExportForm = Field(
        default=ExportForm.CSV,
        description="csv (UTF-8, commas), excel (what French Excel opens), json (JSON lines).",
    )


# --- the plan -------------------------------------------------------------------------------


class Counted(BaseModel):
    code: str
    label: str = Field(description="The code in French.")
    count: int


class Territory(BaseModel):
    send: int
    exclude: int
    first_send_at: str | None = Field(description="In the territory's own time, with offset.")


class Encoded(BaseModel):
    messages: int
    parts: int


class PlanRow(BaseModel):
    phone: str = Field(description="E.164.")
    decision: Decision
    basis: str | None = Field(description="A send's legal basis.")
    reason: str | None = Field(description="An exclusion's reason code.")
    label: str | None = Field(description="The basis or the reason, in French.")
    deferral: str | None = Field(description="Why a send waits for its window.")
    territory: str | None
    send_at: str | None = Field(description="In the recipient's own time, with its offset.")
    segments: int | None
    encoding: str | None
    text: str | None = Field(description="The exact message, personalized.")
    variant: str | None = Field(
        default=None,
        description="An A/B test: the variant of the text (A to D), or `rest` while the rest "
        "waits for the winner's (its text null until then); null without a test.",
    )

    @classmethod
    def of(cls, row: dict[str, Any]) -> "PlanRow":
        code = row.get("basis") or row.get("reason")
        return cls(**row, label=label(code) if code else None)


PlanRowPage = Page[PlanRow]


def _counted(counts: dict[str, int] | None) -> list[Counted]:
    return [Counted(code=k, label=label(k), count=n) for k, n in (counts or {}).items()]


class PlannedTest(BaseModel):
    """A plan's A/B test: how the sends are shared."""

    variants: int
    test_share: int = Field(description="Percent of the sends in the test.")
    winner_by: WinnerBy
    test_minutes: int
    test: dict[str, int] = Field(description="The test's recipients of each variant.")
    rest: int = Field(description="Recipients waiting for the winner's text.")


class PlanReport(BaseModel):
    campaign_id: int
    campaign: str
    status: CampaignState
    generation: int
    planned_at: Instant
    targeted: int
    send: int
    exclude: int
    by_basis: list[Counted]
    by_reason: list[Counted] = Field(description="The exclusions by reason, most first.")
    by_deferral: list[Counted] = Field(description="Sends held until their window opens.")
    by_territory: dict[str, Territory]
    parts: int
    by_encoding: dict[str, Encoded]
    by_parts: dict[str, int] = Field(description="Messages by their number of parts.")
    ucs2_chars: dict[str, int] = Field(description="Characters forcing UCS-2, in how many.")
    blocks: list[Block] = Field(description="What stops the launch; [] when nothing does.")
    warnings: list[str]
    send_days: list[date] = Field(description="The local days its messages first leave on.")
    samples: list[PlanRow]
    seconds: float | None = Field(description="How long planning took.")
    ab_test: PlannedTest | None = Field(default=None, description="Its A/B test; null: none.")

    @classmethod
    def of(cls, found: plan_reads.PlanReport) -> "PlanReport":
        c, s = found.campaign, found.summary
        assert c.plan_generation is not None and c.planned_at is not None
        return cls(
            campaign_id=c.id,
            campaign=c.name,
            status=campaigns.shown_status(c),  # type: ignore[arg-type]
            generation=c.plan_generation,
            planned_at=c.planned_at,
            targeted=s.get("targeted", 0),
            send=s.get("send", 0),
            exclude=s.get("exclude", 0),
            by_basis=_counted(s.get("by_basis")),
            by_reason=_counted(s.get("by_reason")),
            by_deferral=_counted(s.get("by_deferral")),
            by_territory={k: Territory(**v) for k, v in (s.get("by_territory") or {}).items()},
            parts=s.get("parts", 0),
            by_encoding={k: Encoded(**v) for k, v in (s.get("by_encoding") or {}).items()},
            by_parts=dict(s.get("by_parts") or {}),
            ucs2_chars=dict(s.get("ucs2_chars") or {}),
            blocks=[_block(b) for b in s.get("blocks") or []],
            warnings=list(s.get("warnings") or []),
            send_days=found.send_days,
            samples=[PlanRow.of(row) for row in found.samples],
            seconds=s.get("seconds"),
            ab_test=PlannedTest(**s["ab_test"]) if s.get("ab_test") else None,
        )
