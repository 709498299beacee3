"""Battery model: state of charge with energy and power limits and a round-trip efficiency.

The usual hand-written storage model: the state of charge (SoC, fraction of `capacity_wh`) moves with
the power at the grid connection; the round-trip efficiency is split evenly, sqrt(eta) on charge and
sqrt(eta) on discharge. Power is clamped to the charge/discharge limits and then reduced so that SoC
never leaves [soc_min, soc_max] within the step. Default round-trip efficiency 0.90 (AC-coupled home
storage systems; the order of the HTW Berlin "Stromspeicher-Inspektion" results; assumption).

The baseline is idle: power 0 unless a setpoint is dispatched (flexibility or a future strategy).
The setpoint lives in the state (`BatteryState.setpoint_w`, > 0 discharge to the grid, < 0 charge).
"""

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from domain.errors import ParameterError

_WH = 3600.0


@dataclass(frozen=True)
class BatteryParams:
    """Energy capacity (Wh), power limits (W, both > 0), efficiency and SoC window (fractions)."""

    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    round_trip_efficiency: float = 0.90
    soc_min: float = 0.05
    soc_max: float = 0.95

    def __post_init__(self) -> None:
        if not (self.capacity_wh > 0 and self.max_charge_w > 0 and self.max_discharge_w > 0):
            raise ParameterError(f"battery capacity and power limits must be > 0, got {self}")
        if not 0 < self.round_trip_efficiency <= 1:
            raise ParameterError(f"round_trip_efficiency must be in (0, 1], got {self.round_trip_efficiency}")
        if not 0 <= self.soc_min < self.soc_max <= 1:
            raise ParameterError(f"need 0 <= soc_min < soc_max <= 1, got {self.soc_min}, {self.soc_max}")

    @property
    def one_way_efficiency(self) -> float:
        """Efficiency of one direction, sqrt(round trip)."""
        return math.sqrt(self.round_trip_efficiency)

    @property
    def capacity_w(self) -> float:
        """The larger of the two power limits (the contract's capacity)."""
        return max(self.max_charge_w, self.max_discharge_w)

    @property
    def usable_wh(self) -> float:
        """Energy between soc_min and soc_max."""
        return (self.soc_max - self.soc_min) * self.capacity_wh


@dataclass(frozen=True)
class BatteryState:
    """State of charge (fraction) and the dispatched setpoint (W at the grid, + discharge)."""

    soc: float
    setpoint_w: float = 0.0


def initial_state(params: BatteryParams, rng: np.random.Generator) -> BatteryState:
    """Idle, with SoC drawn uniformly in the middle half of the allowed window."""
    span = params.soc_max - params.soc_min
    return BatteryState(float(params.soc_min + span * rng.uniform(0.25, 0.75)))


def power_limits_w(params: BatteryParams, soc: float, duration_s: float) -> tuple[float, float]:
    """(max charge W, max discharge W) that can be held for `duration_s` from `soc`, both >= 0."""
    eta = params.one_way_efficiency
    room_wh = max(0.0, params.soc_max - soc) * params.capacity_wh
    stored_wh = max(0.0, soc - params.soc_min) * params.capacity_wh
    charge = min(params.max_charge_w, room_wh * _WH / (eta * duration_s))
    discharge = min(params.max_discharge_w, stored_wh * _WH * eta / duration_s)
    return charge, discharge


def step(
    params: BatteryParams, state: BatteryState, t: datetime, dt_s: float, rng: np.random.Generator
) -> tuple[BatteryState, float]:
    """Apply the setpoint for `dt_s` seconds; return the new state and the power actually delivered (W)."""
    max_charge, max_discharge = power_limits_w(params, state.soc, dt_s)
    power = min(max(state.setpoint_w, -max_charge), max_discharge)
    eta = params.one_way_efficiency
    if power >= 0:
        delta_wh = -power * dt_s / _WH / eta
    else:
        delta_wh = -power * dt_s / _WH * eta
    soc = state.soc + delta_wh / params.capacity_wh
    soc = min(max(soc, params.soc_min), params.soc_max)
    return BatteryState(soc, state.setpoint_w), power
