"""Contacts, as the API takes and shows them: a contact with its facts as typed JSON (what a
row of the canonical contacts file states, docs/rules.md section 2), and shown with its
standing (may it be sent a marketing SMS now, on what basis, or why not) and its timeline.

The number is shown to its own advertiser (it is their data), in E.164."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tambour.api.schemas.common import Instant, Page, text
from tambour.rules.codes import ContactKind, OptOutSource
from tambour.services import contact_writes
from tambour.services.contact_reads import ContactSummary
from tambour.services.contacts import ContactRecord
from tambour.services.standing import Standing as StandingRecord

_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
Short = Annotated[str, text(1, 200)]
Long = Annotated[str, text(1, 2000)]
Member = Annotated[str, text(1, 100)]
Channel = Literal["sms", "mms", "fax", "email"]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(_Strict):
    given: bool = Field(description="true: the person opted in; false: a withdrawal.")
    at: datetime | None = Field(
        default=None,
        description="When (ISO 8601; without an offset: Paris time). Required when given.",
    )
    channels: list[Channel] = Field(
        default_factory=list, max_length=4, description="Covered channels; none: sms (and mms)."
    )
    method: Short | None = Field(
        default=None,
        description="web_form, paper_form, sms_keyword, recorded_call... A consent given needs "
        "its method or its wording.",
    )
    checkbox_prechecked: bool | None = Field(
        default=None, description="true: the box was ticked by default (the consent is void)."
    )
    bundled_with_terms: bool | None = Field(
        default=None, description="true: given only by accepting terms (void)."
    )
    advertiser: Short | None = Field(
        default=None, description="Whom it was given to; none: this advertiser."
    )
    wording: Long | None = Field(default=None, description="The text the person accepted.")
    source: Long | None = Field(default=None, description="The form, URL or document.")
    proof: Long | None = Field(default=None, description="A proof reference (screenshot hash).")


class CollectionIn(_Strict):
    at: datetime | None = None
    by: Short | None = Field(
        default=None, description="advertiser (none), or the third party the number came from."
    )
    informed: bool | None = Field(
        default=None, description="The person was told of the prospection at collection."
    )
    objection_offered: bool | None = Field(
        default=None, description="The person could object, simply and free, at collection."
    )
    third_party_information_proof: Long | None = None


class PurchaseIn(_Strict):
    at: datetime | None = Field(default=None, description="The last real purchase.")
    categories: list[Member] = Field(default_factory=list, max_length=100)


class OptOutIn(_Strict):
    at: datetime | None = Field(default=None, description="When; none: now.")
    source: OptOutSource = OptOutSource.MANUAL


class ContactIn(_Strict):
    """A contact and the facts known of it. A later call updates the contact with what it
    states, and erases nothing it leaves out; a fact recorded already is not recorded twice."""

    number: Annotated[str, text(1, 40), Field(examples=["+33612345678", "06 12 34 56 78"])]
    kind: ContactKind | None = Field(default=None, description="person (default), professional.")
    external_id: Short | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    company: Short | None = None
    postal_code: Annotated[str, text(1, 10)] | None = None
    tags: list[Member] = Field(default_factory=list, max_length=100)
    profession_tags: list[Member] = Field(default_factory=list, max_length=100)
    fields: dict[FieldName, Annotated[str, text(0, 1000)]] = Field(
        default_factory=dict,
        max_length=contact_writes.MAX_FIELDS,
        description="Personalization fields ({ville} in a message).",
    )
    consent: ConsentIn | None = None
    collection: CollectionIn | None = None
    account_created_at: datetime | None = None
    purchase: PurchaseIn | None = None
    last_activity_at: datetime | None = None
    member_since: datetime | None = None
    opt_out: OptOutIn | None = Field(default=None, description="An opposition (STOP, link...).")

    def typed(self) -> contact_writes.ContactInput:
        consent, collection = self.consent, self.collection
        return contact_writes.ContactInput(
            number=self.number,
            kind=self.kind,
            external_id=self.external_id,
            first_name=self.first_name,
            last_name=self.last_name,
            company=self.company,
            postal_code=self.postal_code,
            tags=tuple(self.tags),
            profession_tags=tuple(self.profession_tags),
            fields=dict(self.fields),
            consent=None
            if consent is None
            else contact_writes.Consent(
                given=consent.given,
                at=consent.at,
                channels=tuple(consent.channels),
                method=consent.method,
                checkbox_prechecked=consent.checkbox_prechecked,
                bundled_with_terms=consent.bundled_with_terms,
                advertiser=consent.advertiser,
                wording=consent.wording,
                source=consent.source,
                proof=consent.proof,
            ),
            collection=None
            if collection is None
            else contact_writes.Collection(
                at=collection.at,
                by=collection.by,
                informed=collection.informed,
                objection_offered=collection.objection_offered,
                third_party_information_proof=collection.third_party_information_proof,
            ),
            account_created_at=self.account_created_at,
            purchase=None
            if self.purchase is None
            else contact_writes.Purchase(self.purchase.at, tuple(self.purchase.categories)),
            last_activity_at=self.last_activity_at,
            member_since=self.member_since,
            opt_out=None
            if self.opt_out is None
            else contact_writes.Opposition(self.opt_out.at, self.opt_out.source),
        )


class Suppressed(BaseModel):
    at: Instant | None = Field(description="The latest opposition's date.")
    source: OptOutSource


class Standing(BaseModel):
    decision: str = Field(description="send or exclude, for a campaign of this nature now.")
    basis: str | None = Field(description="The legal basis it would be sent on.")
    reason: str | None = Field(description="Why not (a reason code of docs/rules.md).")
    bases: dict[str, str] = Field(
        description="Each legal basis: holds, the reason it does not, or not_applicable."
    )

    @classmethod
    def of(cls, standing: StandingRecord) -> "Standing":
        return cls(
            decision=standing.decision,
            basis=standing.basis,
            reason=standing.reason,
            bases=dict(standing.bases),
        )


class Fact(BaseModel):
    kind: str = Field(description="consent_given, consent_withdrawn, collected, purchase...")
    at: Instant | None = Field(description="When it happened; null: not dated.")
    data: dict[str, Any]
    source: str = Field(description="Where it was learnt: a file, api, a reply, an opt-out.")
    recorded_at: Instant
    recorded_by: str


class ContactItem(BaseModel):
    id: int
    number: str = Field(description="In E.164.")
    kind: ContactKind
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    postal_code: str | None = None
    tags: list[str] = Field(default_factory=list)
    profession_tags: list[str] = Field(default_factory=list)
    fields: dict[str, str] = Field(default_factory=dict)
    created_at: Instant
    updated_at: Instant

    @staticmethod
    def profile(profile: dict[str, Any]) -> dict[str, Any]:
        names = (
            "external_id", "first_name", "last_name", "company", "postal_code", "tags",
            "profession_tags", "fields",
        )  # fmt: skip
        return {name: profile[name] for name in names if profile.get(name) is not None}


class ContactListed(ContactItem):
    opted_out: bool = Field(
        description="Its evidence holds an opposition (an opt-out or a 33700 complaint), "
        "whatever came after; its standing says whether it may be sent to now."
    )

    @classmethod
    def of(cls, found: ContactSummary) -> "ContactListed":
        return cls(
            id=found.id,
            number=found.e164,
            kind=found.kind,
            opted_out=found.opposed,
            created_at=found.created_at,
            updated_at=found.updated_at,
            **cls.profile(found.profile),
        )


class Contact(ContactItem):
    suppressed: Suppressed | None = Field(
        description="Its entry in the advertiser's suppression list, if any."
    )
    standing: dict[str, Standing] = Field(
        description="By campaign nature (commercial, non_commercial): the decision now."
    )
    timeline: list[Fact] = Field(description="Its evidence, in recording order.")

    @classmethod
    def of(cls, record: ContactRecord) -> "Contact":
        contact = record.contact
        suppressed = contact.suppression
        return cls(
            id=contact.id,
            number=contact.e164,
            kind=contact.kind,
            created_at=contact.created_at,
            updated_at=contact.updated_at,
            suppressed=None
            if suppressed is None
            else Suppressed(at=suppressed.at, source=suppressed.source),
            standing={nature: Standing.of(s) for nature, s in record.standing.items()},
            timeline=[
                Fact(
                    kind=e.kind,
                    at=e.at,
                    data=dict(e.data),
                    source=e.source,
                    recorded_at=e.recorded_at,
                    recorded_by=e.recorded_by,
                )
                for e in record.evidence
            ],
            **cls.profile(contact.profile),
        )


class ExportCreate(_Strict):
    form: Literal["csv", "excel"] = Field(
        default="csv",
        description="csv: commas, ISO 8601 times; excel: what French Excel opens in columns "
        "(semicolons, Paris times). Both UTF-8 with a BOM, and import back as they are.",
    )


ContactPage = Page[ContactListed]
