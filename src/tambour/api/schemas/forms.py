"""Hosted consent forms, as the API takes and shows them (services/consent_forms.py)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tambour.api.schemas.common import Instant, text
from tambour.services.consent_forms import ConsentForm, FormVersion, SignedWording

FormSlug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Kind = Literal["consent", "b2b", "customer_notice"]
Origin = Annotated[str, text(1, 200), Field(examples=["https://boutique.example"])]


class Texts(BaseModel):
    """A text in French (required) and English (optional: French is shown instead)."""

    model_config = ConfigDict(extra="forbid")

    fr: Annotated[str, Field(min_length=1, max_length=2000)]
    en: Annotated[str | None, Field(max_length=2000)] = None


class Purpose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", examples=["sms"])]
    channels: list[Literal["sms", "mms"]] = Field(
        min_length=1, description="What ticking the box consents to: sms covers SMS and MMS."
    )
    label: Texts = Field(description="The box's text: what the person agrees to, and to whom.")


class Wording(BaseModel):
    """Every text the person reads. A consent form has `purposes` (an unticked box each); a
    b2b form or a customer_notice block has `objection` (an unticked objection box)."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    title: Texts
    information: Texts
    purposes: list[Purpose] = Field(default_factory=list, max_length=6)
    objection: Texts | None = None

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class FormCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: FormSlug
    kind: Kind = "consent"
    origins: list[Origin] = Field(
        default_factory=list, max_length=20,
        description="Sites that may embed the form (frame-ancestors) or post to it (CORS).",
    )  # fmt: skip
    double_opt_in: bool = Field(
        default=False, description="A code sent by SMS confirms the number before it counts."
    )
    wording: Wording | None = Field(
        default=None, description="None: the default wording of the kind, naming the advertiser."
    )


class FormUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origins: list[Origin] | None = Field(default=None, max_length=20)
    double_opt_in: bool | None = None


class Version(BaseModel):
    version: int
    wording_hash: str = Field(description="SHA-256 of the canonical wording: a consent's proof.")
    wording: dict[str, Any]
    published_at: Instant
    published_by: str

    @classmethod
    def of(cls, found: FormVersion) -> "Version":
        return cls(
            version=found.version, wording_hash=found.wording_hash,
            wording=found.wording.as_data(), published_at=found.published_at,
            published_by=found.published_by,
        )  # fmt: skip


class Form(BaseModel):
    slug: str
    kind: Kind
    origins: list[str]
    double_opt_in: bool
    created_at: Instant
    path: str = Field(description="Where `tambour serve` shows it to people.")
    current: Version
    versions: list[Version] | None = Field(
        default=None, description="Every version, latest first (on a form's own page)."
    )

    @classmethod
    def of(cls, found: ConsentForm, versions: list[FormVersion] | None = None) -> "Form":
        return cls(
            slug=found.slug, kind=found.kind.value, origins=list(found.origins),
            double_opt_in=found.double_opt_in, created_at=found.created_at, path=found.path,
            current=Version.of(found.current),
            versions=None if versions is None else [Version.of(v) for v in versions],
        )  # fmt: skip


class Published(BaseModel):
    created: bool = Field(description="A new version (false: the wording was the current one).")
    form: Form


class SignedWordingOut(BaseModel):
    form: str
    version: Version

    @classmethod
    def of(cls, found: SignedWording) -> "SignedWordingOut":
        return cls(form=found.form, version=Version.of(found.version))
