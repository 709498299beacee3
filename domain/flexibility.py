"""Flexibility rules of the fair strategy (R7): how far a DER may and can move its power.

- The modulation asked of a DER is at most min(contracted flexibility, 25 % of its capacity).
- UP means more power to the grid: a producer produces more, a consumer consumes less, a battery
  discharges (or charges less). DOWN is the opposite. With the sign convention (+ to the grid) both
  are `baseline + sign * committed`, clamped to what the DER can physically do (its `Envelope`).
- Headroom: a producer cannot produce more than the weather allows. A producer with contracted
  up-flexibility therefore runs curtailed in its baseline by its headroom,
  `max_modulation_w(capacity, flex_up)`, and releases it when called UP. This costs energy all the
  time; it is the price of being able to raise output on request.
- A consumer's power stays in [-capacity, 0]: it can reduce its draw to zero but never produce.
- A battery moves both ways within its power limits and the SoC it can sustain over the window.
- Outside the commitment window the DER returns to its baseline.
"""

from dataclasses import dataclass
from datetime import datetime

from domain.errors import FlexibilityError
from domain.vocabulary import Direction

RULE_SHARE = 0.25
"""The seed's simplification (R7): modulation stays within 25 % of the DER's capacity."""


@dataclass(frozen=True)
class Envelope:
    """The range of power (W, + to the grid) a DER can reach right now."""

    min_w: float
    max_w: float

    def clamp(self, power_w: float) -> float:
        """`power_w` limited to [min_w, max_w]."""
        return min(max(power_w, self.min_w), self.max_w)


@dataclass(frozen=True)
class Commitment:
    """An accepted flexibility request: direction, amount (W, > 0) and window [start, end)."""

    direction: Direction
    committed_w: float
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not self.committed_w > 0:
            raise FlexibilityError(f"committed_w must be > 0, got {self.committed_w}")
        if self.start.tzinfo is None or self.end.tzinfo is None or self.end <= self.start:
            raise FlexibilityError(
                f"window [{self.start}, {self.end}) must be timezone-aware with end > start"
            )

    def active(self, t: datetime) -> bool:
        """True while `t` lies in the window."""
        return self.start <= t < self.end

    @property
    def duration_s(self) -> float:
        """Length of the window in seconds."""
        return (self.end - self.start).total_seconds()


def max_modulation_w(capacity_w: float, contracted_flex_w: float) -> float:
    """The most a DER may be asked to move: min(contracted, 25 % of capacity), never negative."""
    return max(0.0, min(contracted_flex_w, RULE_SHARE * capacity_w))


def curtailed_baseline_w(available_w: float, headroom_w: float) -> float:
    """Baseline of a producer that keeps `headroom_w` in reserve for UP requests."""
    return max(0.0, available_w - headroom_w)


def producer_envelope(available_w: float) -> Envelope:
    """A producer can go from 0 up to what the weather gives."""
    return Envelope(0.0, max(0.0, available_w))


def consumer_envelope(capacity_w: float) -> Envelope:
    """A consumer draws between nothing and its capacity."""
    return Envelope(-capacity_w, 0.0)


def battery_envelope(max_charge_w: float, max_discharge_w: float) -> Envelope:
    """A battery charges or discharges within the limits it can sustain (see `battery.power_limits_w`)."""
    return Envelope(-max_charge_w, max_discharge_w)


def modulated_power(baseline_w: float, direction: Direction, committed_w: float, envelope: Envelope) -> float:
    """Power to hold during a window: baseline moved by `committed_w` in `direction`, within the envelope."""
    return envelope.clamp(baseline_w + direction.sign * committed_w)


def apply_commitment(
    commitment: Commitment | None, t: datetime, baseline_w: float, envelope: Envelope
) -> float:
    """Power at `t`: modulated inside the commitment window, baseline outside it (return to baseline)."""
    if commitment is None or not commitment.active(t):
        return baseline_w
    return modulated_power(baseline_w, commitment.direction, commitment.committed_w, envelope)


def feasible_w(direction: Direction, baseline_w: float, envelope: Envelope, limit_w: float) -> float:
    """How much (W, >= 0) the DER can move in `direction`: envelope room, capped at `limit_w`."""
    room = envelope.max_w - baseline_w if direction is Direction.UP else baseline_w - envelope.min_w
    return max(0.0, min(room, limit_w))


def decline_reason(
    committed_w: float, feasible: float, *, in_outage: bool, tolerance: float = 0.0
) -> str | None:
    """Why a DER must decline `committed_w`, or None when it can deliver it (within `tolerance`, a share)."""
    if in_outage:
        return "outage: the DER is offline"
    if feasible <= 0:
        return "no room: the DER is already at its limit in that direction"
    if feasible < committed_w * (1.0 - tolerance):
        return f"insufficient: can deliver {feasible:.0f} W of {committed_w:.0f} W requested"
    return None
