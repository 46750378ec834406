"""`/api/v1/forms`: the advertiser's hosted consent forms (services/consent_forms.py): create
one, change where it may be embedded, publish a new wording (a new version only when it
changed; a published version never changes), and `/api/v1/form-wordings/{hash}`: the wording
a consent's proof names."""

from typing import Annotated

from fastapi import Path, Response

from tambour.api.auth import Caller, Shared, require
from tambour.api.routes.tenancy import Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.forms import (
    Form,
    FormCreate,
    FormUpdate,
    Published,
    SignedWordingOut,
    Wording,
)
from tambour.services import consent_forms
from tambour.services.api_keys import Scope

router = V1Router(prefix=V1, tags=["forms"])
FormPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Hash = Annotated[str, Path(pattern=r"^(sha256:)?[0-9a-f]{64}$", description="sha256:<hex>")]


@router.get("/forms", summary="The advertiser's consent forms")
def list_forms(caller: Caller, advertiser: Tenant, shared: Shared) -> list[Form]:
    require(caller, Scope.OPERATOR, Scope.READ)
    return [Form.of(f) for f in consent_forms.list_forms(shared.context(caller), slug=advertiser)]


@router.post("/forms", status_code=201, summary="Create a form, its first version published")
def create_form(body: FormCreate, caller: Caller, advertiser: Tenant, shared: Shared) -> Form:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    made = consent_forms.create(
        shared.context(caller), slug=advertiser, form=body.slug, kind=body.kind,
        origins=body.origins, double_opt_in=body.double_opt_in,
        wording=None if body.wording is None else body.wording.data(),
    )  # fmt: skip
    return Form.of(made)


@router.get("/forms/{form}", summary="A form and every version of its wording")
def show_form(form: FormPath, caller: Caller, advertiser: Tenant, shared: Shared) -> Form:
    require(caller, Scope.OPERATOR, Scope.READ)
    found, versions = consent_forms.show(shared.context(caller), slug=advertiser, form=form)
    return Form.of(found, versions)


@router.patch("/forms/{form}", summary="Change where a form may be embedded, its double opt-in")
def update_form(
    form: FormPath, body: FormUpdate, caller: Caller, advertiser: Tenant, shared: Shared
) -> Form:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    done = consent_forms.configure(
        shared.context(caller), slug=advertiser, form=form, origins=body.origins,
        double_opt_in=body.double_opt_in,
    )  # fmt: skip
    return Form.of(done)


@router.post(
    "/forms/{form}/versions",
    status_code=201,
    summary="Publish a wording: a new version when it changed (200 when it did not)",
)
def publish_form(
    form: FormPath, body: Wording, caller: Caller, advertiser: Tenant, shared: Shared,
    response: Response,
) -> Published:  # fmt: skip
    require(caller, Scope.OPERATOR, Scope.WRITE)
    done = consent_forms.publish(
        shared.context(caller), slug=advertiser, form=form, wording=body.data()
    )
    if not done.created:
        response.status_code = 200
    return Published(created=done.created, form=Form.of(done.form))


@router.get("/form-wordings/{wording_hash}", summary="The wording a consent's proof names")
def wording_by_hash(
    wording_hash: Hash, caller: Caller, advertiser: Tenant, shared: Shared
) -> list[SignedWordingOut]:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = consent_forms.by_hash(
        shared.context(caller), slug=advertiser, wording_hash=wording_hash
    )
    return [SignedWordingOut.of(f) for f in found]
