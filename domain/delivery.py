"""Delivering a commitment so that the settlement can see it (rules R6, R7, R10): pure functions.

How a delivery is measured depends on the kind (`aggregator.baseline`):

- a producer reports the power its inverter or turbine controller could give (`available_w`) and is
  measured against that, exactly (the available-power method of Germany's Redispatch 2.0);
- a battery's baseline is its setpoint, exactly known;
- a consumer is measured against a *before/after interpolated baseline*: the mean power in the
  `BASELINE_MARGIN_S` before the window and in the same span after it, joined by a straight line.

A household that simply adds its commitment to whatever it draws is measured with all of its noise:
a kettle during a 20-minute window moves a home by more than its whole commitment. So consumers do
what real flexibility providers do:

1. **Setpoint control in the window.** At the window start the DER fixes its reference: the mean power
   it delivered over the margin before the window (the same readings the aggregator holds), carried
   forward along its predictable shape (the standard load profile) to the expected level after the
   window, as a straight line like the aggregator's. During the window its energy manager holds
   `reference + sign x committed` at the grid connection, shifting controllable load by up to the 25 %
   rule's share of its capacity around what the household draws (appliance peaks beyond that show).
2. **Knowing its risk before it accepts.** What setpoint control cannot remove is the error of the
   baseline itself: the level after the window differs from the projection by the household's own
   changes. The DER estimates that error from its own history (`baseline_risk_w`): the root mean
   square of `(after - projected after) / 2` over every past before/after pair of the same geometry.
   A prosumer declines when that risk would make a delivery within the tolerance unlikely
   (`prosumer.decision`): accepting what it cannot prove only earns penalties and a lower reputation.

Every kind knows its risk (`domain.der.Der.delivery_risk_w`): a producer's is the weather taking away
the room it needs during the window (`shortfall_risk_w`), a battery's is 0.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass

BASELINE_MARGIN_S = 900.0
"""The settlement's before/after span (R6: 15 minutes of notification and of return to baseline)."""

HISTORY_S = 6 * 3600.0
"""How much of its own output a DER remembers to estimate its reference and its risk."""

RISK_STRIDE_S = 300.0
"""Spacing of the before/after pairs `baseline_risk_w` averages over."""

MIN_RISK_PAIRS = 3
"""Fewer pairs than this: the DER does not know its variability yet (`baseline_risk_w` is None)."""

Shape = Callable[[float], float]
"""The predictable part of a DER's power at a Unix time, up to a factor (clear sky, load profile)."""


def flat(_epoch_s: float) -> float:
    return 1.0


@dataclass(frozen=True)
class Step:
    start_s: float  # Unix s, simulated
    dt_s: float
    power_w: float  # mean over [start, start + dt), + to the grid


class PowerHistory:
    """The DER's delivered power, step by step, over the last `HISTORY_S` (sample and hold).

    Steps come in time order (a meter only moves forward). They are kept in flat lists with running
    sums of energy and covered time, so a mean over any span is two binary searches and a
    difference (not a scan of the whole history: a prosumer asks for many of them each time it
    estimates its risk, and at one reading a second six hours are 21,600 steps)."""

    def __init__(self, horizon_s: float = HISTORY_S) -> None:
        self.horizon_s = horizon_s
        self._start: list[float] = []
        self._end: list[float] = []
        self._power: list[float] = []
        self._energy: list[float] = [0.0]  # _energy[k]: energy of the steps before k (from _head's origin)
        self._covered: list[float] = [0.0]
        self._head = 0  # the first step still remembered

    def add(self, start_s: float, dt_s: float, power_w: float) -> None:
        if self._start and start_s < self._start[-1]:
            raise ValueError(f"history step at {start_s} before the last one at {self._start[-1]}")
        self._start.append(start_s)
        self._end.append(start_s + dt_s)
        self._power.append(power_w)
        self._energy.append(self._energy[-1] + power_w * dt_s)
        self._covered.append(self._covered[-1] + dt_s)
        cut = bisect_left(self._start, start_s - self.horizon_s, self._head)
        self._head = cut
        if cut > 1024 and cut * 2 > len(self._start):
            self._compact()

    def _compact(self) -> None:
        h = self._head
        e0, c0 = self._energy[h], self._covered[h]
        self._start, self._end, self._power = self._start[h:], self._end[h:], self._power[h:]
        self._energy = [e - e0 for e in self._energy[h:]]
        self._covered = [c - c0 for c in self._covered[h:]]
        self._head = 0

    @property
    def steps(self) -> list[Step]:
        """The remembered steps, oldest first."""
        h = self._head
        return [
            Step(s, e - s, p) for s, e, p in zip(self._start[h:], self._end[h:], self._power[h:], strict=True)
        ]

    @property
    def first_s(self) -> float | None:
        return self._start[self._head] if self._head < len(self._start) else None

    def span(self, start_s: float, end_s: float) -> range:
        """Indices of the steps that overlap [start, end)."""
        h = self._head
        return range(bisect_right(self._end, start_s, h), bisect_left(self._start, end_s, h))

    def pieces(self) -> tuple[list[float], list[float], list[float]]:
        """The remembered steps as three lists, oldest first: starts, ends, powers."""
        h = self._head
        return self._start[h:], self._end[h:], self._power[h:]

    def mean(self, start_s: float, end_s: float) -> float | None:
        """Time-weighted mean power over [start, end), or None unless the steps cover 90 % of it."""
        if end_s <= start_s:
            return None
        inside = self.span(start_s, end_s)
        if not inside:
            return None
        i, j = inside.start, inside.stop - 1
        before = max(0.0, start_s - self._start[i])  # the parts of the edge steps outside the span
        after = max(0.0, self._end[j] - end_s)
        energy = self._energy[j + 1] - self._energy[i] - self._power[i] * before - self._power[j] * after
        covered = self._covered[j + 1] - self._covered[i] - before - after
        if covered < 0.9 * (end_s - start_s) or covered <= 0:
            return None
        return energy / covered


