"""Population sampler: reproducibility, stability under growth, realistic sizes, consistent terms."""

import dataclasses

import numpy as np
import pytest

from domain.battery import BatteryParams
from domain.errors import ParameterError
from domain.load import LoadSpec, Sector
from domain.population import (
    PopulationConfig,
    Stream,
    sample_entry,
    sample_population,
)
from domain.solar import PvSystem
from domain.terms import TOKEN_UNIT
from domain.vocabulary import SourceKind
from domain.wind import WindParams


@pytest.fixture(scope="module")
def big() -> list:
    return sample_population(20250601, 3000)


def test_same_seed_gives_the_same_population() -> None:
    assert sample_population(42, 50) == sample_population(42, 50)


def test_different_seed_gives_a_different_population() -> None:
    a, b = sample_population(42, 50), sample_population(43, 50)
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 45


def test_adding_prosumers_keeps_the_first_ones() -> None:
    small, large = sample_population(7, 20), sample_population(7, 200)
    assert large[:20] == small
    assert sample_entry(7, 13) == small[13]


def test_runtime_streams_are_reproducible_and_independent() -> None:
    entry = sample_population(7, 3)[2]
    assert entry.rng(Stream.RUNTIME).random() == entry.rng(Stream.RUNTIME).random()
    assert entry.rng(Stream.RUNTIME).random() != entry.rng(Stream.INIT).random()
    child = np.random.SeedSequence(7).spawn(3)[2].spawn(2)[1]
    assert np.random.default_rng(child).random() == entry.rng(Stream.RUNTIME).random()


def test_kind_mix_follows_the_configured_shares(big: list) -> None:
    counts = np.bincount([e.kind for e in big], minlength=4) / len(big)
    assert counts == pytest.approx(PopulationConfig().mix, abs=0.03)
    only_wind = sample_population(1, 30, PopulationConfig(mix=(0, 1, 0, 0)))
    assert {e.kind for e in only_wind} == {SourceKind.WIND}


def test_pv_sizes_are_lognormal_around_7_kwp(big: list) -> None:
    sizes = np.array([e.spec.kwp for e in big if e.kind is SourceKind.SOLAR])
    assert len(sizes) > 800
    assert np.median(sizes) == pytest.approx(7.0, rel=0.07)
    assert sizes.min() >= 2.0 and sizes.max() <= 30.0
    assert np.mean(sizes) > np.median(sizes)  # right-skewed


def test_household_demand_and_battery_sizes_are_realistic(big: list) -> None:
    households = [
        e.spec.annual_kwh for e in big if isinstance(e.spec, LoadSpec) and e.spec.sector is Sector.HOUSEHOLD
    ]
    assert np.median(households) == pytest.approx(3500.0, rel=0.07)
    batteries = [e.spec for e in big if isinstance(e.spec, BatteryParams)]
    energy_kwh = np.array([b.capacity_wh / 1000 for b in batteries])
    assert 4.0 < np.median(energy_kwh) < 13.0 and energy_kwh.min() >= 2.0 and energy_kwh.max() <= 45.0
    c_rates = np.array([b.max_discharge_w / b.capacity_wh for b in batteries])
    assert 0.35 < c_rates.min() and c_rates.max() < 0.65


def test_small_wind_and_locations_stay_in_range(big: list) -> None:
    turbines = [e.spec for e in big if isinstance(e.spec, WindParams)]
    rated = np.array([t.capacity_w for t in turbines])
    assert rated.min() >= 3000 and rated.max() <= 10000 and len(set(rated)) > 10
    lats, lons = np.array([e.lat for e in big]), np.array([e.lon for e in big])
    assert np.all(np.abs(lats - 51.3) <= 1.5 + 1e-9) and np.all(np.abs(lons - 9.5) <= 2.0 + 1e-9)
    assert lats.std() == pytest.approx(0.5, rel=0.15)


def test_terms_are_ints_and_consistent(big: list) -> None:
    for e in big:
        t = e.terms
        assert t.kind is e.kind  # the terms carry the kind they are registered with
        values = dataclasses.astuple(t)[1:]
        assert all(type(v) is int for v in values), t
        assert 0 < t.flex_up_w <= t.capacity_w and 0 < t.flex_down_w <= t.capacity_w
        assert 0.05 * TOKEN_UNIT <= t.tariff_down <= 0.5 * TOKEN_UNIT and t.tariff_up != t.tariff_down
        assert t.max_duration_s >= 900
        if e.kind.is_producer:
            assert t.expected_wh_per_day > 0
        elif e.kind is SourceKind.CONSUMER:
            assert t.expected_wh_per_day < 0
        else:
            assert t.expected_wh_per_day == 0
        if isinstance(e.spec, PvSystem):
            assert t.capacity_w == round(e.spec.kwp * 1000)
    ups = np.array([e.terms.tariff_up for e in big]) / TOKEN_UNIT
    downs = np.array([e.terms.tariff_down for e in big]) / TOKEN_UNIT
    assert 0.10 < downs.mean() < ups.mean() < 0.30


def test_solar_contract_energy_is_the_german_yield_less_the_headroom(big: list) -> None:
    south = [e for e in big if isinstance(e.spec, PvSystem) and e.spec.azimuth_deg == 180.0]
    per_kwp_year = np.array([e.terms.expected_wh_per_day * 365 / 1000 / e.spec.kwp for e in south])
    headroom = np.array([e.terms.flex_up_w / e.terms.capacity_w for e in south])  # all below the 25 % cap
    assert np.allclose(per_kwp_year, 1000.0 * np.exp(-4.3 * headroom), rtol=0.01)
    assert 700 < per_kwp_year.min() and per_kwp_year.max() < 1000


@pytest.mark.parametrize(("seed", "n"), [(-1, 5), (1, -1)])
def test_invalid_arguments_are_rejected(seed: int, n: int) -> None:
    with pytest.raises(ParameterError):
        sample_population(seed, n)


def test_invalid_mix_is_rejected() -> None:
    with pytest.raises(ParameterError):
        PopulationConfig(mix=(0, 0, 0, 0))
