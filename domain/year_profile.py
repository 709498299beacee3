"""A normalised yearly profile held as a numpy array, looked up by datetime without pandas.

A profile covers one calendar year (UTC) in fixed steps (15 min by default). Two kinds of values:
instantaneous samples (clear-sky PV power at each time stamp, linearly interpolated) and interval
means (BDEW load profiles, constant over each 15-min slot). Times outside the year wrap around it, so a
profile built for year Y serves any simulated date; load profiles should be built for the simulated
year because weekdays and holidays move between years.
"""

import calendar
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from domain.errors import ProfileError


@dataclass(frozen=True, eq=False)
class YearProfile:
    """values[i] belongs to year start + i * step_s (UTC); `hold` selects interval-mean semantics."""

    values: npt.NDArray[np.float64] = field(repr=False)
    year: int
    step_s: float = 900.0
    hold: bool = False
    start_epoch_s: float = field(init=False, repr=False)
    period_s: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        values = np.ascontiguousarray(self.values, dtype=np.float64)
        days = 366 if calendar.isleap(self.year) else 365
        expected = round(days * 86400 / self.step_s)
        if values.ndim != 1 or values.size != expected:
            raise ProfileError(
                f"a {self.year} profile at {self.step_s:g} s steps needs {expected} values, got shape "
                f"{values.shape}: rebuild it for that year"
            )
        if not np.all(np.isfinite(values)):
            raise ProfileError(f"profile for {self.year} contains non-finite values: rebuild the cache")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        start = datetime(self.year, 1, 1, tzinfo=UTC).timestamp()
        object.__setattr__(self, "start_epoch_s", start)
        object.__setattr__(self, "period_s", days * 86400.0)

    def at_epoch(self, epoch_s: float) -> float:
        """Profile value at Unix time `epoch_s` (wrapping around the year)."""
        pos = math.fmod(epoch_s - self.start_epoch_s, self.period_s)
        if pos < 0:
            pos += self.period_s
        x = pos / self.step_s
        i = int(x)
        n = self.values.size
        if i >= n:
            i = n - 1
        if self.hold:
            return float(self.values[i])
        frac = x - i
        nxt = self.values[i + 1] if i + 1 < n else self.values[0]
        return float(self.values[i] + (nxt - self.values[i]) * frac)

    def at(self, t: datetime) -> float:
        """Profile value at timezone-aware time `t`."""
        return self.at_epoch(t.timestamp())

    def integral(self) -> float:
        """Integral over the year in value-seconds (e.g. W*s = J for a power profile)."""
        return float(self.values.sum() * self.step_s)
