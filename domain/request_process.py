"""The grid operator's request process: pure, reproducible from the scenario seed (rules R6, R12).

Requests arrive as a Poisson process in simulated time (exponential gaps at `rate_per_hour`), each up
with probability `up_share`, sized as a uniform share of the flexibility the aggregator says can be
delivered when it is sent (its `/overview`: what the online prosumers declare they can deliver now).
The schedule leaves room for the last request's lead time, window and return-to-baseline period.
`RequestProcess` is the scenario's `[requests]` table; the grid operator follows the plan it gives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.vocabulary import Direction

STREAM = (1 << 32, 1)  # the request stream's spawn key, apart from every prosumer's (index,) keys
RETURN_TO_BASELINE_S = 900.0


class RequestProcess(BaseModel):
    """The grid operator's requests: Poisson arrivals in simulated time (R12)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_per_hour: float = Field(1.0, gt=0, description="Mean requests per simulated hour.")
    up_share: float = Field(0.5, ge=0, le=1, description="Probability that a request asks for up.")
    size_min: float = Field(
        0.2, gt=0, le=1, description="Smallest request, as a share of the deliverable flexibility."
    )
    size_max: float = Field(
        0.6, gt=0, le=1, description="Largest request, as a share of the deliverable flexibility."
    )
    lead_time_s: int = Field(900, ge=0, description="Notification lead time, simulated seconds (R6).")
    duration_s: int = Field(1_800, gt=0, description="Window length, simulated seconds.")
    first_after_s: float = Field(600.0, ge=0, description="No request before this simulated time.")
    max_count: int | None = Field(None, ge=1, description="Stop after this many requests.")

    @model_validator(mode="after")
    def _sizes(self) -> RequestProcess:
        if self.size_min > self.size_max:
            raise ValueError(f"size_min ({self.size_min}) must not exceed size_max ({self.size_max})")
        return self


class PlanSource(Protocol):
    """What a plan is drawn from: a scenario, or the part of one the grid operator reads."""

    @property
    def seed(self) -> int: ...

    @property
    def duration_s(self) -> float: ...

    @property
    def requests(self) -> RequestProcess: ...


@dataclass(frozen=True)
class PlannedRequest:
    index: int
    at_s: float  # simulated seconds after the scenario start
    direction: str  # "up" or "down"
    size: float  # share of the available flexibility in `direction`
    lead_time_s: int
    duration_s: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_requests(s: PlanSource) -> list[PlannedRequest]:
    r = s.requests
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=STREAM))
    last_start = s.duration_s - (r.lead_time_s + r.duration_s + RETURN_TO_BASELINE_S)
    out: list[PlannedRequest] = []
    t = r.first_after_s
    while True:
        t += float(rng.exponential(3600.0 / r.rate_per_hour))
        direction = (Direction.UP if rng.random() < r.up_share else Direction.DOWN).label
        size = float(rng.uniform(r.size_min, r.size_max))
        if t > last_start or (r.max_count is not None and len(out) >= r.max_count):
            return out
        out.append(
            PlannedRequest(len(out), round(t, 3), direction, round(size, 4), r.lead_time_s, r.duration_s)
        )


def power_for(planned: PlannedRequest, available_w: int) -> int:
    """Requested power (W) for the flexibility available in the request's direction (at least 1 W)."""
    return max(1, int(planned.size * available_w))
