"""Photovoltaic model: clear-sky yearly profiles times a stochastic clear-sky index.

Clear sky: `domain.profiles` computes once per location and orientation, with pvlib, the AC power of
1 kWp at 15-min resolution (Ineichen clear sky with the bundled Linke turbidity climatology,
Hay-Davies transposition, physical IAM, PVsyst-type cell temperature, PVWatts DC model with 14 %
system losses and the PVWatts inverter at a DC/AC ratio of 1.1), twice: "clear" with the clear-sky
beam and diffuse light on the tilted plane, and "overcast" as if the same global irradiance arrived
as isotropic diffuse light. Here they are only interpolated.

All-sky power = k * (b(k) * clear + (1 - b(k)) * overcast) * kWp, with k the clear-sky index and b(k)
the beam share relative to clear sky from the Erbs, Klein & Duffie (1982) diffuse-fraction
correlation (clearness index taken as 0.75 k). Under heavy clouds the orientation hardly matters, as
observed; under clear skies the tilt gain is kept.

Clouds: the clear-sky index k in [k_min, 1] is k_min + (1 - k_min) * Phi(a_m + s_slow * X + s_fast * Y),
with X a standard OU process of correlation time 1.5 days (day-level weather persistence) and Y one of
20 min (passing clouds); Phi is the normal CDF, which makes k bimodal (clear or overcast days) as
observed. a_m is chosen per month so that E[k] equals the monthly mean clear-sky index below:
the ratio of long-term monthly global irradiation in northern Hesse (about 1,070 kWh/m2/year, the
order of the DWD 1991-2020 maps; monthly split rounded; assumption) to pvlib's clear-sky irradiation
at Kassel. With the losses in `domain.profiles` this gives about 950 kWh/kWp/year for a south-facing
30 degree roof near Kassel, in line with typical German specific yields (Fraunhofer ISE, "Aktuelle
Fakten zur Photovoltaik in Deutschland": roughly 900-1,000 kWh/kWp). Applying one index to the
whole year ignores inter-annual variation; the cloud process does not vary by location.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from domain.errors import ParameterError
from domain.stochastic import normal_cdf, normal_ppf, ou_step
from domain.year_profile import YearProfile

MONTHLY_CLEAR_SKY_INDEX: tuple[float, ...] = (
    *(0.56, 0.61, 0.66, 0.71, 0.72, 0.72),  # January-June
    *(0.75, 0.77, 0.74, 0.66, 0.56, 0.54),  # July-December
)


@dataclass(frozen=True)
class PvSystem:
    """A PV system as a contract describes it: size (kWp DC) and location/orientation.

    azimuth_deg: 180 = south, 90 = east, 270 = west. tilt_deg: 0 = flat.
    """

    kwp: float
    lat: float
    lon: float
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0

    def __post_init__(self) -> None:
        if not self.kwp > 0:
            raise ParameterError(f"kwp must be > 0, got {self.kwp}")
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ParameterError(f"location ({self.lat}, {self.lon}) is not a valid latitude/longitude")
        if not (0 <= self.tilt_deg <= 90 and 0 <= self.azimuth_deg < 360):
            raise ParameterError(
                f"tilt must be in [0, 90] and azimuth in [0, 360), got {self.tilt_deg}, {self.azimuth_deg}"
            )


@dataclass(frozen=True)
class CloudParams:
    """Parameters of the clear-sky index process."""

    monthly_mean_index: tuple[float, ...] = MONTHLY_CLEAR_SKY_INDEX
    k_min: float = 0.1
    slow_sd: float = 1.0
    fast_sd: float = 0.5
    slow_tau_s: float = 1.5 * 86400.0
    fast_tau_s: float = 20 * 60.0
    offsets: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.monthly_mean_index) != 12:
            raise ParameterError("monthly_mean_index needs 12 values (January..December)")
        if not (0 <= self.k_min < min(self.monthly_mean_index) and max(self.monthly_mean_index) < 1):
            raise ParameterError(f"monthly means must lie in (k_min, 1) with k_min={self.k_min}")
        if not (self.slow_sd >= 0 and self.fast_sd >= 0 and self.slow_tau_s > 0 and self.fast_tau_s > 0):
            raise ParameterError("cloud standard deviations must be >= 0 and correlation times > 0")
        spread = math.sqrt(1.0 + self.slow_sd**2 + self.fast_sd**2)
        span = 1.0 - self.k_min
        offsets = tuple(spread * normal_ppf((m - self.k_min) / span) for m in self.monthly_mean_index)
        object.__setattr__(self, "offsets", offsets)


@dataclass(frozen=True, eq=False)
class PvProfile:
    """AC W per kWp (instantaneous samples) under a clear and an overcast sky."""

    clear: YearProfile
    overcast: YearProfile


@dataclass(frozen=True, eq=False)
class SolarParams:
    """Everything `step` needs."""

    system: PvSystem
    profile: PvProfile
    clouds: CloudParams = CloudParams()

    @property
    def capacity_w(self) -> float:
        """Nominal (DC) size in W."""
        return self.system.kwp * 1000.0


@dataclass(frozen=True)
class SolarState:
    """Slow and fast OU values and the resulting clear-sky index."""

    slow: float
    fast: float
    clear_sky_index: float


def clear_sky_index(clouds: CloudParams, month: int, slow: float, fast: float) -> float:
    """Clear-sky index for month 1..12 and the two standard-normal cloud components."""
    x = clouds.offsets[month - 1] + clouds.slow_sd * slow + clouds.fast_sd * fast
    return clouds.k_min + (1.0 - clouds.k_min) * normal_cdf(x)


def beam_share(k: float) -> float:
    """Beam share of global irradiance at clear-sky index k, relative to clear sky (Erbs et al. 1982)."""
    return min(1.0, max(0.0, (1.0 - _erbs_diffuse_fraction(0.75 * k)) / (1.0 - _ERBS_CLEAR)))


def _erbs_diffuse_fraction(kt: float) -> float:
    if kt <= 0.22:
        return 1.0 - 0.09 * kt
    if kt > 0.8:
        return 0.165
    return 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4


_ERBS_CLEAR = _erbs_diffuse_fraction(0.75)


def all_sky_w_per_kwp(profile: PvProfile, k: float, epoch_s: float) -> float:
    """AC power of 1 kWp at Unix time `epoch_s` for clear-sky index `k`."""
    b = beam_share(k)
    return k * (b * profile.clear.at_epoch(epoch_s) + (1.0 - b) * profile.overcast.at_epoch(epoch_s))


def initial_state(params: SolarParams, rng: np.random.Generator, month: int = 1) -> SolarState:
    """A draw from the stationary cloud distribution."""
    slow, fast = float(rng.standard_normal()), float(rng.standard_normal())
    return SolarState(slow, fast, clear_sky_index(params.clouds, month, slow, fast))


def step(
    params: SolarParams, state: SolarState, t: datetime, dt_s: float, rng: np.random.Generator
) -> tuple[SolarState, float]:
    """Advance the clouds by `dt_s` from `t`; return the new state and the mean power over the step (W)."""
    c = params.clouds
    slow = ou_step(state.slow, dt_s, c.slow_tau_s, float(rng.standard_normal()))
    fast = ou_step(state.fast, dt_s, c.fast_tau_s, float(rng.standard_normal()))
    k = clear_sky_index(c, t.month, slow, fast)
    power = all_sky_w_per_kwp(params.profile, k, t.timestamp() + 0.5 * dt_s) * params.system.kwp
    return SolarState(slow, fast, k), power
