"""Who starts and who leaves, when: the ramp of DER arrivals (R13) and the injected removals (R3).

Pure functions of the scenario: times are simulated seconds from the scenario's start, and the
removals draw their randomness from their own stream of the scenario seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from base.errors import ConfigError
from simulation.scenario import Ramp, Scenario, validate

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


def ramp_for(ramp: Ramp, count: int, duration_s: float) -> Ramp:
    """The ramp that brings `count` prosumers within a run of `duration_s` simulated seconds (what
    `--prosumers N` asks for): the scenario's first start and its step times are kept, the size of each
    step is scaled so that the last step that starts before the end reaches `count`. A count at most the
    initial one starts them all at once; a ramp with no step inside the run starts them all at once too."""
    if count <= ramp.initial:
        return ramp.model_copy(update={"initial": count, "add": 0, "until": None})
    steps_in_run = max(0, math.ceil(duration_s / ramp.every_s) - 1) if ramp.add else 0
    if steps_in_run == 0:
        return ramp.model_copy(update={"initial": count, "add": 0, "until": None})
    add = math.ceil((count - ramp.initial) / steps_in_run)
    return ramp.model_copy(update={"add": add, "until": None})


def started_within(ramp: Ramp, count: int, duration_s: float) -> int:
    """How many prosumers the ramp has started before the run ends."""
    return sum(len(st.indices) for st in ramp_steps(ramp, count) if st.at_s < duration_s)


MAX_PROSUMERS = 5_000  # population.count's bound


def with_prosumers(s: Scenario, count: int, option: str = "--prosumers") -> Scenario:
    """`s` with `count` prosumers, all started within the run (`ramp_for`); `ConfigError` naming
    `option` when that cannot be."""
    if not 1 <= count <= MAX_PROSUMERS:
        raise ConfigError(f"{option} {count}: a run has 1 to {MAX_PROSUMERS:,} prosumers")
    ramp = ramp_for(s.ramp, count, s.duration_s)
    changed = s.model_copy(update={"population": s.population.model_copy(update={"count": count})})
    changed = changed.model_copy(update={"ramp": ramp})
    out = validate(changed.model_dump(), f"{s.name} with {option} {count}")
    started = started_within(out.ramp, count, out.duration_s)
    if started != count:  # cannot happen with ramp_for; a guard against a future change of it
        raise ConfigError(f"{option} {count}: the ramp starts only {started} within the run")
    return out