def shape_mean(shape: Shape, start_s: float, end_s: float, points: int = 7) -> float:
    """Mean of `shape` over [start, end), sampled at `points` evenly spaced midpoints."""
    span = (end_s - start_s) / points
    return sum(shape(start_s + (i + 0.5) * span) for i in range(points)) / points


def projected_after_w(before_w: float, shape: Shape, start_s: float, end_s: float, margin_s: float) -> float:
    """The level expected after the window [start, end) from the level before it, along `shape`."""
    shape_before = shape_mean(shape, start_s - margin_s, start_s)
    shape_after = shape_mean(shape, end_s, end_s + margin_s)
    if shape_before <= 1e-9 or not math.isfinite(shape_before):
        return before_w
    return before_w * shape_after / shape_before


@dataclass(frozen=True)
class Reference:
    """The baseline the DER expects the settlement to draw through its window: a straight line."""

    start_s: float
    end_s: float
    before_w: float
    after_w: float

    def at(self, epoch_s: float) -> float:
        share = min(1.0, max(0.0, (epoch_s - self.start_s) / (self.end_s - self.start_s)))
        return self.before_w + (self.after_w - self.before_w) * share


def reference(
    history: PowerHistory, shape: Shape, start_s: float, end_s: float, margin_s: float = BASELINE_MARGIN_S
) -> Reference | None:
    """The line from the mean power before the window to its projection after it (None without the
    readings before the window, e.g. a DER that just started: it then follows its natural output)."""
    before = history.mean(start_s - margin_s, start_s)
    if before is None:
        return None
    return Reference(start_s, end_s, before, projected_after_w(before, shape, start_s, end_s, margin_s))


def baseline_risk_w(
    history: PowerHistory, shape: Shape, now_s: float, window_s: float, margin_s: float = BASELINE_MARGIN_S
) -> float | None:
    """Root mean square of the baseline error a window of `window_s` would carry, from past before/after
    pairs in the history: for each, `(after - projected after) / 2` (the mean error of the straight
    line over the window). None while the history holds fewer than `MIN_RISK_PAIRS` pairs."""
    first = history.first_s
    if first is None:
        return None
    span = 2 * margin_s + window_s
    errors = []
    a = now_s - span
    while a >= first:
        start, end = a + margin_s, a + margin_s + window_s
        before, after = history.mean(a, start), history.mean(end, end + margin_s)
        if before is not None and after is not None:
            errors.append((after - projected_after_w(before, shape, start, end, margin_s)) / 2.0)
        a -= RISK_STRIDE_S
    if len(errors) < MIN_RISK_PAIRS:
        return None
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def shortfall_risk_w(
    available: PowerHistory, room: Callable[[float], float], amount_w: float, now_s: float, window_s: float
) -> float | None:
    """A producer's delivery risk: the weather. Over every past window of `window_s` in the history that
    *started* with room for `amount_w` (as the DER has now, or it would not be asked), the mean
    shortfall `max(0, amount - room)` over the window, where `room(available power)` is how far it
    could move then; returns their root mean square (W), None with fewer than `MIN_RISK_PAIRS`."""
    starts, ends, powers = available.pieces()
    if not starts:
        return None
    rooms = [room(p) for p in powers]  # each step's room, once (the windows overlap)
    errors = []
    a = now_s - window_s
    while a >= starts[0]:
        end = a + window_s
        i, j = bisect_right(ends, a), bisect_left(starts, end)  # the steps that overlap [a, end)
        if i < j and starts[i] <= a and rooms[i] >= amount_w:
            short = sum(
                max(0.0, amount_w - rooms[k]) * (min(ends[k], end) - max(starts[k], a)) for k in range(i, j)
            )
            errors.append(short / window_s)
        a -= RISK_STRIDE_S
    if len(errors) < MIN_RISK_PAIRS:
        return None
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def controlled_power(target_w: float, low_w: float, high_w: float) -> float:
    """The power a controller reaches when it aims at `target_w` and can move within [low, high]."""
    return min(max(target_w, low_w), high_w)
