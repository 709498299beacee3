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
from aggregator.errors import Conflict, NotFound
from aggregator.relay import AnswerRelay
from aggregator.wire_answers import MAX_REQUEST_ID, AnswerIn, AnswerOut

router = APIRouter(prefix="/answers", tags=["answers"])
RequestId = Annotated[int, Path(ge=1, le=MAX_REQUEST_ID, description="Request id", examples=[3])]


NO_RELAY = "this aggregator relays no answers (it runs without its chain services)"


def relay_of(ctx: AppContext) -> AnswerRelay:
    """The relay; without chain services there is none: 409, answer with a direct transaction."""
    if ctx.relay is None:
        raise Conflict(f"{NO_RELAY}: send the answer as a direct transaction")
    return ctx.relay


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
    deadline passed, the caller already gave another answer, or this aggregator relays no answers;
    422: the signature is malformed or not the caller's, or the action does not fit the request's
    strategy; 503: the relay queue is full."""
    relay = relay_of(ctx)
    return await asyncio.to_thread(relay.offer, session.address, body)


@router.get("/{request_id}", response_model=AnswerOut, responses=errors(401, 403, 404, 422))
async def get_answer(session: Prosumer, request_id: RequestId, ctx: Ctx) -> AnswerOut:
    """The caller's relayed answer to the request and its state (404 when it relayed none, or when the
    request is older than the previous one: the relay forgets finished answers after that)."""
    answer = None if ctx.relay is None else ctx.relay.state(session.address, request_id)
    if answer is None:
        raise NotFound(f"no relayed answer of {session.address} to request {request_id}: POST /answers first")
    return answer
