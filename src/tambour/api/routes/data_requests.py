"""`/api/v1/data-requests`: the register of data requests (services/data_requests.py) and
their answers (services/request_answers.py), as the command line and the web app keep them.
Another advertiser's request is 404 here, as one that does not exist."""

from typing import Annotated

from fastapi import Query

from tambour.api.auth import Caller, Shared, require
from tambour.api.routes.tenancy import Id, Tenant
from tambour.api.routing import V1, V1Router
from tambour.api.schemas.data_requests import (
    Answer,
    AnswerOut,
    DataRequestCreate,
    DataRequestOut,
    Reason,
)
from tambour.services import data_requests, request_answers
from tambour.services.api_keys import Scope
from tambour.services.data_requests import RequestKind
from tambour.web.documents import subject_access_html

router = V1Router(prefix=f"{V1}/data-requests", tags=["data requests"])


@router.post("", summary="Register a data request (due one month after it was received)",
             status_code=201)  # fmt: skip
def add_data_request(
    body: DataRequestCreate, caller: Caller, advertiser: Tenant, shared: Shared
) -> DataRequestOut:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    added = data_requests.add(
        shared.context(caller), slug=advertiser, kind=body.kind, number=body.number,
        requester=body.requester, means=body.means, received_on=body.received_on, note=body.note,
    )  # fmt: skip
    return DataRequestOut.of(added)


@router.get("", summary="The register: open requests first, by deadline")
def list_data_requests(
    caller: Caller,
    advertiser: Tenant,
    shared: Shared,
    status: Annotated[str | None, Query(pattern="^(open|answered|refused)$")] = None,
) -> list[DataRequestOut]:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = data_requests.list_requests(shared.context(caller), slug=advertiser, status=status)
    return [DataRequestOut.of(request) for request in found]


@router.get("/{request_id}", summary="One data request")
def get_data_request(
    request_id: Id, caller: Caller, advertiser: Tenant, shared: Shared
) -> DataRequestOut:
    require(caller, Scope.OPERATOR, Scope.READ)
    found = data_requests.get(shared.context(caller), slug=advertiser, request_id=request_id)
    return DataRequestOut.of(found)


@router.post("/{request_id}/extend", summary="Extend the deadline by two months, once")
def extend_data_request(
    request_id: Id, body: Reason, caller: Caller, advertiser: Tenant, shared: Shared
) -> DataRequestOut:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    done = data_requests.extend(
        shared.context(caller), slug=advertiser, request_id=request_id, reason=body.reason
    )
    return DataRequestOut.of(done)


@router.post("/{request_id}/refuse", summary="Refuse a request, with the reason told")
def refuse_data_request(
    request_id: Id, body: Reason, caller: Caller, advertiser: Tenant, shared: Shared
) -> DataRequestOut:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    done = data_requests.refuse(
        shared.context(caller), slug=advertiser, request_id=request_id, reason=body.reason
    )
    return DataRequestOut.of(done)


@router.post(
    "/{request_id}/answer",
    summary="Answer a request by its kind: the data, the erasure, the opt-out, the corrections",
)
def answer_data_request(
    request_id: Id, body: Answer, caller: Caller, advertiser: Tenant, shared: Shared
) -> AnswerOut:
    require(caller, Scope.OPERATOR, Scope.WRITE)
    ctx = shared.context(caller)
    kind = data_requests.get(ctx, slug=advertiser, request_id=request_id).kind
    if kind in (RequestKind.ACCESS, RequestKind.PORTABILITY):
        copy = request_answers.answer_access(ctx, slug=advertiser, request_id=request_id)
        return AnswerOut(
            request=DataRequestOut.of(copy.request), data=copy.data,
            document=subject_access_html(copy.data, "fr"),
        )  # fmt: skip
    if kind == RequestKind.ERASURE:
        erased = request_answers.answer_erasure(
            ctx, slug=advertiser, request_id=request_id, confirmed=body.confirm_erasure
        )
        return AnswerOut.of_erasure(erased.request, erased.erased)
    if kind == RequestKind.OBJECTION:
        done = request_answers.answer_objection(ctx, slug=advertiser, request_id=request_id)
    else:
        done = request_answers.answer_rectification(
            ctx, slug=advertiser, request_id=request_id, corrections=body.corrections or {}
        )
    return AnswerOut(request=DataRequestOut.of(done))
