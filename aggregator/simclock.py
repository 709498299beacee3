"""The aggregator's view of the simulated clock (DESIGN.md §6), settable at run time by the admin.

Unless configured, simulated time is real time. The simulation sets the mapping it uses for every
process (`AGGREGATOR_SIM_START`, `AGGREGATOR_SIM_SPEED`, `AGGREGATOR_SIM_REAL_START_EPOCH`, or
`PUT /admin/clock`), so "a reading from the future" means the same thing here as in the prosumers.

A clock must show a time in [1970, 2200) when it is set (`aggregator.clock_bounds`); `set` checks the
new clock whole before it replaces the old one, so a refused clock (422) changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from aggregator.clock_bounds import MAX_SPEED, REAL_EPOCH_MAX, SIM_MAX, SIM_MAX_EPOCH, SIM_MIN, SIM_MIN_EPOCH
from aggregator.errors import InvalidInput
from domain.clock import SimClock
from domain.errors import ClockError


class ServerClock:
    def __init__(self, clock: SimClock, wall: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._wall = wall

    @classmethod
    def create(
        cls,
        sim_start: datetime | None,
        speed: float = 1.0,
        real_start_epoch: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> ServerClock:
        now = wall()
        real = now if real_start_epoch is None else real_start_epoch
        start = sim_start if sim_start is not None else datetime.fromtimestamp(real, UTC)
        return cls(_sim_clock(start, speed, real, now), wall)

    def set(self, sim_start: datetime, speed: float, real_start_epoch: float | None = None) -> None:
        """Replaces the clock, or raises `InvalidInput` (and keeps the old one)."""
        now = self._wall()
        self.clock = _sim_clock(sim_start, speed, now if real_start_epoch is None else real_start_epoch, now)

    def now_epoch(self) -> float:
        """Simulated time now, as epoch seconds."""
        return _sim_epoch(self.clock, self._wall())

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_epoch(), UTC)

    def wall(self) -> float:
        return self._wall()


def _sim_epoch(c: SimClock, wall: float) -> float:
    return c.sim_start.timestamp() + (wall - c.real_start_epoch_s) * c.speed


def _sim_clock(sim_start: datetime, speed: float, real_start: float, wall: float) -> SimClock:
    """A valid clock, checked whole: its fields in range and the time it shows at `wall` too."""
    try:
        clock = SimClock(sim_start=sim_start, speed=speed, real_start_epoch_s=real_start)
    except ClockError as exc:
        raise InvalidInput(str(exc)) from exc
    if not SIM_MIN <= clock.sim_start < SIM_MAX:
        raise InvalidInput(f"sim_start {sim_start.isoformat()} is outside [1970, 2200): choose a time in it")
    if not 0 < speed <= MAX_SPEED:
        raise InvalidInput(f"speed {speed:g} is outside (0, {MAX_SPEED:g}] simulated seconds per real second")
    if not 0 <= real_start < REAL_EPOCH_MAX:
        raise InvalidInput(
            f"real_start_epoch {real_start:g} is outside [0, {REAL_EPOCH_MAX:g}) (1970 to 2100)"
        )
    shown = _sim_epoch(clock, wall)
    if not SIM_MIN_EPOCH <= shown < SIM_MAX_EPOCH:
        raise InvalidInput(
            f"this clock would show {shown:.4g} s since 1970 now, outside [1970, 2200): start it nearer "
            "to now (real_start_epoch) or slow it down (speed)"
        )
    return clock
