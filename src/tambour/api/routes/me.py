"""`GET /api/v1/me`: what the calling key is (its advertiser, its scopes)."""

from tambour.api.auth import Caller
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.keys import Me

router = V1Router(prefix=V1, tags=["keys"])


@router.get("/me", summary="The calling API key")
async def me(caller: Caller) -> Me:
    return Me.of(caller)
