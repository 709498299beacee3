"""The request schedule: reproducible from the seed, Poisson in simulated time, within the run."""

from __future__ import annotations

from statistics import mean

from domain.request_process import RETURN_TO_BASELINE_S, plan_requests, power_for
from simulation.scenario import load_scenario


def test_same_seed_same_schedule_other_seed_other_schedule() -> None:
    s = load_scenario("day")
    assert plan_requests(s) == plan_requests(s)
    assert plan_requests(s) != plan_requests(s.with_overrides(seed=12))


def test_schedule_does_not_depend_on_the_population() -> None:
    s = load_scenario("day")
    assert plan_requests(s) == plan_requests(s.with_overrides(**{"population.count": 20}))


def test_requests_fit_in_the_run_and_respect_the_limits() -> None:
    s = load_scenario("quick")
    plan = plan_requests(s)
    assert s.requests.max_count is not None
    assert 0 < len(plan) <= s.requests.max_count
    last = s.duration_s - (s.requests.lead_time_s + s.requests.duration_s + RETURN_TO_BASELINE_S)
    for p in plan:
        assert s.requests.first_after_s < p.at_s <= last
        assert s.requests.size_min <= p.size <= s.requests.size_max
        assert p.direction in ("up", "down")
    assert [p.at_s for p in plan] == sorted(p.at_s for p in plan)


def test_arrivals_are_poisson_with_the_configured_rate() -> None:
    gaps = []
    for seed in range(200):
        s = load_scenario("day").with_overrides(seed=seed, duration_s=10 * 86_400.0)
        times = [p.at_s for p in plan_requests(s)]
        gaps += [b - a for a, b in zip(times, times[1:], strict=False)]
    assert abs(mean(gaps) - 3600 / 0.5) / (3600 / 0.5) < 0.05


def test_power_is_a_share_of_what_is_available() -> None:
    p = plan_requests(load_scenario("quick"))[0]
    assert power_for(p, 10_000) == int(p.size * 10_000)
    assert power_for(p, 0) == 1
