"""Population sampler: a reproducible, realistic mix of DERs and their contract terms.

Everything is drawn from the scenario seed. Prosumer i uses the child `SeedSequence(seed).spawn(n)[i]`
(spawn key (i,)), so adding prosumers never changes the earlier ones; its runtime streams (initial
state, stepping, behaviour) are that child's own children (i, stream).

Where the numbers come from ("assumption" marks a modelling choice, not a published figure; [n] below):

| quantity | value | source |
|---|---|---|
| kind mix | solar 35 %, wind 10 %, consumer 40 %, battery 15 % | assumption [a] |
| site | 51.3 N 9.5 E (Kassel); N(0, 0.5) deg lat, N(0, 0.7) deg lon, clipped 1.5 / 2 deg | assumption |
| PV size | lognormal, median 7 kWp, sigma 0.45, clipped to 2-30 kWp | [1], issue 4; sigma assumption |
| PV tilt | 20-45 deg in 5 deg steps, uniform | assumption (pitched German roofs) |
| PV azimuth | S 50 %, SE / SW 15 % each, E / W 10 % each | assumption |
| PV yield | 1,000 kWh/kWp/year x f, f = 1 - 0.19 (d_azimuth / 90)^2 | `domain.solar` near Kassel; [2] |
| PV headroom | keeping h = headroom / kWp scales the yield by exp(-4.3 h / f) | fit to `domain.solar` |
| small wind | 3-10 kW in 0.5 kW steps, uniform | issue 4; home turbines up to 10 kW |
| hub height | 10-20 m, uniform | assumption (masts of home turbines) |
| wind speed | mean 3.5-5.0 m/s at 10 m, uniform | assumption, the order of DWD wind maps [3] |
| households | lognormal, median 3,500 kWh/year, sigma 0.35, 1,000-10,000 | [4], issue 4; sigma assumption |
| commercial | 15 % of consumers, G25, median 20,000 kWh/year, sigma 0.6 | assumption (shops, offices) |
| PV battery | 70 % of batteries: 1.0-1.5 kWh per kWp of a PV size drawn as above | issue 4; [5] |
| home battery | the other 30 %: 5-15 kWh, uniform | [6] |
| battery power | 0.4-0.6 C, same both ways | home battery data sheets (~0.5 C) |
| flex share | producers up 2-8 %, down 15-30 %; consumers 5-15 %; batteries 20-50 % | assumption [b] |
| max duration | producers 15-60 min, consumers 15-120 min, batteries energy / flex | assumption |
| tariffs | up 0.150-0.300, down 0.080-0.200 token/kWh (whole milli-tokens) | assumption [c] |

[1] Bundesnetzagentur Marktstammdatenregister: residential rooftop PV clusters at 5-10 kWp.
[2] Fraunhofer ISE, "Aktuelle Fakten zur Photovoltaik in Deutschland": about 900-1,000 kWh/kWp/year.
[3] Deutscher Wetterdienst wind maps: inland central Germany 3-5 m/s at 10 m.
[4] BDEW / co2online "Stromspiegel": about 3,500 kWh/year for a 3-4 person household.
[5] The common German sizing rule of thumb (e.g. HTW Berlin's storage guidance): about 1 kWh per kWp.
[6] RWTH ISEA "Battery Charts": new home storage systems average around 8-10 kWh.
[a] A prosumer-rich district; wind over-represented so that every kind takes part.
[b] Raising output on request means running curtailed all the time (see `domain.flexibility`): a PV
    system keeping 5 % of its kWp as headroom loses about 19 % of its yield, so producers offer
    little up-flexibility. The 25 % rule (R7) caps what is asked.
[c] The order of German balancing-energy and retail prices (0.10-0.40 EUR/kWh); up above down.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from domain.battery import BatteryParams
from domain.errors import ParameterError
from domain.flexibility import max_modulation_w
from domain.load import LoadSpec, Sector, peak_demand_w
from domain.solar import PvSystem
from domain.terms import Terms, milli_tokens
from domain.vocabulary import SourceKind
from domain.wind import WindParams, expected_power_w, small_turbine_curve

Spec = PvSystem | WindParams | LoadSpec | BatteryParams

PV_SPECIFIC_YIELD_KWH_PER_KWP = 1000.0
PV_HEADROOM_LOSS = 4.3
_TILTS = (20.0, 25.0, 30.0, 35.0, 40.0, 45.0)
_AZIMUTHS = ((180.0, 0.5), (135.0, 0.15), (225.0, 0.15), (90.0, 0.1), (270.0, 0.1))


class Stream(IntEnum):
    """Independent random streams of one prosumer."""

    INIT = 0  # initial model state
    RUNTIME = 1  # stepping the model
    BEHAVIOUR = 2  # decisions of the prosumer agent (willingness, renegotiation)
    WARM_UP = 3  # the model's past before the first reading (`domain.der.warm_up`)
    TRAITS = 4  # the prosumer's imperfections (`domain.realism.draw_traits`)
    METER = 5  # the meter's noise (`domain.realism.metered`)


@dataclass(frozen=True)
class PopulationConfig:
    """Where the population lives and the share of each kind (indexed by `SourceKind` code)."""

    site_lat: float = 51.3
    site_lon: float = 9.5
    lat_sd_deg: float = 0.5
    lon_sd_deg: float = 0.7
    max_lat_offset_deg: float = 1.5
    max_lon_offset_deg: float = 2.0
    mix: tuple[float, float, float, float] = (0.35, 0.10, 0.40, 0.15)

    def __post_init__(self) -> None:
        if len(self.mix) != len(SourceKind) or min(self.mix) < 0 or sum(self.mix) <= 0:
            raise ParameterError(
                f"mix needs {len(SourceKind)} weights >= 0 (solar, wind, consumer, battery), got {self.mix}"
            )
        if min(self.lat_sd_deg, self.lon_sd_deg, self.max_lat_offset_deg, self.max_lon_offset_deg) < 0:
            raise ParameterError("location spreads must be >= 0")


@dataclass(frozen=True)
class PopulationEntry:
    """One prosumer: its DER spec, location and contract terms, and how to get its random streams."""

    seed: int
    index: int
    kind: SourceKind
    lat: float
    lon: float
    spec: Spec
    terms: Terms  # the contract it registers (R2)

    def seed_sequence(self, stream: Stream) -> np.random.SeedSequence:
        """The seed sequence of one of this prosumer's streams."""
        return np.random.SeedSequence(self.seed, spawn_key=(self.index, int(stream)))

    def rng(self, stream: Stream) -> np.random.Generator:
        """A fresh generator for one of this prosumer's streams."""
        return np.random.default_rng(self.seed_sequence(stream))


