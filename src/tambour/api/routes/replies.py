"""`/api/v1/replies`: the replies inbox of the advertiser (services/reply_inbox.py): the
newest replies, of one status or all; marking one read, or as an opposition the core could
not read for sure. Another advertiser's reply is 404 there."""

from typing import Annotated

from fastapi import Query

from tambour.api.auth import Caller, Shared, require
from tambour.api.pagination import DEFAULT_LIMIT, Limit
from tambour.api.routes.tenancy import Id, Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.replies import Reply, ReplyList, ReplyMarked
from tambour.services import reply_inbox
from tambour.services.api_keys import Scope
from tambour.services.replies import ReplyStatus

router = V1Router(prefix=f"{V1}/replies", tags=["replies"])


@router.get("", summary="The newest replies, of one status or all")
def list_replies(
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    status: Annotated[ReplyStatus | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ReplyList:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = reply_inbox.list_replies(
        shared.context(caller), slug=advertiser, status=status, limit=limit
    )
    return ReplyList(items=[Reply.of(reply) for reply in found])


@router.post("/{reply_id}/read", summary="Mark a new reply read")
def mark_reply_read(
    reply_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> ReplyMarked:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    marked = reply_inbox.mark_read(shared.context(caller), slug=advertiser, reply_id=reply_id)
    return ReplyMarked.of(marked)


@router.post(
    "/{reply_id}/opt-out",
    summary="Record the opposition a reply states (source sms_stop, dated when it came)",
)
def mark_reply_opted_out(
    reply_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> ReplyMarked:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    marked = reply_inbox.mark_opted_out(shared.context(caller), slug=advertiser, reply_id=reply_id)
    return ReplyMarked.of(marked)
