"""The ramp of DER arrivals and the injected removals: pure, reproducible from the seed."""

from __future__ import annotations

import pytest

from base.errors import ConfigError
from simulation.ramp import (
    REMOVAL_MIN_AGE_REAL_S,
    count_at,
    plan_removals,
    ramp_steps,
    started_within,
    with_prosumers,
)
from simulation.scenario import Ramp, load_scenario


def test_the_ramp_starts_initial_then_adds_until_the_population() -> None:
    steps = ramp_steps(Ramp(initial=3, add=2, every_s=600.0), count=8)
    assert [(s.at_s, s.indices) for s in steps] == [
        (0.0, (0, 1, 2)),
        (600.0, (3, 4)),
        (1200.0, (5, 6)),
        (1800.0, (7,)),
    ]
    assert ramp_steps(Ramp(initial=4, add=0), count=10)[0].indices == (0, 1, 2, 3)
    assert len(ramp_steps(Ramp(initial=2, add=5, until=7), count=10)) == 2


def test_removals_are_seeded_spread_and_only_of_started_prosumers() -> None:
    s = load_scenario("quick").with_overrides(
        **{"population.count": 40, "ramp.initial": 10, "ramp.add": 10, "ramp.every_s": 3000.0},
        **{"incidents.removal_share": 0.25},
    )
    plan = plan_removals(s)
    assert plan == plan_removals(s)  # same seed, same removals
    assert len(plan) == 10 and len({r.index for r in plan}) == 10
    steps = ramp_steps(s.ramp, s.population.count)
    started_at = {i: st.at_s for st in steps for i in st.indices}
    for r in plan:
        assert 0.1 * s.duration_s <= r.at_s <= 0.9 * s.duration_s
        assert started_at[r.index] + REMOVAL_MIN_AGE_REAL_S * s.speed <= r.at_s
    assert [r.at_s for r in plan] == sorted(r.at_s for r in plan)
    other = plan_removals(s.with_overrides(seed=8))
    assert [r.index for r in other] != [r.index for r in plan]


def test_no_removals_without_a_share() -> None:
    assert plan_removals(load_scenario("quick")) == []


def test_the_running_count_follows_starts_and_removals() -> None:
    events = [(0.0, 0, "start"), (0.0, 1, "start"), (5.0, 2, "start"), (7.0, 1, "remove")]
    assert [count_at(events, t) for t in (-1.0, 0.0, 6.0, 7.0)] == [0, 2, 3, 2]


def test_prosumers_option_scales_the_ramp_to_reach_the_count_within_the_run() -> None:
    quick = load_scenario("quick")  # 10 at the start, +2 every simulated hour, 4 hours
    for n in (50, 13, 12, 400):
        s = with_prosumers(quick, n)
        assert s.population.count == n
        assert started_within(s.ramp, n, s.duration_s) == n
        steps = ramp_steps(s.ramp, n)
        assert steps[0].indices == tuple(range(10))  # the scenario's first start is kept
        assert all(st.at_s < s.duration_s for st in steps)
        assert [st.at_s for st in steps][1:] == [3600.0 * k for k in range(1, len(steps))]
    assert ramp_steps(with_prosumers(quick, 50).ramp, 50)[1].indices == tuple(range(10, 24))  # 40 in 3


def test_prosumers_option_below_the_initial_count_starts_them_all_at_once() -> None:
    s = with_prosumers(load_scenario("quick"), 5)
    assert s.population.count == 5
    assert [st.indices for st in ramp_steps(s.ramp, 5)] == [(0, 1, 2, 3, 4)]


def test_prosumers_option_out_of_range_is_one_line_naming_the_option() -> None:
    for n in (0, -3, 5_001):
        with pytest.raises(ConfigError, match=rf"^--prosumers {n}: a run has 1 to 5,000 prosumers$"):
            with_prosumers(load_scenario("quick"), n)


def test_a_ramp_without_a_step_inside_the_run_starts_everyone_at_once() -> None:
    short = load_scenario("quick").with_overrides(duration_s=3000.0)  # the first step would be at 3600
    s = with_prosumers(short, 30)
    assert [len(st.indices) for st in ramp_steps(s.ramp, 30)] == [30]