def sample_population(seed: int, n: int, config: PopulationConfig | None = None) -> list[PopulationEntry]:
    """`n` prosumers drawn from `seed`; the first k are the same for any n >= k."""
    _check_seed(seed)
    if n < 0:
        raise ParameterError(f"population size must be >= 0, got {n}")
    cfg = config or PopulationConfig()
    children = np.random.SeedSequence(seed).spawn(n)
    return [_sample(seed, i, np.random.default_rng(child), cfg) for i, child in enumerate(children)]


def sample_entry(seed: int, index: int, config: PopulationConfig | None = None) -> PopulationEntry:
    """Prosumer `index` of the population of `seed`, without drawing the others."""
    _check_seed(seed)
    if index < 0:
        raise ParameterError(f"index must be >= 0, got {index}")
    child = np.random.SeedSequence(seed, spawn_key=(index,))
    return _sample(seed, index, np.random.default_rng(child), config or PopulationConfig())


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed must be an int >= 0, got {seed!r}")


def _sample(seed: int, index: int, rng: np.random.Generator, cfg: PopulationConfig) -> PopulationEntry:
    weights = np.asarray(cfg.mix, dtype=float)
    kind = SourceKind(int(rng.choice(len(SourceKind), p=weights / weights.sum())))
    lat = cfg.site_lat + float(
        np.clip(rng.normal(0, cfg.lat_sd_deg), -cfg.max_lat_offset_deg, cfg.max_lat_offset_deg)
    )
    lon = cfg.site_lon + float(
        np.clip(rng.normal(0, cfg.lon_sd_deg), -cfg.max_lon_offset_deg, cfg.max_lon_offset_deg)
    )
    lat, lon = round(lat, 2), round(lon, 2)
    spec = _SPEC_SAMPLERS[kind](rng, lat, lon)
    return PopulationEntry(seed, index, kind, lat, lon, spec, derive_terms(kind, spec, rng))


