"""Checks of a reading against the sender's contract and the simulated clock (pure functions).

The wire model (`aggregator.wire.ReadingIn`) already refuses malformed values: a naive timestamp,
NaN or infinite numbers, a negative sequence number, a state of charge outside [0, 1], unknown
fields. Here: what needs context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.auth import ProsumerSession
from aggregator.clock_bounds import SIM_MAX_EPOCH, SIM_MIN_EPOCH
from aggregator.store import Row
from aggregator.wire import STATUS_CODES, ReadingIn
from contracts.types import SourceKind

PRODUCERS = (SourceKind.SOLAR, SourceKind.WIND)
AVAILABLE_SLACK_W = 0.01  # rounding between a reading's power and its available power


@dataclass(frozen=True)
class Limits:
    power_factor: float = 1.5  # |power| <= factor x registered capacity
    max_future_s: float = 900.0  # simulated seconds a reading may be ahead of the server's clock


def check_reading(reading: ReadingIn, session: ProsumerSession, now_sim: float, limits: Limits) -> str | None:
    """Why `reading` cannot be accepted from `session`'s prosumer at simulated time `now_sim` (or None)."""
    t = reading.timestamp.timestamp()
    if t < SIM_MIN_EPOCH:
        return f"timestamp {reading.timestamp.isoformat()} is before 1970: send the simulated time"
    if t >= SIM_MAX_EPOCH:
        return f"timestamp {reading.timestamp.isoformat()} is after 2200: send the simulated time"
    ahead = t - now_sim
    if ahead > limits.max_future_s:
        now = datetime.fromtimestamp(now_sim, UTC).isoformat(timespec="seconds")
        return (
            f"timestamp {reading.timestamp.isoformat()} is {ahead:.0f} s ahead of the aggregator's simulated "
            f"clock ({now}); at most {limits.max_future_s:g} s is accepted: check the prosumer's clock"
        )
    limit = limits.power_factor * session.capacity_w
    if abs(reading.power_w) > limit:
        return (
            f"|power_w| = {abs(reading.power_w):g} W exceeds {limits.power_factor:g} x the registered "
            f"capacity of {session.capacity_w} W"
        )
    if reading.soc is not None and session.kind != SourceKind.BATTERY:
        return f"soc is only for batteries; this prosumer is registered as {session.kind.label}"
    if reading.available_w is not None:
        if session.kind not in PRODUCERS:
            return (
                f"available_w is only for producers (solar, wind); this prosumer is registered as "
                f"{session.kind.label}"
            )
        if reading.available_w > limit:
            return (
                f"available_w = {reading.available_w:g} W exceeds {limits.power_factor:g} x the registered "
                f"capacity of {session.capacity_w} W"
            )
        if reading.power_w > reading.available_w + AVAILABLE_SLACK_W:
            return (
                f"power_w = {reading.power_w:g} W exceeds available_w = {reading.available_w:g} W: a "
                "producer cannot deliver more than the weather allows"
            )
    return None


def to_row(reading: ReadingIn, session: ProsumerSession, received_at: float) -> Row:
    return (
        session.key,
        reading.seq,
        reading.timestamp.timestamp(),
        int(session.kind),
        reading.power_w,
        reading.energy_wh,
        reading.soc,
        STATUS_CODES[reading.status],
        received_at,
        reading.available_w,
    )
