"""Wind turbine model: a Weibull-distributed, time-correlated wind speed through a power curve.

Wind speed: the sum of a slow standard OU process (synoptic and diurnal variation, tau ~ 4 h) and a
small fast one (gusts, tau ~ 30 s, 5 % of the variance) is a standard normal, mapped through a Gaussian
copula to a Weibull marginal with shape k (default 2, the Rayleigh case typical of inland Germany) and
a scale chosen so the long-term mean equals the site mean. The site mean is given at a measurement
height and moved to hub height with the logarithmic wind profile v(h) ~ ln(h / z0) (roughness z0 =
0.1 m: farmland with hedges and scattered buildings; textbook value, e.g. Manwell et al., "Wind Energy
Explained").

Power: linear interpolation in a power curve; 0 below the first point and above the last (cut-out).
Large turbines use windpowerlib's bundled curves (see `domain.profiles.Profiles.turbine_curve`).
Small turbines use `small_turbine_curve`, a generic 3-10 kW curve: cut-in ~3 m/s, rated ~11-12 m/s,
cut-out ~25 m/s (the values typical of data sheets of small horizontal-axis turbines, e.g. the
Bergey Excel 10 and similar 5-10 kW machines), cubic between cut-in and rated speed.
"""

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from domain.errors import ParameterError
from domain.stochastic import normal_sf, ou_step


@dataclass(frozen=True)
class PowerCurve:
    """Electrical output (W) at hub-height wind speed (m/s); zero outside the listed speeds."""

    speeds_ms: tuple[float, ...]
    power_w: tuple[float, ...]
    name: str = "custom"

    def __post_init__(self) -> None:
        if len(self.speeds_ms) < 2 or len(self.speeds_ms) != len(self.power_w):
            raise ParameterError(f"power curve {self.name!r} needs >= 2 (speed, power) pairs of equal length")
        if any(b <= a for a, b in zip(self.speeds_ms, self.speeds_ms[1:], strict=False)):
            raise ParameterError(f"power curve {self.name!r}: wind speeds must be strictly increasing")
        if min(self.power_w) < 0 or not all(math.isfinite(p) for p in self.power_w):
            raise ParameterError(f"power curve {self.name!r}: power values must be finite and >= 0")

    @property
    def rated_w(self) -> float:
        """Highest power on the curve."""
        return max(self.power_w)

    @property
    def cut_out_ms(self) -> float:
        """Above this speed the turbine shuts down."""
        return self.speeds_ms[-1]

    def power_at(self, speed_ms: float) -> float:
        """Output power (W) at hub-height speed `speed_ms`."""
        s = self.speeds_ms
        if speed_ms < s[0] or speed_ms > s[-1]:
            return 0.0
        i = bisect.bisect_right(s, speed_ms) - 1
        if i >= len(s) - 1:
            return self.power_w[-1]
        frac = (speed_ms - s[i]) / (s[i + 1] - s[i])
        return self.power_w[i] + (self.power_w[i + 1] - self.power_w[i]) * frac


def small_turbine_curve(
    rated_w: float, cut_in_ms: float = 3.0, rated_speed_ms: float = 11.5, cut_out_ms: float = 25.0
) -> PowerCurve:
    """Generic small-turbine curve: 0 below cut-in, cubic up to rated speed, flat to cut-out."""
    if not (rated_w > 0 and 0 < cut_in_ms < rated_speed_ms < cut_out_ms):
        raise ParameterError(
            f"small turbine needs rated_w > 0 and 0 < cut-in < rated speed < cut-out, got {rated_w}, "
            f"{cut_in_ms}, {rated_speed_ms}, {cut_out_ms}"
        )
    speeds = np.unique(np.concatenate([np.arange(cut_in_ms, rated_speed_ms, 0.5), [rated_speed_ms]]))
    ramp = (speeds**3 - cut_in_ms**3) / (rated_speed_ms**3 - cut_in_ms**3)
    speeds_all = (*map(float, speeds), cut_out_ms)
    power_all = (*map(float, rated_w * ramp), float(rated_w))
    return PowerCurve(speeds_all, power_all, name=f"small-{rated_w / 1000:g}kW")