def _pv_size_kwp(rng: np.random.Generator) -> float:
    return round(float(np.clip(rng.lognormal(math.log(7.0), 0.45), 2.0, 30.0)), 1)


def _sample_solar(rng: np.random.Generator, lat: float, lon: float) -> PvSystem:
    tilt = float(rng.choice(_TILTS))
    azimuths, weights = zip(*_AZIMUTHS, strict=True)
    azimuth = float(rng.choice(azimuths, p=weights))
    return PvSystem(_pv_size_kwp(rng), lat, lon, tilt, azimuth)


def _sample_wind(rng: np.random.Generator, lat: float, lon: float) -> WindParams:
    rated_w = float(rng.choice(np.arange(3000, 10001, 500)))
    hub = round(float(rng.uniform(10.0, 20.0)), 1)
    mean_speed = round(float(rng.uniform(3.5, 5.0)), 2)
    return WindParams(small_turbine_curve(rated_w), hub_height_m=hub, mean_speed_ms=mean_speed)


def _sample_consumer(rng: np.random.Generator, lat: float, lon: float) -> LoadSpec:
    if rng.random() < 0.85:
        return LoadSpec(round(float(np.clip(rng.lognormal(math.log(3500.0), 0.35), 1000, 10000)), -1))
    annual = round(float(np.clip(rng.lognormal(math.log(20000.0), 0.6), 5000, 200000)), -2)
    return LoadSpec(annual, Sector.COMMERCIAL)


def _sample_battery(rng: np.random.Generator, lat: float, lon: float) -> BatteryParams:
    if rng.random() < 0.7:
        energy_kwh = _pv_size_kwp(rng) * float(rng.uniform(1.0, 1.5))
    else:
        energy_kwh = float(rng.uniform(5.0, 15.0))
    energy_wh = round(energy_kwh, 1) * 1000.0
    power_w = max(500.0, round(energy_wh * float(rng.uniform(0.4, 0.6)), -2))
    return BatteryParams(energy_wh, max_charge_w=power_w, max_discharge_w=power_w)


_SPEC_SAMPLERS: dict[SourceKind, Callable[[np.random.Generator, float, float], Spec]] = {
    SourceKind.SOLAR: _sample_solar,
    SourceKind.WIND: _sample_wind,
    SourceKind.CONSUMER: _sample_consumer,
    SourceKind.BATTERY: _sample_battery,
}


def derive_terms(kind: SourceKind, spec: Spec, rng: np.random.Generator) -> Terms:
    """Contract terms from a DER spec: capacity and expected energy from the model, the rest drawn."""
    capacity = round(capacity_w(spec))
    up_share, down_share = _FLEX_SHARES[kind]
    flex_up = min(capacity, round(capacity * float(rng.uniform(*up_share))))
    flex_down = min(capacity, round(capacity * float(rng.uniform(*down_share))))
    tariff_up = int(rng.integers(150, 301))
    tariff_down = int(rng.integers(80, 201))
    if tariff_down == tariff_up:
        tariff_up += 1
    return Terms(
        kind=kind,
        capacity_w=capacity,
        expected_wh_per_day=round(expected_wh_per_day(spec, max_modulation_w(capacity, flex_up))),
        flex_up_w=flex_up,
        flex_down_w=flex_down,
        max_duration_s=_max_duration_s(spec, max(flex_up, flex_down), rng),
        tariff_up=milli_tokens(tariff_up),
        tariff_down=milli_tokens(tariff_down),
    ).check()


_FLEX_SHARES: dict[SourceKind, tuple[tuple[float, float], tuple[float, float]]] = {
    SourceKind.SOLAR: ((0.02, 0.08), (0.15, 0.30)),
    SourceKind.WIND: ((0.02, 0.08), (0.15, 0.30)),
    SourceKind.CONSUMER: ((0.05, 0.15), (0.05, 0.15)),
    SourceKind.BATTERY: ((0.20, 0.50), (0.20, 0.50)),
}


