"""Battery model: SoC limits under random dispatch, efficiency, power limits."""

from datetime import UTC, datetime

import numpy as np
import pytest

from domain import battery
from domain.battery import BatteryParams, BatteryState
from domain.errors import ParameterError

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PARAMS = BatteryParams(capacity_wh=10_000.0, max_charge_w=5_000.0, max_discharge_w=4_000.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_soc_never_leaves_its_limits_under_random_dispatch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    state = battery.initial_state(PARAMS, rng)
    socs, powers = np.empty(50_000), np.empty(50_000)
    setpoints = rng.uniform(-8_000.0, 8_000.0, socs.size)
    steps = rng.choice([1.0, 60.0, 900.0, 3600.0], socs.size)
    for i in range(socs.size):
        state, powers[i] = battery.step(PARAMS, BatteryState(state.soc, setpoints[i]), T0, steps[i], rng)
        socs[i] = state.soc
    assert socs.min() >= PARAMS.soc_min and socs.max() <= PARAMS.soc_max
    assert socs.min() < PARAMS.soc_min + 0.01 and socs.max() > PARAMS.soc_max - 0.01  # limits were reached
    assert powers.min() >= -PARAMS.max_charge_w and powers.max() <= PARAMS.max_discharge_w


def test_round_trip_returns_less_energy_than_it_took() -> None:
    state = BatteryState(PARAMS.soc_min, setpoint_w=-5_000.0)
    energy_in = 0.0
    while state.soc < PARAMS.soc_max:
        state, power = battery.step(PARAMS, state, T0, 60.0, np.random.default_rng(0))
        energy_in += -power * 60.0 / 3600.0
    state = BatteryState(state.soc, setpoint_w=4_000.0)
    energy_out = 0.0
    while state.soc > PARAMS.soc_min:
        state, power = battery.step(PARAMS, state, T0, 60.0, np.random.default_rng(0))
        energy_out += power * 60.0 / 3600.0
    assert energy_in == pytest.approx(PARAMS.usable_wh / PARAMS.one_way_efficiency, rel=1e-9)
    assert energy_out < energy_in
    assert energy_out / energy_in == pytest.approx(PARAMS.round_trip_efficiency, rel=1e-9)


def test_power_is_limited_by_energy_left_in_the_step() -> None:
    almost_empty = BatteryState(PARAMS.soc_min + 0.001, setpoint_w=4_000.0)  # 10 Wh above the floor
    state, power = battery.step(PARAMS, almost_empty, T0, 3600.0, np.random.default_rng(0))
    assert power == pytest.approx(10.0 * PARAMS.one_way_efficiency)
    assert state.soc == pytest.approx(PARAMS.soc_min)


def test_idle_battery_keeps_its_charge() -> None:
    state, power = battery.step(PARAMS, BatteryState(0.5), T0, 3600.0, np.random.default_rng(0))
    assert power == 0.0 and state.soc == 0.5


def test_sustainable_limits_shrink_with_duration() -> None:
    charge_short, discharge_short = battery.power_limits_w(PARAMS, 0.5, 60.0)
    charge_long, discharge_long = battery.power_limits_w(PARAMS, 0.5, 4 * 3600.0)
    assert (charge_short, discharge_short) == (PARAMS.max_charge_w, PARAMS.max_discharge_w)
    assert discharge_long == pytest.approx(4500.0 * PARAMS.one_way_efficiency / 4)
    assert charge_long == pytest.approx(4500.0 / PARAMS.one_way_efficiency / 4)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(capacity_wh=0.0),
        dict(max_charge_w=-1.0),
        dict(round_trip_efficiency=1.2),
        dict(soc_min=0.9, soc_max=0.5),
    ],
)
def test_invalid_batteries_are_rejected(kwargs: dict[str, float]) -> None:
    base = dict(capacity_wh=10_000.0, max_charge_w=5_000.0, max_discharge_w=5_000.0) | kwargs
    with pytest.raises(ParameterError):
        BatteryParams(**base)
