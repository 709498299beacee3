"""Wire models of flexibility requests (R6-R11) and prosumer profiles (R5).

Request times (`start`, `end`, `deadline`) are chain times in epoch seconds, set when the request is
opened on chain; energies in Wh; token amounts (`paid`) in FlexToken base units (1e-18 token).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aggregator.wire import EXAMPLE_ADDRESS, EXAMPLE_TIME, Address
from domain.vocabulary import Direction, Strategy


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _input(*examples: dict[str, Any]) -> ConfigDict:
    """Strict input, as every input model of `aggregator.wire`: no bool or string as a number."""
    return ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": list(examples)})


class DirectionName(StrEnum):
    """A direction on the wire: the label of `domain.vocabulary.Direction` (one vocabulary)."""

    UP = Direction.UP.label  # more power to the grid: produce more / consume less
    DOWN = Direction.DOWN.label

    @property
    def code(self) -> Direction:
        return Direction.parse(self.value)


class StrategyName(StrEnum):
    """A strategy on the wire: the label of `domain.vocabulary.Strategy`."""

    FAIR = Strategy.FAIR.label
    REPUTATION = Strategy.REPUTATION.label

    @property
    def code(self) -> Strategy:
        return Strategy.parse(self.value)


class RequestState(StrEnum):
    QUEUED = "queued"
    OPENING = "opening"
    OPEN = "open"
    SELECTING = "selecting"
    DELIVERING = "delivering"
    SETTLING = "settling"
    SETTLED = "settled"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # closed on chain without full settlement (`error` says why); nobody else paid
    FAILED = "failed"


FINAL_STATES = frozenset(
    {RequestState.SETTLED, RequestState.CANCELLED, RequestState.CLOSED, RequestState.FAILED}
)


class ResponseKind(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    APPLIED = "applied"
    SELECTED = "selected"
    DISPLACED = "displaced"
    TOPPED_UP = "topped_up"  # fair: an accepter's part of the declined share; committed_w is its total
    DELIVERED = "delivered"


class FlexRequestIn(BaseModel):
    """A flexibility request: `power_w` in `direction` for `duration_s`, starting `lead_time_s` from now."""

    model_config = _input({"direction": "up", "power_w": 20000, "duration_s": 3600, "lead_time_s": 900})
    direction: DirectionName
    power_w: int = Field(gt=0, lt=2**63)
    duration_s: int = Field(gt=0, le=7 * 86_400)
    lead_time_s: int = Field(900, ge=0, le=7 * 86_400, description="Notification lead time (R6: 15 min)")
    strategy: StrategyName | None = Field(None, description="Default: the aggregator's configured strategy")


class FlexRequestPatch(BaseModel):
    """New values for a request that has not started; omitted fields keep their value."""

    model_config = _input({"power_w": 15000})
    power_w: int | None = Field(None, gt=0, lt=2**63)
    duration_s: int | None = Field(None, gt=0, le=7 * 86_400)
    lead_time_s: int | None = Field(None, ge=0, le=7 * 86_400)


RESPONSE_EXAMPLE = {
    "prosumer": EXAMPLE_ADDRESS,
    "kind": "delivered",
    "reason": None,
    "committed_w": 2000,
    "delivered_wh": 1950,
    "compliant": True,
    "paid": 390000000000000000,
    "tx_hash": "0x" + "5e" * 32,
    "block": 1234,
    "created_at": EXAMPLE_TIME,
}


class ResponseOut(BaseModel):
    model_config = _examples(RESPONSE_EXAMPLE)
    prosumer: Address
    kind: ResponseKind
    reason: str | None
    committed_w: int | None
    delivered_wh: int | None
    compliant: bool | None
    paid: int | None
    tx_hash: str | None
    block: int | None
    created_at: datetime = Field(description="Real time the response was recorded")


REQUEST_EXAMPLE = {
    "id": 7,
    "direction": "up",
    "power_w": 20000,
    "duration_s": 3600,
    "lead_time_s": 900,
    "strategy": "fair",
    "status": "settled",
    "chain_request_id": 3,
    "opened_tx": "0x" + "4d" * 32,
    "start": 1748772900,
    "end": 1748776500,
    "deadline": 1748772600,
    "requested_wh": 20000,
    "committed_wh": 19800,
    "delivered_wh": 19500,
    "participants": 10,
    "compliant": 9,
    "paid": 3500000000000000000,
    "created_at": "2025-06-01T12:00:00Z",
    "updated_at": "2025-06-01T13:20:00Z",
    "error": None,
    "responses": [RESPONSE_EXAMPLE],
}


class FlexRequestOut(BaseModel):
    model_config = _examples(REQUEST_EXAMPLE)
    id: int
    direction: DirectionName
    power_w: int
    duration_s: int
    lead_time_s: int
    strategy: StrategyName
    status: RequestState
    chain_request_id: int | None
    opened_tx: str | None
    start: int | None = Field(description="Chain time, epoch s")
    end: int | None = Field(description="Chain time, epoch s")
    deadline: int | None = Field(description="Acceptance deadline, chain time, epoch s")
    requested_wh: int | None
    committed_wh: int | None
    delivered_wh: int | None
    participants: int | None
    compliant: int | None
    paid: int | None
    created_at: datetime
    updated_at: datetime
    error: str | None
    responses: list[ResponseOut] = Field([], description="Per-prosumer responses (detail view only)")


class FlexRequestList(BaseModel):
    model_config = _examples({"requests": [{**REQUEST_EXAMPLE, "responses": []}]})
    requests: list[FlexRequestOut]


# ------------------------------------------------------------------------------------------ profiles


class Participation(BaseModel):
    requests: int = Field(description="Requests the prosumer answered in any way")
    participated: int = Field(description="Requests it committed to (accepted or selected)")
    declined: int
    displaced: int
    rate: float | None = Field(description="participated / requests")


class Compliance(BaseModel):
    deliveries: int = Field(description="Deliveries measured and recorded")
    compliant: int
    rate: float | None = Field(description="compliant / deliveries")
    paid: int = Field(description="Token base units paid in total")


class DayEnergy(BaseModel):
    day: str = Field(description="Simulated date, UTC, YYYY-MM-DD")
    produced_wh: float
    consumed_wh: float


class EnergyTrend(BaseModel):
    days: list[DayEnergy]
    produced_trend_wh_per_day: float | None = Field(
        description="Slope of a least-squares line, Wh/day per day"
    )
    consumed_trend_wh_per_day: float | None


class ForecastPoint(BaseModel):
    timestamp: datetime
    power_w: float


class Forecast(BaseModel):
    method: str = Field(description="How the forecast was made (see README: Aggregator, profiles)")
    step_s: int
    points: list[ForecastPoint]


class ProfileOut(BaseModel):
    model_config = _examples(
        {
            "address": EXAMPLE_ADDRESS,
            "kind": "solar",
            "capacity_w": 8000,
            "participation": {"requests": 5, "participated": 4, "declined": 1, "displaced": 0, "rate": 0.8},
            "compliance": {"deliveries": 4, "compliant": 3, "rate": 0.75, "paid": 1200000000000000000},
            "energy": {
                "days": [{"day": "2025-06-01", "produced_wh": 31200.0, "consumed_wh": 0.0}],
                "produced_trend_wh_per_day": None,
                "consumed_trend_wh_per_day": None,
            },
            "forecast": {
                "method": "clear-sky x recent ratio 0.72",
                "step_s": 900,
                "points": [{"timestamp": "2025-06-01T12:15:00Z", "power_w": 5100.0}],
            },
        }
    )
    address: Address
    kind: str
    capacity_w: int
    participation: Participation
    compliance: Compliance
    energy: EnergyTrend
    forecast: Forecast
