"""`/api/v1/optouts`: opting a number out of the advertiser's messages, at once
(services/optouts.py), and asking whether a number is opted out. The number is never shown
back nor logged (the access log names the route's template, never the path): the answer names
it by the start of its suppression hash."""

from typing import Annotated

from fastapi import Path

from tambour.api.auth import Caller, Shared, require
from tambour.api.routes.tenancy import Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.optouts import OptOut, OptOutCheck, OptOutCreate
from tambour.services import optouts
from tambour.services.api_keys import Scope

router = V1Router(prefix=f"{V1}/optouts", tags=["opt-outs"])


@router.post("", summary="Opt a number out, at once and for good (unless it consents again)")
def add_optout(body: OptOutCreate, caller: Caller, advertiser: Tenant, shared: Shared) -> OptOut:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    done = optouts.add(
        shared.context(caller), slug=advertiser, number=body.number, source=body.source
    )
    return OptOut.of(done)


Number = Annotated[
    str,
    Path(
        min_length=1,
        max_length=40,
        pattern=r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029/]*$",
        description="The number, in any notation (URL-encoded: +33612345678 as %2B33612345678 "
        "or as it is).",
        examples=["+33612345678"],
    ),
]


@router.get("/{number}", summary="Is this number opted out? Since when, and how")
def check_optout(number: Number, caller: Caller, advertiser: Tenant, shared: Shared) -> OptOutCheck:
    require(caller, Scope.OPERATOR, Scope.READ)
    return OptOutCheck.of(optouts.check(shared.context(caller), slug=advertiser, number=number))
