"""Relayed answers: a prosumer posts its signed answer to a request, the aggregator relays it on chain
in a batch (`aggregator.relay`), and the prosumer reads the answer's state back."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, status

from aggregator.api.body import documented, json_body
from aggregator.api.deps import Ctx, Prosumer
from aggregator.api.responses import errors
from aggregator.context import AppContext
from aggregator.errors import Unavailable
from aggregator.relay import AnswerRelay
from aggregator.wire_answers import MAX_REQUEST_ID, AnswerIn, AnswerOut

router = APIRouter(prefix="/answers", tags=["answers"])
RequestId = Annotated[int, Path(ge=1, le=MAX_REQUEST_ID, description="Request id", examples=[3])]


def relay_of(ctx: AppContext) -> AnswerRelay:
    relay = ctx.relay
    if relay is None:
        raise Unavailable(
            "this aggregator relays no answers (it runs without the chain services): send the answer as a "
            "direct transaction",
            retry_after_s=60,
        )
    return relay


@router.post(
    "",
    response_model=AnswerOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(401, 403, 409, 422, 503),
    openapi_extra=documented(AnswerIn),
)
async def post_answer(
    session: Prosumer, body: Annotated[AnswerIn, json_body(AnswerIn)], ctx: Ctx
) -> AnswerOut:
    """Queues the caller's signed answer (EIP-712 `Answer(uint256 requestId,uint8 action,uint32 value)`
    under the market's domain) for the next relayed batch. 409: the request is not open or its
    deadline passed, or the caller already gave another answer; 422: the signature is malformed or not
    the caller's, or the action does not fit the request's strategy; 503: the relay queue is full."""
    relay = relay_of(ctx)
    return await asyncio.to_thread(relay.offer, session.address, body)


@router.get("/{request_id}", response_model=list[AnswerOut], responses=errors(401, 403, 422, 503))
async def get_answers(session: Prosumer, request_id: RequestId, ctx: Ctx) -> list[AnswerOut]:
    """The caller's relayed answer to the request (empty when it sent none) and its state."""
    return relay_of(ctx).states(session.address, request_id)
