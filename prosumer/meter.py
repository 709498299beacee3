"""The prosumer's meter: steps its DER on the simulated clock and turns each step into a reading.

A reading taken at real time `r` carries the simulated time `t = clock.sim_time(r)` and the DER's mean
power over `[t, t_next)`, where `t_next` is the next reading's time: the aggregator holds a reading
until the next one (sample and hold), so this is exactly the power it integrates. The energy counter
is the net energy delivered to the grid up to `t` (Wh, + to the grid).

Reading times are the regular ticks `start + k x interval` plus the edges of a commitment's window:
a reading falls exactly on the window's start and on its end (`next_reading_time`), so the
aggregator's integral over the window is the energy the DER moved, not an artefact of where the ticks
fall. `seq` is the real time the reading was taken in milliseconds: unique, increasing across
restarts, and a reading's real time can be recovered from it.

The meter is shared by the reading loop and the chain worker (which commits and asks what the DER
can do), so its methods take a lock. It does no I/O and never reads the wall clock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from contracts.types import Direction as ChainDirection
from contracts.types import Terms
from domain.battery import BatteryState
from domain.clock import SimClock
from domain.der import Der
from domain.flexibility import Commitment
from domain.realism import Traits, metered
from domain.vocabulary import Direction

MIN_GAP_S = 0.002  # two readings closer than this would share a millisecond seq


@dataclass(frozen=True)
class Reading:
    seq: int
    taken_at: float  # real epoch s
    timestamp: datetime  # simulated, UTC
    power_w: float  # mean over [timestamp, next reading), + to the grid
    energy_wh: float  # meter counter at `timestamp`
    soc: float | None
    status: str  # ok | outage | modulating
    available_w: float | None = None  # producers: what the weather allowed over the same span

    def wire_json(self) -> bytes | None:
        """The same body as `wire`, serialised straight to JSON bytes (the uplink's per-reading path:
        no dict, no validation model); None when a number is not finite (JSON cannot carry it)."""
        power, energy = float(self.power_w), float(self.energy_wh)
        soc = None if self.soc is None else float(self.soc)
        avail = None if self.available_w is None else float(self.available_w)
        if not (
            math.isfinite(power)
            and math.isfinite(energy)
            and (soc is None or math.isfinite(soc))
            and (avail is None or math.isfinite(avail))
        ):
            return None
        tail = b"" if avail is None else b',"available_w":%r' % avail
        return b'{"seq":%d,"timestamp":"%s","power_w":%r,"energy_wh":%r,"soc":%s,"status":"%s"%s}' % (
            self.seq,
            self.timestamp.isoformat().encode(),
            power,
            energy,
            b"null" if soc is None else repr(soc).encode(),
            self.status.encode(),
            tail,
        )

    def wire(self) -> dict[str, Any]:
        """The JSON body of `aggregator.wire.ReadingIn`."""
        body = {
            "seq": self.seq,
            "timestamp": self.timestamp.isoformat(),
            "power_w": self.power_w,
            "energy_wh": self.energy_wh,
            "soc": self.soc,
            "status": self.status,
        }
        if self.available_w is not None:
            body["available_w"] = self.available_w
        return body


@dataclass(frozen=True)
class Window:
    """A commitment with its window on the chain clock (real epoch s)."""

    request_id: int
    commitment: Commitment
    start_real: float
    end_real: float


def next_reading_time(planned: float, now: float, interval: float, edges: Iterable[float]) -> float:
    """When to take the reading after the one planned at `planned` (real s).

    Normally `planned + interval`; `now` when the loop is more than an interval late (the step then
    covers the gap, so no energy goes missing); earlier when a window edge comes first."""
    nxt = max(planned + interval, now)
    for edge in edges:
        if planned + MIN_GAP_S < edge < nxt - MIN_GAP_S:
            nxt = edge
    return nxt


class Meter:
    def __init__(
        self,
        der: Der,
        clock: SimClock,
        rng: np.random.Generator,
        energy_wh: float = 0.0,
        noise: np.random.Generator | None = None,
    ) -> None:
        self.der = der
        self.clock = clock
        self.rng = rng
        self.noise = noise  # the meter's own noise stream (domain.realism.metered)
        self.energy_wh = energy_wh
        self.window: Window | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ readings (reading loop)

    def read(self, taken_real: float, next_real: float) -> Reading:
        """Steps the DER over [taken_real, next_real) and returns the reading taken at `taken_real`."""
        t = self.clock.sim_time(taken_real)
        dt = self.clock.sim_elapsed(next_real - taken_real)
        with self._lock:
            power = self._measured(self.der.step(t, dt, self.rng))
            energy = self.energy_wh
            self.energy_wh += power * dt / 3600.0
            status = self._status(t)
            soc = _soc(self.der)
            available = getattr(self.der, "available_w", None)
        return Reading(round(taken_real * 1000), taken_real, t, power, energy, soc, status, available)

    @property
    def traits(self) -> Traits:
        return self.der.traits

    def _measured(self, power_w: float) -> float:
        """The DER's mean power as its meter reports it (gain error and noise, when it has them)."""
        tr = self.der.traits
        if tr.meter_gain == 1.0 and (tr.meter_noise_share == 0.0 or self.noise is None):
            return power_w
        z = float(self.noise.standard_normal()) if self.noise is not None else 0.0
        return metered(power_w, tr.meter_gain, tr.meter_noise_share, z)

    def edges(self) -> tuple[float, ...]:
        """Real times of the current window's start and end (none without a window)."""
        w = self.window
        return () if w is None else (w.start_real, w.end_real)

    def _status(self, t: datetime) -> str:
        if self.der.in_outage(t):
            return "outage"
        w = self.window
        return "modulating" if w is not None and w.commitment.active(t) else "ok"

    # ------------------------------------------------------------------ flexibility (chain worker)

    def commit(
        self, request_id: int, direction: ChainDirection, power_w: int, start: int, end: int
    ) -> Window:
        """Holds `power_w` in `direction` over the chain window [start, end) (real epoch s)."""
        commitment = Commitment(
            Direction(int(direction)), float(power_w), self.clock.sim_time(start), self.clock.sim_time(end)
        )
        window = Window(request_id, commitment, float(start), float(end))
        with self._lock:
            self.der.commit(commitment)
            self.window = window
        return window

    def cancel(self, request_id: int) -> bool:
        """Drops the commitment of `request_id` (True if there was one)."""
        with self._lock:
            if self.window is None or self.window.request_id != request_id:
                return False
            self.der.cancel()
            self.window = None
            return True

    def feasible_w(self, direction: ChainDirection, duration_s: float, forecast_error: float = 0.0) -> float:
        with self._lock:
            return self.der.feasible_w(Direction(int(direction)), duration_s, forecast_error)

    def delivery_risk_w(
        self, now_real: float, direction: ChainDirection, amount_w: float, duration_s: float
    ) -> float | None:
        """How far a delivery of `amount_w` over `duration_s` (simulated s) may miss (see
        `Der.delivery_risk_w`)."""
        with self._lock:
            t = self.clock.sim_time(now_real)
            return self.der.delivery_risk_w(t, Direction(int(direction)), amount_w, duration_s)

    def in_outage(self, now_real: float) -> bool:
        with self._lock:
            return self.der.in_outage(self.clock.sim_time(now_real))

    def set_terms(self, terms: Terms) -> None:
        """Adopts renegotiated flexibility as the DER's contract limits. The DER's physical operation
        (a producer's headroom) stays as its model sized it."""
        with self._lock:
            set_contract_limits(self.der, terms.flex_up_w, terms.flex_down_w)


def set_contract_limits(der: Der, flex_up_w: float, flex_down_w: float) -> None:
    """Every DER kind keeps its contract limits in `flex_w` (see `domain.der`)."""
    limits = getattr(der, "flex_w", None)
    if isinstance(limits, dict):
        limits[Direction.UP] = float(flex_up_w)
        limits[Direction.DOWN] = float(flex_down_w)


def _soc(der: Der) -> float | None:
    state = getattr(der, "state", None)
    return float(min(1.0, max(0.0, state.soc))) if isinstance(state, BatteryState) else None
