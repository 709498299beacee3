"""Measuring delivered flexibility from stored readings (rule R10): pure functions.

Two methods. Producers (solar, wind) that report their available power are measured against it
(`measure_available`, below); everything else against a before/after interpolated baseline.

Method 1, "before/after interpolated baseline" (`measure`):

1. The *baseline* is what the prosumer would have done without the request. It is estimated from the
   prosumer's own readings in the `margin_s` before the window (the notification lead period) and the
   `margin_s` after it (the return-to-baseline period, 15 min by default, rule R6): the mean power
   before and the mean power after, joined by a straight line across the window.
2. The *delivered energy* is the integral over the window of (measured − baseline) power, signed in
   the requested direction: up = more power to the grid, down = less. Readings are held until the next
   one (sample-and-hold), and time is simulated time.

Why this is fair for weather-driven producers: a solar or wind baseline moves during a 15-60 minute
window (the sun climbs, a front passes). A baseline taken only before the window would credit or
penalise the prosumer for the weather; interpolating to the level after the window follows the trend,
from the prosumer's own meter, with no forecast the prosumer cannot check. It also enforces the return
to baseline: a prosumer that stays modulated after the window lifts (or lowers) the "after" level and
so reduces its own measured delivery.

When one side has no readings (an outage, a prosumer that just joined) the other side alone is used;
with no readings on either side, or none in the window, nothing can be measured and the delivery counts
as zero (which the contract judges non-compliant): no data, no proof of delivery.

For a single roof or wind turbine this baseline is too noisy to judge a 10 % tolerance: a cloud
passing in the 15 minutes after the window moves the "after" level by as much as a whole commitment.

Method 2, "available power" (`measure_available`), as Germany's Redispatch 2.0 settles curtailed
renewables: with every reading a producer reports the power the weather allowed over the same span
(`available_w`, its inverter's or turbine controller's available active power). A producer that keeps
up-headroom runs at `max(0, available - headroom)` outside windows; its headroom is read from its own
readings around the window (the median of `available - power` where it produced), and the readings
must agree on it (else the reports are not plausible and method 1 applies). The delivery is the
integral over the window of `power - max(0, available - headroom)`, signed in the requested
direction: exact whatever the weather does, and what the weather took away is not delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

UP, DOWN = 0, 1


@dataclass(frozen=True)
class Sample:
    t: float  # simulated epoch seconds
    power_w: float  # positive = delivered to the grid
    available_w: float | None = None  # producers: what the weather allowed


@dataclass(frozen=True)
class Delivery:
    delivered_wh: float  # in the requested direction; negative = moved the wrong way
    baseline_before_w: float | None
    baseline_after_w: float | None
    window_samples: int
    measurable: bool

    @property
    def delivered_wh_int(self) -> int:
        """Rounded to whole Wh, as the contract records it."""
        return int(round(self.delivered_wh))


def mean_power(samples: Sequence[Sample], start: float, end: float) -> float | None:
    """Time-weighted mean power over [start, end) (sample-and-hold), or None without data there."""
    energy, covered = _integrate(samples, start, end, lambda _t: 0.0)
    return energy / covered if covered > 0 else None


def measure(
    samples: Sequence[Sample], direction: int, start: float, end: float, margin_s: float = 900.0
) -> Delivery:
    """Delivered energy (Wh) over the window [start, end) against the interpolated baseline."""
    ordered = sorted(samples, key=lambda s: s.t)
    before = mean_power(ordered, start - margin_s, start)
    after = mean_power(ordered, end, end + margin_s)
    in_window = sum(1 for s in ordered if start <= s.t < end)
    if (before is None and after is None) or in_window == 0:
        return Delivery(0.0, before, after, in_window, measurable=False)
    b0 = before if before is not None else after
    b1 = after if after is not None else before
    assert b0 is not None and b1 is not None
    span = end - start

    def baseline(t: float) -> float:
        return b0 + (b1 - b0) * (t - start) / span

    excess_ws, covered = _integrate(ordered, start, end, baseline)
    # scale up to the whole window when readings start late or stop early inside it
    excess_ws = excess_ws * span / covered if covered > 0 else 0.0
    sign = 1.0 if direction == UP else -1.0
    return Delivery(sign * excess_ws / 3600.0, before, after, in_window, measurable=True)


HEADROOM_SPREAD_W = 1.0
"""How far `available - power` may vary around a window before the available-power reports are not
plausible (they are exact for a producer running at its curtailed baseline; 1 W allows rounding) ..."""

HEADROOM_SPREAD_SHARE = 0.08
"""... plus this share of the largest power around the window: a household meter is accurate to about
1 % (IEC 62053-21 class 1, docs/realism.md): 30 readings around a window scatter over about 5 %
of the power (+-2.5 sigma), 8 % leaves room; a producer inflating its available power drifts far beyond."""


def headroom_spread_w(ordered: Sequence[Sample], start: float, end: float, margin_s: float) -> float:
    """How far `available - power` may vary around [start, end) (see HEADROOM_SPREAD_SHARE)."""
    around = [
        abs(s.power_w) for s in ordered if start - margin_s <= s.t < start or end <= s.t < end + margin_s
    ]
    return HEADROOM_SPREAD_W + HEADROOM_SPREAD_SHARE * max(around, default=0.0)


def measure_available(
    samples: Sequence[Sample], direction: int, start: float, end: float, margin_s: float = 900.0
) -> Delivery | None:
    """Delivered energy (Wh) over [start, end) against the producer's available power minus its
    headroom, or None when the readings do not support the method (a reading in the window without
    available power, or reports around the window that disagree on the headroom)."""
    ordered = sorted(samples, key=lambda s: s.t)
    inside = [s for s in ordered if start <= s.t < end]
    if not inside or any(s.available_w is None for s in inside):
        return None
    around = [
        s.available_w - s.power_w
        for s in ordered
        if s.available_w is not None
        and s.power_w > HEADROOM_SPREAD_W
        and (start - margin_s <= s.t < start or end <= s.t < end + margin_s)
    ]
    if around and max(around) - min(around) > headroom_spread_w(ordered, start, end, margin_s):
        return None
    headroom = sorted(around)[len(around) // 2] if around else 0.0
    with_baseline = [Sample(s.t, s.power_w - max(0.0, (s.available_w or 0.0) - headroom)) for s in ordered]
    excess_ws, covered = _integrate(with_baseline, start, end, lambda _t: 0.0)
    excess_ws = excess_ws * (end - start) / covered if covered > 0 else 0.0
    sign = 1.0 if direction == UP else -1.0
    return Delivery(sign * excess_ws / 3600.0, None, None, len(inside), measurable=True)


def _integrate(
    samples: Sequence[Sample], start: float, end: float, baseline: Callable[[float], float]
) -> tuple[float, float]:
    """∫(power − baseline) dt over [start, end) with each sample held until the next, and the seconds
    covered (from the first sample at or before the interval on)."""
    total, covered = 0.0, 0.0
    for i, s in enumerate(samples):
        nxt = samples[i + 1].t if i + 1 < len(samples) else None
        seg_start = max(s.t, start)
        seg_end = min(nxt if nxt is not None else s.t + _hold_s(samples), end)
        if seg_end <= seg_start:
            continue
        mid = (seg_start + seg_end) / 2
        total += (s.power_w - baseline(mid)) * (seg_end - seg_start)
        covered += seg_end - seg_start
    return total, covered


def _hold_s(samples: Sequence[Sample]) -> float:
    """How long the last sample is held: the median reading interval (1 s with a single sample)."""
    if len(samples) < 2:
        return 1.0
    gaps = sorted(b.t - a.t for a, b in zip(samples, samples[1:], strict=False) if b.t > a.t)
    return gaps[len(gaps) // 2] if gaps else 1.0
