"""Electricity consumer model: a BDEW standard load profile made individual.

Power drawn = base + appliance bursts, as a negative number (drawn from the grid).

- Base: the BDEW 2025 standard load profile (H25 households, G25 commercial; 15-min interval means,
  H25 including its dynamisation polynomial), normalised to 1 kWh/year and scaled to the annual demand
  not covered by bursts, times a mean-one lognormal factor driven by an OU process (sigma 0.35,
  tau 1 h for households: the spread of a single household around the averaged SLP; assumption).
- Bursts: kettles, ovens, washing machines and similar appliances that make a single household's
  load peaky. Starts form a Poisson process whose rate follows the SLP shape; each burst draws a power
  (1.5-3 kW, typical rated power of such appliances) and an exponentially distributed duration (mean
  10 min). Their expected energy is `share` of the annual demand (20 % for households; assumption), so
  the total still meets the target on average.

A step returns the mean power over [t, t + dt), so energy is exact at any step size.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from domain.errors import ParameterError
from domain.stochastic import lognormal_factor, ou_step
from domain.year_profile import YearProfile


class Sector(StrEnum):
    """Which standard load profile a consumer follows."""

    HOUSEHOLD = "household"  # BDEW H25
    COMMERCIAL = "commercial"  # BDEW G25


@dataclass(frozen=True)
class LoadSpec:
    """What a contract knows about a consumer: annual demand and sector."""

    annual_kwh: float
    sector: Sector = Sector.HOUSEHOLD

    def __post_init__(self) -> None:
        if not self.annual_kwh > 0:
            raise ParameterError(f"annual_kwh must be > 0, got {self.annual_kwh}")


@dataclass(frozen=True)
class Appliances:
    """Appliance bursts: share of annual energy, power range (W) and mean duration (s)."""

    share: float = 0.20
    min_w: float = 1500.0
    max_w: float = 3000.0
    mean_duration_s: float = 600.0

    def __post_init__(self) -> None:
        if not (0 <= self.share < 1 and 0 < self.min_w <= self.max_w and self.mean_duration_s > 0):
            raise ParameterError(
                f"invalid appliance parameters {self}: need 0 <= share < 1, 0 < min_w <= max_w"
            )

    @property
    def mean_energy_j(self) -> float:
        """Expected energy of one burst (J)."""
        return 0.5 * (self.min_w + self.max_w) * self.mean_duration_s


@dataclass(frozen=True, eq=False)
class LoadParams:
    """Everything `step` needs. `profile` is in W per (kWh/year), interval means."""

    spec: LoadSpec
    profile: YearProfile
    noise_sigma: float = 0.35
    noise_tau_s: float = 3600.0
    appliances: Appliances = Appliances()

    def __post_init__(self) -> None:
        if not (self.noise_sigma >= 0 and self.noise_tau_s > 0):
            raise ParameterError(
                f"noise_sigma must be >= 0 and noise_tau_s > 0, got {self.noise_sigma}, {self.noise_tau_s}"
            )


class Burst(NamedTuple):
    """One appliance run: start and end (Unix s) and power (W, > 0 drawn)."""

    start_s: float
    end_s: float
    power_w: float


@dataclass(frozen=True)
class LoadState:
    """OU value of the individual noise and the appliance bursts still running."""

    noise: float
    bursts: tuple[Burst, ...] = ()


@dataclass(frozen=True)
class SectorDefaults:
    """Individual variability of one sector: noise sigma, noise correlation time (s), appliances."""

    noise_sigma: float
    noise_tau_s: float
    appliances: Appliances
    slp_peak_w_per_kwh: float


SECTOR_DEFAULTS: dict[Sector, SectorDefaults] = {
    # slp_peak_w_per_kwh: maximum of the normalised profile (checked against demandlib by the tests)
    Sector.HOUSEHOLD: SectorDefaults(0.35, 3600.0, Appliances(), 0.2285),
    Sector.COMMERCIAL: SectorDefaults(0.15, 2 * 3600.0, Appliances(share=0.05), 0.2721),
}
"""Households are noisy with appliance bursts, commercial loads smoother (assumption)."""


def params_for(spec: LoadSpec, profile: YearProfile) -> LoadParams:
    """LoadParams with the defaults of the spec's sector."""
    d = SECTOR_DEFAULTS[spec.sector]
    return LoadParams(
        spec, profile, noise_sigma=d.noise_sigma, noise_tau_s=d.noise_tau_s, appliances=d.appliances
    )


def peak_demand_w(spec: LoadSpec) -> float:
    """A consumer's peak draw (W): profile peak times the 99th-percentile noise factor, plus one
    appliance at full power. Used as the contract capacity."""
    d = SECTOR_DEFAULTS[spec.sector]
    base = spec.annual_kwh * d.slp_peak_w_per_kwh * (1.0 - d.appliances.share)
    appliance = d.appliances.max_w if d.appliances.share > 0 else 0.0
    return base * lognormal_factor(2.326, d.noise_sigma) + appliance


def initial_state(params: LoadParams, rng: np.random.Generator) -> LoadState:
    """A stationary noise draw and no running appliance."""
    return LoadState(float(rng.standard_normal()))


def step(
    params: LoadParams, state: LoadState, t: datetime, dt_s: float, rng: np.random.Generator
) -> tuple[LoadState, float]:
    """Advance by `dt_s` seconds from `t`; return the new state and the mean power (W, <= 0)."""
    t0 = t.timestamp()
    shape_w = params.spec.annual_kwh * params.profile.at_epoch(t0)
    noise = ou_step(state.noise, dt_s, params.noise_tau_s, float(rng.standard_normal()))
    base_w = shape_w * (1.0 - params.appliances.share) * lognormal_factor(noise, params.noise_sigma)
    bursts = state.bursts + _new_bursts(params.appliances, shape_w, t0, dt_s, rng)
    burst_w, running = _burst_power(bursts, t0, t0 + dt_s)
    return LoadState(noise, running), -(base_w + burst_w)


def _new_bursts(
    app: Appliances, shape_w: float, t0: float, dt_s: float, rng: np.random.Generator
) -> tuple[Burst, ...]:
    if app.share <= 0:
        return ()
    rate_per_s = app.share * shape_w / app.mean_energy_j
    count = int(rng.poisson(rate_per_s * dt_s))
    if count == 0:
        return ()
    starts = t0 + rng.random(count) * dt_s
    durations = rng.exponential(app.mean_duration_s, count)
    powers = rng.uniform(app.min_w, app.max_w, count)
    return tuple(
        Burst(float(s), float(s + d), float(p)) for s, d, p in zip(starts, durations, powers, strict=True)
    )


def _burst_power(bursts: tuple[Burst, ...], t0: float, t1: float) -> tuple[float, tuple[Burst, ...]]:
    """Mean burst power over [t0, t1) and the bursts that run past t1."""
    energy = 0.0
    for b in bursts:
        overlap = min(b.end_s, t1) - max(b.start_s, t0)
        if overlap > 0:
            energy += overlap * b.power_w
    return energy / (t1 - t0), tuple(b for b in bursts if b.end_s > t1)
