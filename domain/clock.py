"""The simulation clock: one mapping between real (wall) seconds and simulated time.

Simulated time runs `speed` times faster than real time from `real_start_epoch_s` on (DESIGN.md §6:
a day can pass in minutes locally; speed 1 on Volta). The clock is a value: callers pass the real
epoch they read themselves, so these methods never read the wall clock.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.errors import ClockError


@dataclass(frozen=True)
class SimClock:
    """Maps real epoch seconds to simulated UTC datetimes.

    sim_start: simulated time at `real_start_epoch_s`; must be timezone-aware (stored in UTC).
    speed: simulated seconds per real second, > 0.
    real_start_epoch_s: real Unix time (s) at which the simulation started.
    """

    sim_start: datetime
    speed: float = 1.0
    real_start_epoch_s: float = 0.0

    def __post_init__(self) -> None:
        if self.sim_start.tzinfo is None or self.sim_start.utcoffset() is None:
            raise ClockError(
                f"sim_start {self.sim_start.isoformat()} is naive: pass a timezone-aware UTC datetime, "
                "e.g. datetime(2025, 6, 1, tzinfo=timezone.utc)"
            )
        object.__setattr__(self, "sim_start", self.sim_start.astimezone(UTC))
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ClockError(f"speed must be a finite number > 0 (simulated s per real s), got {self.speed}")
        if not math.isfinite(self.real_start_epoch_s):
            raise ClockError(f"real_start_epoch_s must be finite, got {self.real_start_epoch_s}")

    def sim_time(self, real_epoch_s: float) -> datetime:
        """Simulated UTC time at real Unix time `real_epoch_s`."""
        return self.sim_start + timedelta(seconds=(real_epoch_s - self.real_start_epoch_s) * self.speed)

    def sim_elapsed(self, real_elapsed_s: float) -> float:
        """Simulated seconds that pass during `real_elapsed_s` real seconds (>= 0)."""
        _check_duration(real_elapsed_s, "real_elapsed_s")
        return real_elapsed_s * self.speed

    def real_delay(self, sim_seconds: float) -> float:
        """Real seconds to wait for `sim_seconds` simulated seconds to pass (>= 0)."""
        _check_duration(sim_seconds, "sim_seconds")
        return sim_seconds / self.speed

    def real_epoch(self, sim_t: datetime) -> float:
        """Real Unix time at which the simulated clock shows `sim_t` (timezone-aware)."""
        if sim_t.tzinfo is None:
            raise ClockError(f"{sim_t.isoformat()} is naive: pass a timezone-aware UTC datetime")
        return self.real_start_epoch_s + (sim_t - self.sim_start).total_seconds() / self.speed


def _check_duration(value: float, name: str) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ClockError(f"{name} must be a finite number of seconds >= 0, got {value}")