def capacity_w(spec: Spec) -> float:
    """Nameplate power of the DER (W): kWp, rated turbine power, peak demand, battery power limit."""
    if isinstance(spec, PvSystem):
        return spec.kwp * 1000.0
    if isinstance(spec, WindParams):
        return spec.capacity_w
    if isinstance(spec, LoadSpec):
        return peak_demand_w(spec)
    return spec.capacity_w


def expected_wh_per_day(spec: Spec, headroom_w: float = 0.0) -> float:
    """Signed expected energy per day (Wh): > 0 for producers, < 0 for consumers, 0 for an idle battery.

    `headroom_w` is what a producer keeps in reserve for up-flexibility; it lowers its baseline.
    """
    if isinstance(spec, PvSystem):
        deviation = min(abs(spec.azimuth_deg - 180.0), 90.0) / 90.0
        orientation = 1.0 - 0.19 * deviation**2
        kept = math.exp(-PV_HEADROOM_LOSS * headroom_w / (spec.kwp * 1000.0) / orientation)
        return spec.kwp * PV_SPECIFIC_YIELD_KWH_PER_KWP * orientation * kept * 1000.0 / 365.0
    if isinstance(spec, WindParams):
        return expected_power_w(spec, headroom_w) * 24.0
    if isinstance(spec, LoadSpec):
        return -spec.annual_kwh * 1000.0 / 365.0
    return 0.0


def _max_duration_s(spec: Spec, flex_w: int, rng: np.random.Generator) -> int:
    if isinstance(spec, BatteryParams):
        hours = spec.usable_wh / max(flex_w, 1)
        return int(min(4 * 3600, max(900, (hours * 3600) // 900 * 900)))
    choices = (900, 1800, 3600, 5400, 7200) if isinstance(spec, LoadSpec) else (900, 1800, 2700, 3600)
    return int(rng.choice(choices))


def entry_of_kind(
    seed: int, index: int, kind: SourceKind, capacity_w: float, config: PopulationConfig | None = None
) -> PopulationEntry:
    """Prosumer `index` with a chosen kind and capacity (W): a DER added by hand (the console, R15).

    Its site, orientation, turbine, sector and terms are drawn from the same stream as `sample_entry`'s
    (so the same seed and index give the same DER); only the kind and the size are given. The capacity
    is the nameplate the contract registers: kWp for solar, rated power for wind, peak draw for a
    consumer, the power limit (0.5 C, both ways) for a battery."""
    _check_seed(seed)
    if index < 0:
        raise ParameterError(f"index must be >= 0, got {index}")
    if not (math.isfinite(capacity_w) and 100 <= capacity_w <= 1_000_000):
        raise ParameterError(f"capacity_w must be 100 W to 1 MW, got {capacity_w}")
    cfg = config or PopulationConfig()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    lat = round(cfg.site_lat + float(np.clip(rng.normal(0, cfg.lat_sd_deg), -1.5, 1.5)), 2)
    lon = round(cfg.site_lon + float(np.clip(rng.normal(0, cfg.lon_sd_deg), -2.0, 2.0)), 2)
    spec: Spec
    if kind == SourceKind.SOLAR:
        drawn = _sample_solar(rng, lat, lon)
        spec = PvSystem(round(capacity_w / 1000.0, 3), lat, lon, drawn.tilt_deg, drawn.azimuth_deg)
    elif kind == SourceKind.WIND:
        hub = round(float(rng.uniform(10.0, 20.0)), 1)
        speed = round(float(rng.uniform(3.5, 5.0)), 2)
        spec = WindParams(small_turbine_curve(float(capacity_w)), hub_height_m=hub, mean_speed_ms=speed)
    elif kind == SourceKind.CONSUMER:
        fixed = 2 * peak_demand_w(LoadSpec(1000.0)) - peak_demand_w(LoadSpec(2000.0))  # one appliance
        per_kwh = (peak_demand_w(LoadSpec(2000.0)) - peak_demand_w(LoadSpec(1000.0))) / 1000.0
        spec = LoadSpec(max(100.0, round((capacity_w - fixed) / per_kwh, -1)))
    else:
        spec = BatteryParams(
            2.0 * capacity_w, max_charge_w=float(capacity_w), max_discharge_w=float(capacity_w)
        )
    return PopulationEntry(seed, index, kind, lat, lon, spec, derive_terms(kind, spec, rng))
