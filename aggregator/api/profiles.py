"""Prosumer profiles (R5): participation, compliance, energy trend and a short-term forecast."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from aggregator import profiles
from aggregator.api.deps import Caller, Ctx, own_or_privileged
from aggregator.api.responses import errors
from aggregator.context import AppContext
from aggregator.errors import NotFound
from aggregator.store import ReadingFilter
from aggregator.wire import EXAMPLE_ADDRESS, Address
from aggregator.wire_market import (
    Compliance,
    DayEnergy,
    EnergyTrend,
    Forecast,
    ForecastPoint,
    Participation,
    ProfileOut,
)
from contracts.types import SourceKind

router = APIRouter(prefix="/prosumers", tags=["profiles"])
STEP_S = 900


def _terms(ctx: AppContext, address: str) -> tuple[str, int]:
    """(kind, capacity W) from the registry mirror, else from the registry itself."""
    row = ctx.prosumers.get(address)
    if row is not None:
        return SourceKind(row.kind).label, row.capacity_w
    reg = ctx.registry.terms(address)
    if reg.terms.capacity_w == 0:
        raise NotFound(f"{address} has never registered: no profile")
    return reg.terms.kind.label, reg.terms.capacity_w


@router.get("/{address}/profile", response_model=ProfileOut, responses=errors(401, 403, 404, 422, 503))
def get_profile(
    address: Annotated[Address, Path(examples=[EXAMPLE_ADDRESS])],
    caller: Caller,
    ctx: Ctx,
    days: Annotated[int, Query(ge=1, le=90, examples=[7], description="Days of energy history")] = 7,
    horizon_s: Annotated[int, Query(ge=STEP_S, le=2 * 86_400, examples=[21_600])] = 21_600,
) -> ProfileOut:
    """The prosumer's profile; see the README (Aggregator, profiles) for each method."""
    own_or_privileged(caller, address)
    kind, capacity_w = _terms(ctx, address)
    facts = [
        profiles.ResponseFact(r.request_id, r.kind, r.compliant, r.paid)
        for r in ctx.requests.responses_of(address)
    ]
    now = ctx.clock.now_epoch()
    span = max(days, profiles.HISTORY_DAYS) * 86_400
    history = [
        profiles.PowerBucket(b.start, b.power_w, b.samples, b.incidents)
        for b in ctx.store.buckets(ReadingFilter(prosumer=address.lower(), start=now - span), STEP_S, 10**6)
    ]
    energy = profiles.daily_energy([b for b in history if b.start >= now - days * 86_400], STEP_S)
    clear = ctx.clear_sky.function() if kind == "solar" else None
    fc = profiles.forecast(kind, history, now, capacity_w, STEP_S, horizon_s, clear)
    part, comp = profiles.participation(facts), profiles.compliance(facts)
    return ProfileOut(
        address=address,
        kind=kind,
        capacity_w=capacity_w,
        participation=Participation(**part.__dict__),
        compliance=Compliance(**comp.__dict__),
        energy=EnergyTrend(
            days=[DayEnergy(**d.__dict__) for d in energy],
            produced_trend_wh_per_day=profiles.linear_trend([d.produced_wh for d in energy]),
            consumed_trend_wh_per_day=profiles.linear_trend([d.consumed_wh for d in energy]),
        ),
        forecast=Forecast(
            method=fc.method,
            step_s=STEP_S,
            points=[ForecastPoint(timestamp=datetime.fromtimestamp(t, UTC), power_w=p) for t, p in fc.points],
        ),
    )
