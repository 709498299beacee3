"""What a prosumer can deliver right now (issue 12): declared by the prosumer, summed in `/overview`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from aggregator.api.body import documented, json_body
from aggregator.api.deps import Ctx, Prosumer
from aggregator.api.responses import errors
from aggregator.wire import AvailabilityAck, AvailabilityIn

router = APIRouter(tags=["readings"])


@router.put(
    "/availability",
    response_model=AvailabilityAck,
    responses=errors(401, 403, 422),
    openapi_extra=documented(AvailabilityIn),
)
async def declare(
    session: Prosumer, body: Annotated[AvailabilityIn, json_body(AvailabilityIn)], ctx: Ctx
) -> AvailabilityAck:
    """A logged-in prosumer says what it would commit per direction if asked now. The aggregator counts
    it, capped at the prosumer's contracted offer, in the deliverable flexibility of `/overview` while
    the prosumer stays online (a declaration older than twice the online window no longer counts)."""
    d = ctx.live.declare(session, body.up_w, body.down_w, ctx.clock.wall())
    return AvailabilityAck(up_w=d.up_w, down_w=d.down_w)
