"""The span of time the aggregator works in, so that every time it accepts can be shown and queried.

Simulated times (readings, the simulated clock) lie in [1970-01-01, 2200-01-01) UTC; the clock's real
start in [1970, 2100); its speed in (0, 10,000] simulated seconds per real second (a year in under an
hour). A clock outside these bounds, or one that would show a time outside them now, is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

SIM_MIN = datetime(1970, 1, 1, tzinfo=UTC)
SIM_MAX = datetime(2200, 1, 1, tzinfo=UTC)
SIM_MIN_EPOCH = SIM_MIN.timestamp()
SIM_MAX_EPOCH = SIM_MAX.timestamp()
REAL_EPOCH_MAX = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
MAX_SPEED = 10_000.0
