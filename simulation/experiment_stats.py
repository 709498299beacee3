"""The statistics of an experiment: means with 95 % confidence intervals, paired differences. Pure.

The interval of a mean over n runs is Student's t interval, `mean ± t(0.975, n-1) x s / sqrt(n)` with
`s` the sample standard deviation (n - 1 in the denominator); one run has a mean and no interval. The
paired difference of two strategies is the same interval over the per-seed differences `b - a` of the
seeds both ran, which removes what the seed decides for both (population, weather, requests).

The interval of a median (`median_ci`) is distribution-free: the order statistics `x(k)` and
`x(n+1-k)` with the largest `k` for which a Binomial(n, 1/2) falls below `k` with probability at
most `(1 - level) / 2` (its coverage is at least `level`); below 6 values there is none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scipy.stats import t as student_t

LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def half_width(self) -> float | None:
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2


def mean_ci(values: Iterable[float | None], level: float = LEVEL) -> Estimate:
    """Mean and two-sided `level` confidence interval of the values that are not None."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return Estimate(0, None, None, None)
    mean = sum(xs) / n
    if n == 1:
        return Estimate(1, mean, None, None)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(student_t.ppf((1 + level) / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(n, mean, mean - half, mean + half)


def median_ci(values: Iterable[float], level: float = LEVEL) -> Estimate:
    """Median (as `mean`, the estimate) and its distribution-free `level` confidence interval."""
    xs = sorted(float(v) for v in values if math.isfinite(float(v)))
    n = len(xs)
    if n == 0:
        return Estimate(0, None, None, None)
    mid = n // 2
    median = xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2
    tail = (1 - level) / 2
    k, below = 0, 0.0  # below: P(Binomial(n, 1/2) < k + 1) as k grows
    while True:
        below += math.comb(n, k) / 2**n
        if below > tail:
            break
        k += 1
    if k == 0:
        return Estimate(n, median, None, None)
    return Estimate(n, median, xs[k - 1], xs[n - k])


def paired_difference(
    a: Mapping[int, float | None], b: Mapping[int, float | None], level: float = LEVEL
) -> Estimate:
    """`b - a` over the seeds both have a value for: its mean and confidence interval."""
    diffs = [
        float(vb) - float(va) for seed, va in a.items() if va is not None and (vb := b.get(seed)) is not None
    ]
    return mean_ci(diffs, level)
