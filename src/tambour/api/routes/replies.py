"""`/api/v1/replies`: the replies inbox of the advertiser (services/reply_inbox.py): the
newest replies, of one status or all; marking one read, or as an opposition the core could
not read for sure. Another advertiser's reply is 404 there."""

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response

from tambour.api import pagination
from tambour.api.auth import Caller, Shared, require
from tambour.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from tambour.api.routes.tenancy import MAX_ID, Id, Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.replies import Reply, ReplyList, ReplyMarked
from tambour.services import reply_inbox
from tambour.services.api_keys import Scope
from tambour.services.replies import ReplyStatus
from tambour.services.reply_inbox import ReplyPosition

router = V1Router(prefix=f"{V1}/replies", tags=["replies"])


@router.get("", summary="The newest replies, of one status or all")
def list_replies(
    request: Request,
    response: Response,
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    status: Annotated[ReplyStatus | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ReplyList:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = reply_inbox.list_replies(
        shared.context(caller),
        slug=advertiser,
        status=status,
        limit=limit,
        after=_position(request, cursor),
    )
    after = found.next_after
    return ReplyList(
        items=[Reply.of(reply) for reply in found.replies],
        next=pagination.next_link(
            request,
            response,
            None if after is None else f"{after.received_at.isoformat()}|{after.id}",
        ),
    )


def _position(request: Request, cursor: str | None) -> ReplyPosition | None:
    """Where a page starts, from its cursor (`pagination.decode`'s: "<instant>|<id>"); 422
    for a cursor that is not one of ours."""
    after = pagination.decode(request, cursor)
    if after is None:
        return None
    at, _, reply_id = after.partition("|")
    try:
        position = ReplyPosition(datetime.fromisoformat(at), int(reply_id))
    except ValueError:
        position = None
    if position is None or position.received_at.tzinfo is None or not 0 < position.id <= MAX_ID:
        raise pagination.invalid_cursor(request)
    return position


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
