"""`/api/v1/optouts`: opting a number out of the advertiser's messages, at once
(services/optouts.py). The number is never shown back nor logged: the answer names it by the
start of its suppression hash."""

from tambour.api.auth import Caller, Shared, require
from tambour.api.routes.tenancy import Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.optouts import OptOut, OptOutCreate
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
