"""Admin control: the simulated clock and token revocation (admin credential)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from aggregator.api.body import documented, json_body
from aggregator.api.deps import Admin, Ctx
from aggregator.api.responses import errors
from aggregator.context import AppContext
from aggregator.wire import ClockIn, ClockOut, RevokeIn, RevokeOut

router = APIRouter(prefix="/admin", tags=["admin"])


def _clock_out(ctx: AppContext) -> ClockOut:
    c = ctx.clock.clock
    return ClockOut(
        sim_now=ctx.clock.now(), sim_start=c.sim_start, speed=c.speed, real_start_epoch=c.real_start_epoch_s
    )


@router.get("/clock", response_model=ClockOut, responses=errors(401, 403))
def get_clock(_: Admin, ctx: Ctx) -> ClockOut:
    """The simulated clock readings are checked against."""
    return _clock_out(ctx)


@router.put(
    "/clock", response_model=ClockOut, responses=errors(401, 403, 422), openapi_extra=documented(ClockIn)
)
def set_clock(_: Admin, body: Annotated[ClockIn, json_body(ClockIn)], ctx: Ctx) -> ClockOut:
    """Sets the simulated clock: `sim_start` at real time `real_start_epoch` (default now), `speed` x real.
    A clock that would show a time outside [1970, 2200) now is refused (422) and changes nothing."""
    ctx.clock.set(body.sim_start, body.speed, body.real_start_epoch)
    return _clock_out(ctx)


@router.post(
    "/revoke", response_model=RevokeOut, responses=errors(401, 403, 422), openapi_extra=documented(RevokeIn)
)
def revoke(_: Admin, body: Annotated[RevokeIn, json_body(RevokeIn)], ctx: Ctx) -> RevokeOut:
    """Revokes every bearer token of a prosumer (it must log in again)."""
    return RevokeOut(address=body.address, revoked=ctx.auth.revoke(body.address))