@dataclass(frozen=True)
class WindParams:
    """A turbine at a site. `mean_speed_ms` is the long-term mean at `measurement_height_m`."""

    curve: PowerCurve
    hub_height_m: float
    mean_speed_ms: float
    measurement_height_m: float = 10.0
    roughness_m: float = 0.1
    weibull_k: float = 2.0
    slow_tau_s: float = 4 * 3600.0
    fast_tau_s: float = 30.0
    gust_share: float = 0.05
    weibull_scale_ms: float = field(init=False)

    def __post_init__(self) -> None:
        positive = (
            "hub_height_m",
            "mean_speed_ms",
            "measurement_height_m",
            "weibull_k",
            "slow_tau_s",
            "fast_tau_s",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ParameterError(f"wind parameter {name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.roughness_m < min(self.hub_height_m, self.measurement_height_m):
            raise ParameterError(f"roughness_m must be > 0 and below both heights, got {self.roughness_m}")
        if not 0 <= self.gust_share < 1:
            raise ParameterError(f"gust_share must be in [0, 1), got {self.gust_share}")
        scale = hub_mean_speed_ms(self) / math.gamma(1 + 1 / self.weibull_k)
        object.__setattr__(self, "weibull_scale_ms", scale)

    @property
    def capacity_w(self) -> float:
        """Rated power of the turbine (W)."""
        return self.curve.rated_w


@dataclass(frozen=True)
class WindState:
    """Slow and fast standard-normal components and the resulting hub-height speed."""

    slow: float
    fast: float
    speed_ms: float


def hub_mean_speed_ms(params: WindParams) -> float:
    """Long-term mean speed at hub height by the logarithmic wind profile."""
    z0 = params.roughness_m
    return (
        params.mean_speed_ms * math.log(params.hub_height_m / z0) / math.log(params.measurement_height_m / z0)
    )


def weibull_speed(params: WindParams, z: float) -> float:
    """Map a standard normal `z` to the Weibull speed with the same quantile."""
    tail = normal_sf(z)
    if tail <= 0.0:
        tail = 5e-324
    return params.weibull_scale_ms * (-math.log(tail)) ** (1.0 / params.weibull_k)


def initial_state(params: WindParams, rng: np.random.Generator) -> WindState:
    """A draw from the stationary distribution."""
    slow, fast = float(rng.standard_normal()), float(rng.standard_normal())
    return WindState(slow, fast, weibull_speed(params, _mix(params, slow, fast)))


def step(
    params: WindParams, state: WindState, t: datetime, dt_s: float, rng: np.random.Generator
) -> tuple[WindState, float]:
    """Advance the wind by `dt_s` seconds from `t`; return the new state and the mean power (W, >= 0)."""
    slow = ou_step(state.slow, dt_s, params.slow_tau_s, float(rng.standard_normal()))
    fast = ou_step(state.fast, dt_s, params.fast_tau_s, float(rng.standard_normal()))
    speed = weibull_speed(params, _mix(params, slow, fast))
    return WindState(slow, fast, speed), params.curve.power_at(speed)


def expected_power_w(params: WindParams, headroom_w: float = 0.0) -> float:
    """Long-term mean output: the power curve integrated over the hub-height Weibull distribution.

    With `headroom_w` > 0 the output is curtailed by that much (see `domain.flexibility`).
    """
    k, c = params.weibull_k, params.weibull_scale_ms
    v = np.linspace(0.0, max(params.curve.cut_out_ms, c) * 1.5, 6001)
    pdf = (k / c) * (v / c) ** (k - 1) * np.exp(-((v / c) ** k))
    power = np.interp(v, params.curve.speeds_ms, params.curve.power_w, left=0.0, right=0.0)
    power = np.maximum(power - headroom_w, 0.0)
    return float(np.trapezoid(power * pdf, v))


def _mix(params: WindParams, slow: float, fast: float) -> float:
    share = params.gust_share
    return math.sqrt(1.0 - share) * slow + math.sqrt(share) * fast
