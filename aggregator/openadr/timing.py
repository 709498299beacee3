"""OpenADR 3 time: ISO 8601 durations and the interval timing rules of the User Guide (section 7.3).

Pure functions. `parse_duration` reads the specification's duration pattern (years as 365 days,
months as 30 days, as the User Guide advises against months); "P9999Y" means infinity (`None`).
`interval_windows` resolves each interval's absolute start and duration:

- an interval's own `intervalPeriod` takes precedence over the event's default;
- a start of 0001-01-01 ("the beginning of time") means: for the first interval, the event's start, or
  "now" when the event has none (or has that start too); for later intervals, right after the
  previous interval (its start + duration), which is also what an interval without a start gets;
- the event's `duration` cuts off intervals that start after the event's span ends.

Epoch seconds are on the aggregator's clock: simulated time (equal to real time at speed 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from aggregator.openadr.models import DURATION_PATTERN, EventRequest

INFINITY_YEARS = 9999
_DURATION = re.compile(DURATION_PATTERN)


class TimingError(ValueError):
    """An event whose timing cannot be turned into requests (message says what to change)."""


def parse_duration(text: str) -> float | None:
    """Seconds of an ISO 8601 duration; None for "P9999Y" (infinity). ValueError if malformed."""
    m = _DURATION.match(text)
    if m is None:
        raise TimingError(f"duration {text!r} is not ISO 8601 (e.g. PT15M, PT1H, P1D)")
    sign, years, months, days, unit, hours, minutes, seconds = m.groups()
    if years is not None and int(years) >= INFINITY_YEARS:
        return None
    total = (
        int(years or 0) * 365 * 86_400
        + int(months or 0) * 30 * 86_400
        + int(days or 0) * (7 if unit == "W" else 1) * 86_400
        + int(hours or 0) * 3_600
        + int(minutes or 0) * 60
        + float(seconds or 0)
    )
    return -total if sign else total


def is_now(start: datetime | None) -> bool:
    """True for a missing start or the specification's 'beginning of time' (0001-01-01)."""
    return start is None or start.year == 1


@dataclass(frozen=True)
class Window:
    interval_id: int
    start: float  # epoch s on the aggregator's clock
    duration_s: float


def interval_windows(event: EventRequest, now: float) -> list[Window]:
    """The absolute window of every interval of `event`, in order."""
    default = event.interval_period
    event_start = now if default is None or is_now(default.start) else default.start.timestamp()  # type: ignore[union-attr]
    default_duration = default.duration if default is not None else None
    span = parse_duration(event.duration) if event.duration else None
    windows: list[Window] = []
    previous_end: float | None = None
    for i, interval in enumerate(event.intervals or ()):
        own = interval.interval_period
        text = (own.duration if own is not None and own.duration else None) or default_duration
        if text is None:
            raise TimingError(
                f"interval {interval.id} has no duration: give it intervalPeriod.duration or give the "
                "event an intervalPeriod with a duration"
            )
        duration = parse_duration(text)
        if duration is None or duration <= 0:
            raise TimingError(
                f"interval {interval.id} has duration {text}: a flexibility request needs a finite, "
                "positive duration (e.g. PT15M)"
            )
        if own is not None and not is_now(own.start):
            start = own.start.timestamp()  # type: ignore[union-attr]
        elif i == 0 or previous_end is None:
            start = event_start
        else:
            start = previous_end
        if span is not None and start >= event_start + span:
            break  # beyond the event's duration: not part of the event
        windows.append(Window(interval.id, start, duration))
        previous_end = start + duration
    return windows
