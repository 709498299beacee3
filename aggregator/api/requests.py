"""The grid operator's flexibility requests (R6): queue, list, inspect, cancel and modify.

Requests run one at a time, in order; the dispatcher (a background service) takes them from the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from aggregator.api.body import documented, json_body
from aggregator.api.deps import Ctx, GridOperator
from aggregator.api.responses import errors
from aggregator.errors import InvalidInput
from aggregator.tables import FlexRequest, RequestResponse
from aggregator.wire_market import (
    FlexRequestIn,
    FlexRequestList,
    FlexRequestOut,
    FlexRequestPatch,
    RequestState,
    ResponseOut,
)

router = APIRouter(prefix="/requests", tags=["requests"])
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Request id", examples=[7])]


def response_out(r: RequestResponse) -> ResponseOut:
    return ResponseOut.model_validate(r, from_attributes=True)


def request_out(r: FlexRequest, responses: Sequence[RequestResponse] = ()) -> FlexRequestOut:
    out = FlexRequestOut.model_validate(r, from_attributes=True)
    out.responses = [response_out(x) for x in responses]
    return out


@router.post(
    "",
    response_model=FlexRequestOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 422),
    openapi_extra=documented(FlexRequestIn),
)
def create_request(
    _: GridOperator, body: Annotated[FlexRequestIn, json_body(FlexRequestIn)], ctx: Ctx
) -> FlexRequestOut:
    """Queues a request (status `queued`); without `strategy`, the aggregator's default applies."""
    strategy = body.strategy.value if body.strategy else ctx.settings.default_strategy
    req = ctx.requests.enqueue(
        body.direction.value, body.power_w, body.duration_s, body.lead_time_s, strategy
    )
    return request_out(req)


@router.get("", response_model=FlexRequestList, responses=errors(401, 403, 422))
def list_requests(
    _: GridOperator,
    ctx: Ctx,
    state: Annotated[RequestState | None, Query(alias="status", examples=["queued"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000, examples=[100])] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9, examples=[0])] = 0,
) -> FlexRequestList:
    """Requests, newest first (without per-prosumer responses; see GET /requests/{id})."""
    reqs = ctx.requests.list(None if state is None else state.value, limit, offset)
    return FlexRequestList(requests=[request_out(r) for r in reqs])


@router.get("/{request_id}", response_model=FlexRequestOut, responses=errors(401, 403, 404))
def get_request(request_id: RequestId, _: GridOperator, ctx: Ctx) -> FlexRequestOut:
    """One request with every prosumer's response (accepted, declined with reason, selected, displaced,
    delivered with compliance and payment)."""
    req = ctx.requests.get(request_id)
    return request_out(req, ctx.requests.responses(request_id))


@router.post("/{request_id}/cancel", response_model=FlexRequestOut, responses=errors(401, 403, 404, 409))
def cancel_request(request_id: RequestId, _: GridOperator, ctx: Ctx) -> FlexRequestOut:
    """Cancels a request before its start (409 once it can no longer be cancelled)."""
    return request_out(ctx.control.cancel(request_id))


@router.patch(
    "/{request_id}",
    response_model=FlexRequestOut,
    responses=errors(401, 403, 404, 409, 422),
    openapi_extra=documented(FlexRequestPatch),
)
def modify_request(
    _: GridOperator,
    request_id: RequestId,
    body: Annotated[FlexRequestPatch, json_body(FlexRequestPatch)],
    ctx: Ctx,
) -> FlexRequestOut:
    """Changes power, duration or lead time of a request before its start (409 afterwards)."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise InvalidInput("nothing to change: send power_w, duration_s and/or lead_time_s")
    return request_out(ctx.control.modify(request_id, changes))
