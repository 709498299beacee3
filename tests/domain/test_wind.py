"""Wind model: capacity factor, power curve limits, autocorrelation and Weibull statistics."""

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from domain import wind
from domain.errors import ParameterError, ProfileError
from domain.profiles import Profiles

SMALL_5KW = wind.small_turbine_curve(5000.0)


def small_at_5ms() -> wind.WindParams:
    """A 5 kW turbine at a site with a 5 m/s mean at its hub height (18 m)."""
    return wind.WindParams(SMALL_5KW, hub_height_m=18.0, mean_speed_ms=5.0, measurement_height_m=18.0)


def speed_series(
    params: wind.WindParams, dt_s: float, steps: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    state = wind.initial_state(params, rng)
    t = datetime(2025, 1, 1, tzinfo=UTC)
    speeds, power = np.empty(steps), np.empty(steps)
    for i in range(steps):
        state, power[i] = wind.step(params, state, t, dt_s, rng)
        speeds[i] = state.speed_ms
    return speeds, power


def test_small_turbine_capacity_factor_at_a_5ms_site_is_plausible() -> None:
    _, power = speed_series(small_at_5ms(), 900.0, 365 * 96, seed=11)
    cf = power.mean() / SMALL_5KW.rated_w
    assert 0.10 <= cf <= 0.30, cf
    expected = wind.expected_power_w(small_at_5ms()) / SMALL_5KW.rated_w
    assert cf == pytest.approx(expected, rel=0.15)


@pytest.mark.parametrize("speed", [0.0, 1.0, 2.9, 25.01, 30.0, 40.0])
def test_power_is_zero_below_cut_in_and_above_cut_out(speed: float) -> None:
    assert SMALL_5KW.power_at(speed) == 0.0


@pytest.mark.parametrize(("speed", "expected"), [(11.5, 5000.0), (15.0, 5000.0), (25.0, 5000.0)])
def test_power_is_rated_between_rated_speed_and_cut_out(speed: float, expected: float) -> None:
    assert SMALL_5KW.power_at(speed) == pytest.approx(expected)


def test_power_curve_rises_monotonically_between_cut_in_and_rated() -> None:
    values = [SMALL_5KW.power_at(v) for v in np.arange(3.0, 11.5, 0.25)]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))
    assert 0 < SMALL_5KW.power_at(5.0) < 0.1 * 5000  # cubic: little power at low speed


def test_speed_is_autocorrelated_at_one_minute_and_weibull_distributed() -> None:
    params = small_at_5ms()
    speeds, _ = speed_series(params, 60.0, 30 * 24 * 60, seed=3)
    lag1 = np.corrcoef(speeds[:-1], speeds[1:])[0, 1]
    assert lag1 > 0.8, lag1
    # a month is only ~180 slow correlation times: check the mean loosely here, tightly below
    assert speeds.mean() == pytest.approx(5.0, rel=0.25)


def test_long_run_speed_statistics_match_the_weibull_target() -> None:
    params = small_at_5ms()
    speeds, _ = speed_series(params, 3600.0, 20 * 365 * 24, seed=5)
    k = params.weibull_k
    assert speeds.mean() == pytest.approx(5.0, rel=0.05)
    expected_var = params.weibull_scale_ms**2 * (math.gamma(1 + 2 / k) - math.gamma(1 + 1 / k) ** 2)
    assert speeds.var() == pytest.approx(expected_var, rel=0.10)
    assert speeds.min() >= 0.0


def test_hub_height_raises_the_mean_speed_by_the_log_law() -> None:
    low = wind.WindParams(SMALL_5KW, hub_height_m=10.0, mean_speed_ms=4.0)
    high = wind.WindParams(SMALL_5KW, hub_height_m=30.0, mean_speed_ms=4.0)
    assert wind.hub_mean_speed_ms(low) == pytest.approx(4.0)
    assert wind.hub_mean_speed_ms(high) == pytest.approx(4.0 * math.log(300) / math.log(100))
    assert wind.expected_power_w(high) > 1.5 * wind.expected_power_w(low)


def test_bundled_large_turbine_curve_loads_offline(profiles: Profiles) -> None:
    curve = profiles.turbine_curve("E-82/2350")
    assert curve.rated_w == pytest.approx(2_350_000.0)
    assert curve.power_at(2.0) < curve.power_at(8.0) < curve.rated_w
    assert curve.power_at(26.0) == 0.0  # beyond the last point of the curve: cut out


def test_unknown_turbine_type_names_the_known_ones(profiles: Profiles) -> None:
    with pytest.raises(ProfileError, match="E-82/2350"):
        profiles.turbine_curve("NoSuch/1")


@pytest.mark.parametrize(
    "kwargs", [dict(rated_w=0.0), dict(rated_w=5000.0, cut_in_ms=12.0), dict(rated_w=5000.0, cut_out_ms=10.0)]
)
def test_invalid_small_turbines_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ParameterError):
        wind.small_turbine_curve(**kwargs)
