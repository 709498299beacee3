"""The grid operator's request schedule: pure, reproducible from the scenario seed (rules R6, R12).

Requests arrive as a Poisson process in simulated time (exponential gaps at `rate_per_hour`), each up
with probability `up_share`, sized as a uniform share of the flexibility available when it is sent.
The schedule leaves room for the last request's lead time, window and return-to-baseline period.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from simulation.scenario import Scenario

STREAM = (1 << 32, 1)  # the request stream's spawn key, apart from every prosumer's (index,) keys
RETURN_TO_BASELINE_S = 900.0


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


def plan_requests(s: Scenario) -> list[PlannedRequest]:
    r = s.requests
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=STREAM))
    last_start = s.duration_s - (r.lead_time_s + r.duration_s + RETURN_TO_BASELINE_S)
    out: list[PlannedRequest] = []
    t = r.first_after_s
    while True:
        t += float(rng.exponential(3600.0 / r.rate_per_hour))
        direction = "up" if rng.random() < r.up_share else "down"
        size = float(rng.uniform(r.size_min, r.size_max))
        if t > last_start or (r.max_count is not None and len(out) >= r.max_count):
            return out
        out.append(
            PlannedRequest(len(out), round(t, 3), direction, round(size, 4), r.lead_time_s, r.duration_s)
        )


def power_for(planned: PlannedRequest, available_w: int) -> int:
    """Requested power (W) for the flexibility available in the request's direction (at least 1 W)."""
    return max(1, int(planned.size * available_w))
