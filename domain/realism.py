"""What makes real deliveries miss: pure models of imperfect devices, links, forecasts, meters and people.

`Realism` is the scenario's `[realism]` table (its defaults are the ideal prosumer: every imperfection
off); `draw_traits(realism, kind, capacity_w, rng)` draws one prosumer's `Traits` from its own stream,
so both strategies of a run see the same population. The DER models (`domain.der`) apply the traits:

- **control delay** (`delay_s`): the home energy manager's command reaches the device late (cloud or
  Modbus polling, the device's dead time); the commitment starts that many seconds into the window;
- **ramp limit** (`ramp_w_per_s`): the inverter or actuator moves its power at most this fast;
- **forecast error** (`forecast_error_sd`): when it decides, the prosumer's forecast of its weather
  (a producer's available power) or of its load is off by a relative error drawn for each decision
  (`Der.feasible_w(..., forecast_error)`), so it may accept what the weather or the house will not give;
- **battery**: round-trip efficiency and state-of-charge window from the scenario, and a state-of-charge
  estimate that is off by `soc_error` (the battery management system's estimation error);
- **meter**: a gain error (`meter_gain`) and per-reading noise (`meter_noise_share`);
- **people**: a share of prosumers **over-promise** (accept whatever their contract allows, without
  checking what they can deliver), a share are **careless** (deliver only `care` of what they
  committed).

Sources and the values the shipped scenarios use: docs/realism.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.vocabulary import SourceKind


class Realism(BaseModel):
    """The scenario's `[realism]` table: distributions the prosumers' imperfections are drawn from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delay_median_s: float = Field(
        0.0, ge=0, le=3_600, description="Median control delay (command to device), simulated s."
    )
    delay_sigma: float = Field(0.8, ge=0, le=3, description="Log-normal sigma of the control delay.")
    full_ramp_s: dict[str, float] = Field(
        default_factory=dict,
        description="Seconds to ramp through the whole capacity, per kind (solar, wind, consumer, "
        "battery); a kind not named moves at once.",
    )
    forecast_error_sd: float = Field(
        0.0, ge=0, le=1, description="Relative error (SD) of what a prosumer believes it can move."
    )
    battery_round_trip_efficiency: float | None = Field(
        None, gt=0, le=1, description="Round-trip efficiency of every battery (default: the model's 0.90)."
    )
    battery_soc_window: tuple[float, float] | None = Field(
        None, description="Usable state-of-charge window [min, max] (default: the model's 0.05-0.95)."
    )
    soc_error_sd: float = Field(
        0.0, ge=0, le=0.5, description="SD of the battery management system's SoC estimate error."
    )
    meter_gain_sd: float = Field(0.0, ge=0, le=0.1, description="SD of a meter's gain error (relative).")
    meter_noise_share: float = Field(
        0.0, ge=0, le=0.1, description="SD of one reading's noise, relative to its power."
    )
    over_promise_share: float = Field(
        0.0, ge=0, le=1, description="Share of prosumers that accept without checking they can deliver."
    )
    careless_share: float = Field(
        0.0, ge=0, le=1, description="Share of prosumers that deliver only part of what they commit."
    )
    careless_care: tuple[float, float] = Field(
        (0.5, 0.9), description="What a careless prosumer delivers of its commitment: uniform in [lo, hi]."
    )

    @model_validator(mode="after")
    def _ranges(self) -> Realism:
        lo, hi = self.careless_care
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"careless_care needs 0 <= lo <= hi <= 1, got {self.careless_care}")
        if self.battery_soc_window is not None:
            a, b = self.battery_soc_window
            if not 0 <= a < b <= 1:
                raise ValueError(
                    f"battery_soc_window needs 0 <= min < max <= 1, got {self.battery_soc_window}"
                )
        unknown = set(self.full_ramp_s) - {k.label for k in SourceKind}
        if unknown or any(v < 0 for v in self.full_ramp_s.values()):
            raise ValueError(
                f"full_ramp_s takes seconds >= 0 for solar, wind, consumer, battery; got {self.full_ramp_s}"
            )
        return self

    @property
    def ideal(self) -> bool:
        return self == Realism()


@dataclass(frozen=True)
class Traits:
    """One prosumer's imperfections, drawn once from its own stream."""

    delay_s: float = 0.0
    ramp_w_per_s: float = math.inf
    forecast_error_sd: float = 0.0
    soc_error: float = 0.0
    meter_gain: float = 1.0
    meter_noise_share: float = 0.0
    over_promises: bool = False
    care: float = 1.0

    @property
    def kind_of_prosumer(self) -> str:
        """`over-promising`, `careless`, or `diligent` (both: over-promising)."""
        if self.over_promises:
            return "over-promising"
        return "careless" if self.care < 1.0 else "diligent"


IDEAL = Traits()


def draw_traits(realism: Realism, kind: SourceKind, capacity_w: float, rng: np.random.Generator) -> Traits:
    """One prosumer's traits. Always draws the same number of values, so a changed share or spread
    keeps every other prosumer's draws."""
    u = rng.random(6)
    z = rng.standard_normal(3)
    delay = realism.delay_median_s * math.exp(realism.delay_sigma * z[0]) if realism.delay_median_s else 0.0
    full = realism.full_ramp_s.get(kind.label)
    ramp = capacity_w / full if full else math.inf
    lo, hi = realism.careless_care
    careless = bool(u[1] < realism.careless_share)
    return Traits(
        delay_s=round(delay, 3),
        ramp_w_per_s=ramp,
        forecast_error_sd=realism.forecast_error_sd,
        soc_error=float(realism.soc_error_sd * z[1]),
        meter_gain=float(1.0 + realism.meter_gain_sd * z[2]),
        meter_noise_share=realism.meter_noise_share,
        over_promises=bool(u[0] < realism.over_promise_share),
        care=float(lo + (hi - lo) * u[2]) if careless else 1.0,
    )


def late_share(step_start_s: float, dt_s: float, window_start_s: float, delay_s: float) -> float:
    """The share of the step [start, start + dt) before the device acts on a commitment whose window
    starts at `window_start_s` and reaches it `delay_s` late."""
    if delay_s <= 0 or dt_s <= 0:
        return 0.0
    late = min(step_start_s + dt_s, window_start_s + delay_s) - max(step_start_s, window_start_s)
    return min(1.0, max(0.0, late / dt_s))


def ramp_limited(previous_w: float, target_w: float, dt_s: float, ramp_w_per_s: float) -> tuple[float, float]:
    """A device at `previous_w` aiming at `target_w`, moving at most `ramp_w_per_s`: its mean power over
    the next `dt_s` seconds and where it is at their end."""
    gap = target_w - previous_w
    if math.isinf(ramp_w_per_s) or gap == 0 or dt_s <= 0:
        return target_w, target_w
    reach_s = abs(gap) / ramp_w_per_s
    if reach_s >= dt_s:
        moved = math.copysign(ramp_w_per_s * dt_s, gap)
        return previous_w + moved / 2, previous_w + moved
    return target_w - gap * reach_s / (2 * dt_s), target_w


def metered(power_w: float, gain: float, noise_share: float, z: float) -> float:
    """What the meter reports for a true mean power: its gain error and one reading's noise."""
    return power_w * gain * (1.0 + noise_share * z)
