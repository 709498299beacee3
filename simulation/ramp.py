"""Who starts and who leaves, when: the ramp of DER arrivals (R13) and the injected removals (R3).

Pure functions of the scenario: times are simulated seconds from the scenario's start, and the
removals draw their randomness from their own stream of the scenario seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.scenario import Ramp, Scenario

REMOVAL_STREAM = (1 << 32, 2)  # apart from the grid operator's (1 << 32, 1) and every prosumer's (i,)
REMOVAL_SPAN = (0.1, 0.9)  # removals fall in this part of the run
REMOVAL_MIN_AGE_REAL_S = 10.0  # a prosumer is removed only once it has had time to start


@dataclass(frozen=True)
class Step:
    at_s: float
    indices: tuple[int, ...]


@dataclass(frozen=True)
class Removal:
    at_s: float
    index: int


def ramp_steps(ramp: Ramp, count: int) -> list[Step]:
    """`initial` prosumers at 0, then `add` more every `every_s` until `until` (default `count`)."""
    until = ramp.until or count
    steps = [Step(0.0, tuple(range(ramp.initial)))]
    started, k = ramp.initial, 1
    while ramp.add and started < until:
        n = min(ramp.add, until - started)
        steps.append(Step(k * ramp.every_s, tuple(range(started, started + n))))
        started, k = started + n, k + 1
    return steps


def plan_removals(s: Scenario) -> list[Removal]:
    """`removal_share` of the prosumers that start during the run leave at uniform random times in the
    middle 80% of it; each is drawn among those started at least `REMOVAL_MIN_AGE_REAL_S` real seconds
    before and not yet removed."""
    steps = [st for st in ramp_steps(s.ramp, s.population.count) if st.at_s < s.duration_s]
    population = sum(len(st.indices) for st in steps)
    n = round(s.incidents.removal_share * population)
    if n == 0:
        return []
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=REMOVAL_STREAM))
    lo, hi = (f * s.duration_s for f in REMOVAL_SPAN)
    min_age = REMOVAL_MIN_AGE_REAL_S * s.speed
    removed: set[int] = set()
    out = []
    for t in sorted(float(x) for x in rng.uniform(lo, hi, n)):
        pool = [i for st in steps if st.at_s + min_age <= t for i in st.indices if i not in removed]
        if not pool:
            continue
        index = pool[int(rng.integers(len(pool)))]
        removed.add(index)
        out.append(Removal(round(t, 3), index))
    return out


def count_at(events: list[tuple[float, int, str]], t: float) -> int:
    """Prosumers running at `t` from `(t, index, "start" | "remove")` events."""
    return sum(1 if kind == "start" else -1 for at, _, kind in events if at <= t)
