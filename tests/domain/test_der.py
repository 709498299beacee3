"""DERs built from population entries: stepping, commitments, headroom, outages, contract consistency."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from domain.der import BatteryDer, Der, ProducerDer, make_der
from domain.errors import FlexibilityError, ParameterError
from domain.flexibility import Commitment
from domain.outages import Outage
from domain.population import PopulationEntry, Stream, sample_population
from domain.profiles import Profiles
from domain.vocabulary import Direction, SourceKind

UP, DOWN = Direction.UP, Direction.DOWN
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
NOON = datetime(2025, 6, 20, 11, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def entries() -> dict[SourceKind, PopulationEntry]:
    first: dict[SourceKind, PopulationEntry] = {}
    for e in sample_population(31, 40):
        first.setdefault(e.kind, e)
    assert len(first) == 4
    return first


def run(der: Der, start: datetime, dt_s: float, steps: int, rng: np.random.Generator) -> np.ndarray:
    return np.array([der.step(start + timedelta(seconds=i * dt_s), dt_s, rng) for i in range(steps)])


@pytest.mark.parametrize("kind", list(SourceKind))
def test_each_kind_steps_with_its_sign_and_is_reproducible(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles, kind: SourceKind
) -> None:
    series = []
    for _ in range(2):
        der = make_der(entries[kind], profiles)
        series.append(run(der, NOON, 60.0, 600, entries[kind].rng(Stream.RUNTIME)))
        assert der.kind is kind
    assert np.array_equal(series[0], series[1])
    if kind.is_producer:
        assert series[0].min() >= 0.0
    elif kind is SourceKind.CONSUMER:
        assert series[0].max() <= 0.0 and series[0].min() < 0.0
    else:
        assert np.all(series[0] == 0.0)  # an idle battery


@pytest.mark.parametrize(
    ("kind", "rel"), [(SourceKind.SOLAR, 0.15), (SourceKind.WIND, 0.30), (SourceKind.CONSUMER, 0.10)]
)
def test_a_year_of_baseline_matches_the_contracted_daily_energy(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles, kind: SourceKind, rel: float
) -> None:
    entry = entries[kind]
    der = make_der(entry, profiles)
    series = run(der, YEAR_START, 900.0, 365 * 96, entry.rng(Stream.RUNTIME))
    wh_per_day = series.sum() * 0.25 / 365
    assert wh_per_day == pytest.approx(entry.terms.expected_wh_per_day, rel=rel)


def test_solar_keeps_headroom_and_releases_it_when_called_up(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles
) -> None:
    der = make_der(entries[SourceKind.SOLAR], profiles)
    assert isinstance(der, ProducerDer)
    rng = np.random.default_rng(0)
    der.step(NOON, 1.0, rng)
    assert der.available_w > der.headroom_w > 0
    assert der.last_power_w == pytest.approx(der.available_w - der.headroom_w)
    der.commit(Commitment(UP, der.headroom_w, NOON, NOON + timedelta(minutes=15)))
    power = der.step(NOON + timedelta(seconds=1), 1.0, rng)
    assert power == pytest.approx(der.available_w)
    power = der.step(NOON + timedelta(minutes=15), 1.0, rng)
    assert power == pytest.approx(der.available_w - der.headroom_w)  # back to baseline


def test_consumer_modulates_inside_the_window_only(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles
) -> None:
    der = make_der(entries[SourceKind.CONSUMER], profiles)
    limit = der.limit_w(DOWN)
    der.commit(Commitment(DOWN, limit, NOON, NOON + timedelta(minutes=30)))
    rng = np.random.default_rng(1)
    for minute in range(-5, 40):
        t = NOON + timedelta(minutes=minute)
        power = der.step(t, 60.0, rng)
        expected = der.last_baseline_w - limit if 0 <= minute < 30 else der.last_baseline_w
        assert power == pytest.approx(expected)


def test_battery_discharges_up_charges_down_and_honours_soc(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles
) -> None:
    der = make_der(entries[SourceKind.BATTERY], profiles)
    assert isinstance(der, BatteryDer)
    rng = np.random.default_rng(2)
    soc0, limit = der.soc, der.limit_w(UP)
    der.commit(Commitment(UP, limit, NOON, NOON + timedelta(hours=1)))
    assert der.step(NOON, 60.0, rng) == pytest.approx(limit)
    assert der.soc < soc0
    der.commit(Commitment(DOWN, der.limit_w(DOWN), NOON, NOON + timedelta(hours=1)))
    assert der.step(NOON + timedelta(minutes=1), 60.0, rng) == pytest.approx(-der.limit_w(DOWN))
    long_window = der.feasible_w(UP, 100 * 3600.0)
    assert long_window < der.feasible_w(UP, 60.0) <= limit


def test_commitments_above_the_contract_or_25_percent_are_refused(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles
) -> None:
    der = make_der(entries[SourceKind.CONSUMER], profiles)
    assert der.limit_w(UP) <= 0.25 * der.capacity_w
    with pytest.raises(FlexibilityError, match="at most"):
        der.commit(Commitment(UP, der.limit_w(UP) + 1.0, NOON, NOON + timedelta(minutes=5)))


def test_a_der_in_outage_delivers_nothing(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles
) -> None:
    outage = Outage(NOON, NOON + timedelta(minutes=10))
    der = make_der(entries[SourceKind.CONSUMER], profiles, outages=[outage])
    rng = np.random.default_rng(3)
    assert der.step(NOON - timedelta(minutes=1), 60.0, rng) < 0
    assert der.step(NOON + timedelta(minutes=5), 60.0, rng) == 0.0
    assert der.last_baseline_w < 0  # the load model kept running
    assert der.step(NOON + timedelta(minutes=10), 60.0, rng) < 0


def test_non_positive_steps_are_rejected(
    entries: dict[SourceKind, PopulationEntry], profiles: Profiles
) -> None:
    der = make_der(entries[SourceKind.WIND], profiles)
    with pytest.raises(ParameterError):
        der.step(NOON, 0.0, np.random.default_rng(0))
