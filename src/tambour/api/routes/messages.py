"""`/api/v1/messages`: one message, decided by the compliance core as a campaign of one
recipient (services/messages.py): `201` with its basis and send time (held to the recipient's
next window when needed), or `422` with the reason code it may not go (`opted_out`,
`no_legal_basis`, `promotional_content`...). The number is never logged."""

from fastapi import Request, Response

from tambour.api.auth import Caller, Shared, require
from tambour.api.message_batcher import MessageBatcher
from tambour.api.routes.tenancy import Id, Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.messages import MessageCreate, MessageOut
from tambour.services import messages
from tambour.services.api_keys import Scope
from tambour.services.messages import MessageRequest

router = V1Router(prefix=f"{V1}/messages", tags=["messages"])


@router.post(
    "",
    status_code=201,
    summary="Send one message, decided by the compliance core (or refused with its reason)",
)
async def send_message(
    body: MessageCreate,
    request: Request,
    response: Response,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
) -> MessageOut:
    require(caller, Scope.SEND)
    wanted = MessageRequest(
        to=body.to, text=body.text, sender=body.sender, nature=body.nature,
        label=body.campaign, send_at=body.send_at, transaction=body.transaction,
        categories=tuple(body.categories), professions=tuple(body.professions),
    )  # fmt: skip
    batcher: MessageBatcher = request.app.state.message_batcher
    sent = await batcher.send(shared.context(caller), slug=advertiser, request=wanted)
    response.headers["Location"] = f"{V1}/messages/{sent.id}"
    return MessageOut.of(sent)


@router.get("/{message_id}", summary="One message: its state, basis, parts and receipts")
def get_message(message_id: Id, caller: Caller, shared: Shared) -> MessageOut:
    require(caller, Scope.OPERATOR, Scope.READ, Scope.SEND)
    found = messages.get(
        shared.context(caller), message_id=message_id, advertiser_id=caller.advertiser_id
    )
    return MessageOut.of(found)
