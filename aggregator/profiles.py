"""Prosumer profiles (R5), as pure functions of stored facts: no database, no clock, no I/O.

- Participation: of the requests a prosumer answered in any way, the share it committed to
  (accepted under the fair strategy or selected under the reputation strategy).
- Compliance: of its measured deliveries, the share within tolerance (R10), and what it was paid.
- Energy trend: daily produced and consumed energy integrated from bucket means of power (positive
  part = produced, magnitude of the negative part = consumed), and the slope of a least-squares line
  through the daily values (Wh/day per day; None with fewer than two days).
- Forecast, by source, at `step_s` steps over `horizon_s` from now:
  * solar: the clear-sky output of 1 kWp at the aggregator's site (pvlib, via `domain.profiles`)
    scaled by the ratio of measured to clear-sky energy over the last 24 h of daylight buckets without
    incidents. The ratio carries both the plant's size and the current cloudiness; without recent
    daylight data the scale is the registered capacity.
  * wind: persistence of the last hour's mean (wind power is strongly autocorrelated over hours and
    no weather forecast is available to the aggregator).
  * consumer and battery: the mean of the same time of day over the previous (up to 7) days, which
    captures daily routines; persistence of the last hour when there is no such history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

DAY_S = 86_400
HISTORY_DAYS = 7
DAYLIGHT_W_PER_KWP = 20.0


@dataclass(frozen=True)
class ResponseFact:
    request_id: int
    kind: str
    compliant: bool | None = None
    paid: int | None = None


@dataclass(frozen=True)
class Participation:
    requests: int
    participated: int
    declined: int
    displaced: int
    rate: float | None


@dataclass(frozen=True)
class Compliance:
    deliveries: int
    compliant: int
    rate: float | None
    paid: int


@dataclass(frozen=True)
class PowerBucket:
    start: float  # simulated epoch s
    power_w: float  # mean power in [start, start + step)
    samples: int
    incidents: int = 0


@dataclass(frozen=True)
class DayEnergy:
    day: str
    produced_wh: float
    consumed_wh: float


@dataclass(frozen=True)
class ForecastResult:
    method: str
    points: list[tuple[float, float]]  # (simulated epoch s, power W)


def participation(facts: Sequence[ResponseFact]) -> Participation:
    requests = {f.request_id for f in facts}
    joined = {f.request_id for f in facts if f.kind in ("accepted", "selected")}
    declined = {f.request_id for f in facts if f.kind == "declined"}
    displaced = {f.request_id for f in facts if f.kind == "displaced"} - joined
    rate = len(joined) / len(requests) if requests else None
    return Participation(len(requests), len(joined), len(declined), len(displaced), rate)


def compliance(facts: Sequence[ResponseFact]) -> Compliance:
    delivered = [f for f in facts if f.kind == "delivered"]
    ok = sum(1 for f in delivered if f.compliant)
    paid = sum(f.paid or 0 for f in delivered)
    return Compliance(len(delivered), ok, ok / len(delivered) if delivered else None, paid)


def daily_energy(buckets: Sequence[PowerBucket], step_s: float) -> list[DayEnergy]:
    """Produced and consumed Wh per simulated UTC day, from mean power per bucket of `step_s`."""
    days: dict[str, list[float]] = {}
    hours = step_s / 3600.0
    for b in buckets:
        day = datetime.fromtimestamp(b.start, UTC).date().isoformat()
        acc = days.setdefault(day, [0.0, 0.0])
        if b.power_w >= 0:
            acc[0] += b.power_w * hours
        else:
            acc[1] -= b.power_w * hours
    return [DayEnergy(d, round(p, 3), round(c, 3)) for d, (p, c) in sorted(days.items())]


def linear_trend(values: Sequence[float]) -> float | None:
    """Least-squares slope per step of `values` (None with fewer than two)."""
    if len(values) < 2:
        return None
    slope = np.polyfit(np.arange(len(values), dtype=float), np.asarray(values, dtype=float), 1)[0]
    return float(slope)


def forecast(
    kind: str,
    history: Sequence[PowerBucket],
    now: float,
    capacity_w: float,
    step_s: int,
    horizon_s: int,
    clear_sky: Callable[[float], float] | None = None,
) -> ForecastResult:
    """Forecast of mean power per step after `now` (see the module docstring for the method per source)."""
    first = (int(now) // step_s + 1) * step_s
    times = [float(first + i * step_s) for i in range(max(1, horizon_s // step_s))]
    if kind == "solar" and clear_sky is not None:
        return _solar(history, now, capacity_w, times, clear_sky)
    if kind in ("consumer", "battery"):
        result = _same_time_of_day(history, times)
        if result is not None:
            return result
    level = _persistence(history, now)
    return ForecastResult("persistence of the last hour's mean power", [(t, level) for t in times])


def _solar(
    history: Sequence[PowerBucket],
    now: float,
    capacity_w: float,
    times: list[float],
    clear_sky: Callable[[float], float],
) -> ForecastResult:
    measured = clear = 0.0
    for b in history:
        if b.start < now - DAY_S or b.incidents or b.samples == 0:
            continue
        c = clear_sky(b.start)
        if c > DAYLIGHT_W_PER_KWP:
            measured += max(b.power_w, 0.0)
            clear += c
    if clear > 0:
        scale = measured / clear
        method = (
            f"clear-sky output at the site x recent measured/clear-sky ratio ({scale:.3f} kWp equivalent)"
        )
    else:
        scale = capacity_w / 1000.0
        method = "clear-sky output at the site x registered capacity (no recent daylight readings)"
    return ForecastResult(method, [(t, round(scale * clear_sky(t), 3)) for t in times])


def _same_time_of_day(history: Sequence[PowerBucket], times: list[float]) -> ForecastResult | None:
    by_start = {int(b.start): b.power_w for b in history if b.samples and not b.incidents}
    points: list[tuple[float, float]] = []
    for t in times:
        past = [by_start[k] for d in range(1, HISTORY_DAYS + 1) if (k := int(t) - d * DAY_S) in by_start]
        if not past:
            return None
        points.append((t, round(sum(past) / len(past), 3)))
    return ForecastResult(f"mean of the same time of day over up to {HISTORY_DAYS} previous days", points)


def _persistence(history: Sequence[PowerBucket], now: float) -> float:
    recent = [b for b in history if b.start >= now - 3600 and b.samples]
    if not recent:
        recent = [b for b in history if b.samples][-4:]
    if not recent:
        return 0.0
    total = sum(b.samples for b in recent)
    return round(sum(b.power_w * b.samples for b in recent) / total, 3)
