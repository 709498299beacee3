"""When each prosumer learned of each request, from the prosumers' own records: pure functions.

A prosumer's chain worker logs one line when a `FlexibilityRequested` event reaches it
(`prosumer.worker.NOTICE`): `request <chain id>: notified (block <n>) at <real epoch s>`. A run's
fleet writes one log per prosumer (`logs/prosumer-<index>.log`); `read_notices` gathers, per chain
request id, the time each prosumer (first) learned of it. `notified_stats` gives the time the last of
them did and the 95th percentile, the figures `bench e2e` reports as "notified".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

NOTICE_LINE = re.compile(r"request (\d+): notified \(block \d+\) at (\d+(?:\.\d+)?)")


def parse_notices(lines: Iterable[str]) -> dict[int, float]:
    """One prosumer's log lines -> chain request id -> when it first learned of it (real epoch s)."""
    out: dict[int, float] = {}
    for line in lines:
        m = NOTICE_LINE.search(line)
        if m is not None:
            rid, at = int(m.group(1)), float(m.group(2))
            out[rid] = min(at, out.get(rid, at))
    return out


def read_notices(log_dir: Path) -> dict[int, list[float]]:
    """Chain request id -> the times the prosumers whose logs are in `log_dir` learned of it."""
    out: dict[int, list[float]] = {}
    for path in sorted(log_dir.glob("prosumer-*.log")):
        with path.open(errors="replace") as f:
            for rid, at in parse_notices(f).items():
                out.setdefault(rid, []).append(at)
    return out


def notified_stats(times: list[float], since: float) -> tuple[float, float] | None:
    """(the last, the 95th percentile by nearest rank) of `times`, as seconds after `since`."""
    if not times:
        return None
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return round(ordered[-1] - since, 3), round(p95 - since, 3)
