"""Solar model: yearly yield of a German roof, day/night and season, cloud process bounds."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from domain import solar
from domain.errors import ParameterError
from domain.profiles import Profiles

KASSEL_SOUTH_30 = solar.PvSystem(kwp=1.0, lat=51.3, lon=9.5, tilt_deg=30.0, azimuth_deg=180.0)


@pytest.fixture(scope="module")
def params(profiles: Profiles) -> solar.SolarParams:
    s = KASSEL_SOUTH_30
    return solar.SolarParams(s, profiles.pv(s.lat, s.lon, s.tilt_deg, s.azimuth_deg))


@pytest.fixture(scope="module")
def year_series(params: solar.SolarParams, simulate) -> np.ndarray:
    rng = np.random.default_rng(2025)
    series, _ = simulate(solar.step, params, solar.initial_state(params, rng), rng)
    return series


def test_annual_yield_of_a_kassel_south_roof_is_typical_for_germany(year_series: np.ndarray) -> None:
    kwh_per_kwp = year_series.sum() * 0.25 / 1000.0
    assert 800.0 <= kwh_per_kwp <= 1300.0, kwh_per_kwp


def test_clear_sky_alone_yields_more_than_the_cloudy_year(
    params: solar.SolarParams, year_series: np.ndarray
) -> None:
    clear_kwh = params.profile.clear.integral() / 3.6e6
    assert clear_kwh > 1300.0
    assert clear_kwh > 1.3 * year_series.sum() * 0.25 / 1000.0


def test_power_is_zero_at_night_and_follows_the_sun(year_series: np.ndarray) -> None:
    days = year_series.reshape(365, 96)  # UTC; Kassel solar noon is about 11:22 UTC
    assert np.all(days[:, 0:8] == 0.0)  # 00:00-02:00 UTC, always night
    assert np.all(days[:, 88:96] == 0.0)  # 22:00-24:00 UTC
    noon = slice(44, 48)  # 11:00-12:00 UTC
    assert days[:, noon].mean() > 5 * days[:, 20:24].mean()  # noon beats 05:00-06:00


def test_summer_noon_beats_winter_noon(params: solar.SolarParams) -> None:
    summer = params.profile.clear.at(datetime(2025, 6, 21, 11, 20, tzinfo=UTC))
    winter = params.profile.clear.at(datetime(2025, 12, 21, 11, 20, tzinfo=UTC))
    assert summer > 1.5 * winter > 0


def test_summer_yield_exceeds_winter_yield_with_clouds(year_series: np.ndarray) -> None:
    days = year_series.reshape(365, 96).sum(axis=1)
    assert days[152:243].mean() > 3 * np.r_[days[:59], days[334:]].mean()  # Jun-Aug vs Dec-Feb


def test_clear_sky_index_stays_in_bounds_and_persists_from_day_to_day(params: solar.SolarParams) -> None:
    rng = np.random.default_rng(7)
    state = solar.initial_state(params, rng)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    k = np.empty(365 * 24)
    for i in range(k.size):
        state, _ = solar.step(params, state, t0 + timedelta(hours=i), 3600.0, rng)
        k[i] = state.clear_sky_index
    assert k.min() >= 0.1 and k.max() <= 1.0
    daily = k.reshape(365, 24).mean(axis=1)
    months = np.array([(t0 + timedelta(days=d)).month for d in range(365)])
    anomaly = daily - np.array([daily[months == m].mean() for m in months])  # without the seasonal cycle
    assert np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1] > 0.3  # day-level weather persistence
    assert daily.max() - daily.min() > 0.4  # both clear and overcast days occur


def test_same_seed_gives_the_same_series(params: solar.SolarParams, simulate) -> None:
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(99)
        series, _ = simulate(solar.step, params, solar.initial_state(params, rng), rng, steps=2000)
        runs.append(series)
    assert np.array_equal(runs[0], runs[1]) and runs[0].max() > 0


def test_east_west_roofs_yield_less_than_south(profiles: Profiles, year_series: np.ndarray, simulate) -> None:
    east = solar.PvSystem(1.0, 51.3, 9.5, 30.0, 90.0)
    params = solar.SolarParams(east, profiles.pv(51.3, 9.5, 30.0, 90.0))
    rng = np.random.default_rng(2025)
    series, _ = simulate(solar.step, params, solar.initial_state(params, rng), rng)
    ratio = series.sum() / year_series.sum()
    assert 0.7 < ratio < 0.9, ratio


@pytest.mark.parametrize(
    "kwargs",
    [dict(kwp=0.0), dict(lat=95.0), dict(tilt_deg=-5.0), dict(azimuth_deg=360.0)],
)
def test_invalid_systems_are_rejected(kwargs: dict[str, float]) -> None:
    base = dict(kwp=5.0, lat=51.3, lon=9.5, tilt_deg=30.0, azimuth_deg=180.0) | kwargs
    with pytest.raises(ParameterError):
        solar.PvSystem(**base)
