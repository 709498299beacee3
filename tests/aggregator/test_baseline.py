"""Delivered-energy measurement against the before/after interpolated baseline."""

from __future__ import annotations

import numpy as np
import pytest

from aggregator.baseline import DOWN, UP, Sample, mean_power, measure, measure_available

START, END, MARGIN = 10_000.0, 10_900.0, 900.0  # a 15-minute window


def series(power, t0: float = START - MARGIN, t1: float = END + MARGIN, step: float = 1.0) -> list[Sample]:
    out, t = [], t0
    while t < t1:
        out.append(Sample(t, power(t)))
        t += step
    return out


def test_flat_baseline_up() -> None:
    samples = series(lambda t: 1_500.0 if START <= t < END else 1_000.0)
    d = measure(samples, UP, START, END, MARGIN)
    assert d.measurable
    assert d.delivered_wh == pytest.approx(500 * 0.25, rel=1e-6)
    assert d.delivered_wh_int == 125


def test_solar_ramp_is_followed_not_credited() -> None:
    # output climbs 2 W/s across the whole period (the sun rising); the prosumer adds 300 W in the window
    def solar(t: float) -> float:
        return 1_000.0 + 2.0 * (t - START) + (300.0 if START <= t < END else 0.0)

    d = measure(series(solar), UP, START, END, MARGIN)
    assert d.delivered_wh == pytest.approx(300 * 0.25, rel=0.02)
    # a baseline from before the window only would credit the sunrise to the prosumer
    inside, before = mean_power(series(solar), START, END), mean_power(series(solar), START - MARGIN, START)
    assert inside is not None and before is not None
    pre_only = (inside - before) * 0.25
    assert pre_only > 2 * d.delivered_wh


def test_down_request_counts_a_reduction() -> None:
    samples = series(lambda t: 2_000.0 if START <= t < END else 3_000.0)
    assert measure(samples, DOWN, START, END, MARGIN).delivered_wh == pytest.approx(250.0)


def test_wrong_direction_is_negative() -> None:
    samples = series(lambda t: 3_500.0 if START <= t < END else 3_000.0)
    assert measure(samples, DOWN, START, END, MARGIN).delivered_wh == pytest.approx(-125.0)


def test_staying_modulated_after_the_window_reduces_delivery() -> None:
    returns = series(lambda t: 1_500.0 if START <= t < END else 1_000.0)
    stays = series(lambda t: 1_500.0 if t >= START else 1_000.0)
    assert measure(returns, UP, START, END, MARGIN).delivered_wh == pytest.approx(125.0)
    # the "after" level rises to 1.5 kW: the baseline climbs across the window and half the credit goes
    assert measure(stays, UP, START, END, MARGIN).delivered_wh == pytest.approx(62.5)


def test_one_side_missing_uses_the_other() -> None:
    samples = [s for s in series(lambda t: 1_400.0 if START <= t < END else 1_000.0) if s.t >= START]
    d = measure(samples, UP, START, END, MARGIN)
    assert d.baseline_before_w is None and d.baseline_after_w == pytest.approx(1_000.0)
    assert d.delivered_wh == pytest.approx(100.0)


@pytest.mark.parametrize("keep", [lambda s: False, lambda s: not (START <= s.t < END)])
def test_nothing_to_measure_counts_zero(keep) -> None:
    samples = [s for s in series(lambda t: 1_000.0) if keep(s)]
    d = measure(samples, UP, START, END, MARGIN)
    assert not d.measurable and d.delivered_wh == 0.0


def test_irregular_readings_are_held_until_the_next() -> None:
    # readings every 60 s; 1 kW extra for the whole window
    samples = series(lambda t: 2_000.0 if START <= t < END else 1_000.0, step=60.0)
    assert measure(samples, UP, START, END, MARGIN).delivered_wh == pytest.approx(250.0, rel=1e-6)


def producer(
    available: list[float], headroom: float, moved: dict[int, float], dt: float = 60.0
) -> list[Sample]:
    """A producer's readings: curtailed by `headroom`, moved by `moved[k]` W at step k (clamped)."""
    out = []
    for k, a in enumerate(available):
        power = min(max(max(0.0, a - headroom) + moved.get(k, 0.0), 0.0), a)
        out.append(Sample(k * dt, power, a))
    return out


def clouds(n: int, seed: int = 5) -> list[float]:
    rng = np.random.default_rng(seed)
    # never below 800 W + the headroom: the weather leaves room for every test commitment
    return list(np.clip(3_000 + np.cumsum(rng.normal(0, 300, n)), 1_500, 6_000))


def test_available_power_measures_a_producer_exactly_whatever_the_clouds() -> None:
    weather = clouds(60)  # an hour of minute readings; window = minutes 15..35
    up = producer(weather, 400.0, {k: 300.0 for k in range(15, 35)})
    d = measure_available(up, UP, 15 * 60, 35 * 60)
    assert d is not None and d.delivered_wh == pytest.approx(300.0 * 20 / 60)
    down = producer(weather, 400.0, {k: -800.0 for k in range(15, 35)})
    d = measure_available(down, DOWN, 15 * 60, 35 * 60)
    assert d is not None and d.delivered_wh == pytest.approx(800.0 * 20 / 60)
    # the before/after baseline of the same readings is off by the clouds
    assert abs(measure(down, DOWN, 15 * 60, 35 * 60).delivered_wh - 800.0 * 20 / 60) > 10


def test_what_the_weather_takes_is_not_delivered() -> None:
    dim = [3_000.0] * 15 + [500.0] * 20 + [3_000.0] * 25  # a thick cloud over the window
    d = measure_available(producer(dim, 400.0, {k: -800.0 for k in range(15, 35)}), DOWN, 900, 2_100)
    assert d is not None and d.delivered_wh == pytest.approx(100.0 * 20 / 60)  # only 100 W were there


def test_a_meter_accurate_to_one_percent_still_measures_by_available_power() -> None:
    weather = clouds(60)
    rng = np.random.default_rng(3)
    exact = producer(weather, 400.0, {k: -800.0 for k in range(15, 35)})
    noisy = [
        Sample(s.t, s.power_w * 1.004 * (1 + 0.01 * rng.standard_normal()), s.available_w) for s in exact
    ]
    d = measure_available(noisy, DOWN, 900, 2_100)
    assert d is not None and d.delivered_wh == pytest.approx(800.0 * 20 / 60, rel=0.05)


def test_available_power_needs_every_window_reading_and_consistent_reports() -> None:
    weather = clouds(60)
    readings = producer(weather, 400.0, {k: -800.0 for k in range(15, 35)})
    gap = [s if s.t != 20 * 60 else Sample(s.t, s.power_w) for s in readings]
    assert measure_available(gap, DOWN, 900, 2_100) is None
    inflated = [
        Sample(s.t, s.power_w, (s.available_w or 0.0) + (50 * s.t / 60 if s.available_w else 0))
        for s in readings
    ]
    assert measure_available(inflated, DOWN, 900, 2_100) is None  # the headroom would drift: implausible
    assert measure_available([Sample(s.t, s.power_w) for s in readings], DOWN, 900, 2_100) is None
