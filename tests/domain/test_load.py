"""Consumer model: annual energy on target, peaky single households, the BDEW profile itself."""

from datetime import UTC, datetime

import numpy as np
import pytest

from domain import load
from domain.errors import ParameterError
from domain.load import LoadSpec, Sector
from domain.profiles import Profiles


def household(profiles: Profiles, annual_kwh: float = 3500.0) -> load.LoadParams:
    return load.params_for(LoadSpec(annual_kwh), profiles.load(Sector.HOUSEHOLD))


@pytest.mark.parametrize(
    ("sector", "annual_kwh", "seed"),
    [("household", 3500.0, 1), ("household", 1800.0, 2), ("commercial", 25000.0, 3)],
)
def test_annual_energy_is_within_10_percent_of_target(
    profiles: Profiles, simulate, sector: str, annual_kwh: float, seed: int
) -> None:
    params = load.params_for(LoadSpec(annual_kwh, Sector(sector)), profiles.load(Sector(sector)))
    rng = np.random.default_rng(seed)
    series, _ = simulate(load.step, params, load.initial_state(params, rng), rng)
    assert series.max() <= 0.0  # a consumer only draws
    energy_kwh = -series.sum() * 0.25 / 1000.0
    assert energy_kwh == pytest.approx(annual_kwh, rel=0.10), energy_kwh


def test_a_single_household_has_peaks_well_above_its_mean(profiles: Profiles, simulate) -> None:
    params = household(profiles)
    rng = np.random.default_rng(8)
    start = datetime(2025, 3, 3, tzinfo=UTC)
    series, _ = simulate(
        load.step, params, load.initial_state(params, rng), rng, dt_s=60.0, steps=7 * 1440, start=start
    )
    draw = -series
    assert draw.max() > 4 * draw.mean(), (draw.max(), draw.mean())
    assert np.percentile(draw, 99.5) > 1500.0  # appliance bursts of 1.5-3 kW show up


def test_energy_does_not_depend_on_the_step_size(profiles: Profiles, simulate) -> None:
    params = household(profiles)
    start = datetime(2025, 2, 1, tzinfo=UTC)
    energies = []
    for dt_s, steps in ((60.0, 28 * 1440), (900.0, 28 * 96)):
        rng = np.random.default_rng(4)
        series, _ = simulate(
            load.step, params, load.initial_state(params, rng), rng, dt_s=dt_s, steps=steps, start=start
        )
        energies.append(-series.sum() * dt_s)
    assert energies[0] == pytest.approx(energies[1], rel=0.08)


def test_bdew_profiles_are_normalised_and_shaped(profiles: Profiles) -> None:
    h25 = profiles.load(Sector.HOUSEHOLD)
    g25 = profiles.load(Sector.COMMERCIAL)
    for profile in (h25, g25):
        assert profile.integral() == pytest.approx(3.6e6, rel=1e-9)  # 1 kWh per kWh/year
        assert profile.values.min() > 0.0
    winter_evening = h25.at(datetime(2025, 1, 15, 17, 30, tzinfo=UTC))  # 18:30 local, Wednesday
    summer_night = h25.at(datetime(2025, 7, 16, 1, 30, tzinfo=UTC))  # 03:30 local
    assert winter_evening > 2.5 * summer_night
    office_hours = g25.at(datetime(2025, 3, 12, 10, 0, tzinfo=UTC))  # Wednesday 11:00 local
    sunday = g25.at(datetime(2025, 3, 16, 10, 0, tzinfo=UTC))
    holiday = g25.at(datetime(2025, 10, 3, 9, 0, tzinfo=UTC))  # German Unity Day, a Friday
    workday = g25.at(datetime(2025, 10, 2, 9, 0, tzinfo=UTC))
    assert office_hours > 1.5 * sunday
    assert workday > 1.5 * holiday


@pytest.mark.parametrize("sector", list(Sector))
def test_documented_profile_peaks_match_demandlib(profiles: Profiles, sector: Sector) -> None:
    peak = profiles.load(sector).values.max()
    assert load.SECTOR_DEFAULTS[sector].slp_peak_w_per_kwh == pytest.approx(peak, rel=0.01)


def test_peak_demand_of_a_3500_kwh_household_is_a_few_kilowatts() -> None:
    assert 3000.0 < load.peak_demand_w(LoadSpec(3500.0)) < 8000.0


def test_invalid_annual_demand_is_rejected() -> None:
    with pytest.raises(ParameterError):
        LoadSpec(0.0)
