"""Unforeseen DER outages (R12): a Poisson process of failures with exponential durations.

Outage starts form a homogeneous Poisson process with `rate_per_hour` (per simulated hour); each lasts
an exponentially distributed time with mean `mean_duration_s`. Outages may overlap; `in_outage`
handles that. A schedule is drawn once for a horizon from a seeded generator, so it is reproducible
and can be inspected before the run.
"""

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np

from domain.errors import ParameterError


class Outage(NamedTuple):
    """An outage window [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class OutageModel:
    """Failure rate (per simulated hour) and mean outage duration (s)."""

    rate_per_hour: float
    mean_duration_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_per_hour) and self.rate_per_hour >= 0):
            raise ParameterError(f"rate_per_hour must be a finite number >= 0, got {self.rate_per_hour}")
        if not (math.isfinite(self.mean_duration_s) and self.mean_duration_s > 0):
            raise ParameterError(f"mean_duration_s must be > 0, got {self.mean_duration_s}")


def sample_outages(
    model: OutageModel, start: datetime, horizon_s: float, rng: np.random.Generator
) -> list[Outage]:
    """Outages starting in [start, start + horizon_s), sorted by start."""
    if not (math.isfinite(horizon_s) and horizon_s >= 0):
        raise ParameterError(f"horizon_s must be a finite number >= 0, got {horizon_s}")
    count = int(rng.poisson(model.rate_per_hour * horizon_s / 3600.0))
    offsets = np.sort(rng.uniform(0.0, horizon_s, count))
    durations = rng.exponential(model.mean_duration_s, count)
    return [
        Outage(start + timedelta(seconds=float(o)), start + timedelta(seconds=float(o + d)))
        for o, d in zip(offsets, durations, strict=True)
    ]


def in_outage(schedule: list[Outage], t: datetime) -> bool:
    """True when `t` lies inside any outage of a start-sorted schedule."""
    last = bisect.bisect_right(schedule, t, key=lambda o: o.start)
    return any(o.end > t for o in schedule[:last])


def next_change(schedule: list[Outage], t: datetime) -> datetime | None:
    """The next outage start or end after `t`, or None (lets a caller sleep until something changes)."""
    times = [x for o in schedule for x in o if x > t]
    return min(times) if times else None
