"""Small stochastic building blocks shared by the weather and load models.

All processes are standardised Ornstein-Uhlenbeck (OU) processes: stationary N(0, 1) marginal with an
exponential autocorrelation exp(-lag / tau). The update below is the exact discretisation, so a model
gives the same statistics whether it is stepped every second (prosumer processes) or every 15 minutes
(yearly tests). Gaussian values are mapped to the wanted marginal with a copula transform.
"""

import math
from statistics import NormalDist

_SQRT2 = math.sqrt(2.0)


def ou_step(x: float, dt_s: float, tau_s: float, z: float) -> float:
    """Advance a standard OU value `x` by `dt_s` seconds, given a fresh standard normal draw `z`."""
    a = math.exp(-dt_s / tau_s)
    return a * x + math.sqrt(max(0.0, 1.0 - a * a)) * z


def normal_cdf(x: float) -> float:
    """Standard normal CDF, accurate in both tails."""
    return 0.5 * math.erfc(-x / _SQRT2)


def normal_sf(x: float) -> float:
    """Standard normal survival function 1 - CDF, accurate for large x."""
    return 0.5 * math.erfc(x / _SQRT2)


def normal_ppf(p: float) -> float:
    """Inverse standard normal CDF for 0 < p < 1 (used when building parameters, not per step)."""
    return NormalDist().inv_cdf(p)


def lognormal_factor(x: float, sigma: float) -> float:
    """Mean-one lognormal factor exp(sigma * x - sigma^2 / 2) of a standard normal `x`."""
    return math.exp(sigma * x - 0.5 * sigma * sigma)
