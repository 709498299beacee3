"""The aggregator's view of the simulated clock (DESIGN.md §6), settable at run time by the admin.

Unless configured, simulated time is real time. The simulation sets the mapping it uses for every
process (`AGGREGATOR_SIM_START`, `AGGREGATOR_SIM_SPEED`, `AGGREGATOR_SIM_REAL_START_EPOCH`, or
`PUT /admin/clock`), so "a reading from the future" means the same thing here as in the prosumers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

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
        return cls(_sim_clock(start, speed, real), wall)

    def set(self, sim_start: datetime, speed: float, real_start_epoch: float | None = None) -> None:
        self.clock = _sim_clock(
            sim_start, speed, self._wall() if real_start_epoch is None else real_start_epoch
        )

    def now_epoch(self) -> float:
        """Simulated time now, as epoch seconds."""
        c = self.clock
        return c.sim_start.timestamp() + (self._wall() - c.real_start_epoch_s) * c.speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_epoch(), UTC)

    def wall(self) -> float:
        return self._wall()


def _sim_clock(sim_start: datetime, speed: float, real_start: float) -> SimClock:
    try:
        return SimClock(sim_start=sim_start, speed=speed, real_start_epoch_s=real_start)
    except ClockError as exc:
        raise InvalidInput(str(exc)) from exc
