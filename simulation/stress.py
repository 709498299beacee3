"""Where the system stops keeping up as prosumers are added: pure detection over a run's time series.

The run's timeline is cut into *levels*: the stretches during which the number of running prosumers
stays the same (the ramp adds, removals take away). For each level and each measure, the 95th
percentile of the samples taken in it; a measure *degrades* at the first level (in time) whose p95
crosses its threshold, and the prosumer count of that level is reported. Thresholds:

| measure | sample | degraded when the level's p95 |
|---|---|---|
| `reading_lag_s` | each stored reading: seconds from taken to stored | > 2 s |
| `confirmation_blocks` | each transaction seen waiting in the node's pool: blocks until mined | > 2 blocks |
| `block_gas_share` | each block: gas used / block gas limit | > 0.8 |
| `queue_depth_rows` | the aggregator's writer queue (`/metrics`), sampled every second | > 1,000 rows |

A level shorter than `MIN_LEVEL_S` or with fewer than `MIN_SAMPLES` samples of a measure is not
judged for that measure (too little to say). Confirmation counts blocks from the head when the
transaction was first seen pending: 1 means "in the next block", the best a chain can do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Series = list[tuple[float, float]]  # (real epoch, value)


@dataclass(frozen=True)
class Threshold:
    name: str
    limit: float
    unit: str
    meaning: str
    why: str  # what gives way when it crosses: the resource it measures


THRESHOLDS = (
    Threshold(
        "reading_lag_s", 2.0, "s", "readings stored more than 2 s after they were taken",
        "CPU: the prosumer processes, the aggregator and the chain share the machine's cores, so readings "
        "wait in the prosumers' uplink buffers (or the aggregator answers 503 and they are resent)",
    ),
    Threshold(
        "confirmation_blocks", 2.0, "blocks", "transactions wait more than 2 blocks to be mined",
        "block space or the node's pool: more transactions arrive than the next blocks take",
    ),
    Threshold(
        "block_gas_share", 0.8, "of the gas limit", "blocks more than 80% full",
        "block space: the answers to a request arrive together and fill the blocks after it opens",
    ),
    Threshold(
        "queue_depth_rows", 1000.0, "rows", "more than 1,000 readings waiting for the writer",
        "the store: readings arrive faster than the writer commits them",
    ),
)  # fmt: skip
PERCENTILE = 95.0
MIN_LEVEL_S = 5.0
MIN_SAMPLES = 3


@dataclass(frozen=True)
class Level:
    prosumers: int
    start: float
    end: float


def levels(changes: list[tuple[float, int]], end: float) -> list[Level]:
    """Levels from `(t, +1 | -1)` changes of the running count (starts and removals), up to `end`."""
    out: list[Level] = []
    count, since = 0, None
    for t, delta in sorted(changes):
        if since is not None and t > since:
            out.append(Level(count, since, t))
        count += delta
        since = t
    if since is not None and end > since:
        out.append(Level(count, since, end))
    merged: list[Level] = []
    for lv in out:  # the same count on both sides of a start and a removal in one instant: one level
        if merged and merged[-1].prosumers == lv.prosumers and merged[-1].end == lv.start:
            merged[-1] = Level(lv.prosumers, merged[-1].start, lv.end)
        else:
            merged.append(lv)
    return merged


def level_values(lvls: list[Level], series: Series) -> list[float | None]:
    """The p95 of `series` in each level (None when the level is too short or has too few samples)."""
    if not series:
        return [None] * len(lvls)
    data = np.array(sorted(series))
    out: list[float | None] = []
    for lv in lvls:
        lo, hi = np.searchsorted(data[:, 0], [lv.start, lv.end], side="left")
        values = data[lo:hi, 1]
        if lv.end - lv.start < MIN_LEVEL_S or values.size < MIN_SAMPLES:
            out.append(None)
        else:
            out.append(round(float(np.percentile(values, PERCENTILE)), 3))
    return out


def analyse(changes: list[tuple[float, int]], end: float, series: dict[str, Series]) -> dict[str, Any]:
    """Per measure: its p95 per level and the first prosumer count at which it crosses its threshold
    (None: it kept up at every level judged)."""
    lvls = levels(changes, end)
    table = {t.name: level_values(lvls, series.get(t.name, [])) for t in THRESHOLDS}
    verdicts = {}
    for t in THRESHOLDS:
        values = table[t.name]
        judged = [(lv, v) for lv, v in zip(lvls, values, strict=True) if v is not None]
        first = next(((lv, v) for lv, v in judged if v > t.limit), None)
        verdicts[t.name] = {
            "threshold": t.limit,
            "unit": t.unit,
            "meaning": t.meaning,
            "degraded_at_prosumers": first[0].prosumers if first else None,
            "value_there": first[1] if first else None,
            "judged_up_to_prosumers": max((lv.prosumers for lv, _ in judged), default=None),
            "worst": max((v for _, v in judged), default=None),
        }
    return {
        "percentile": PERCENTILE,
        "first_to_give": first_to_give(lvls, table),
        "levels": [
            {
                "prosumers": lv.prosumers,
                "start": round(lv.start, 3),
                "seconds": round(lv.end - lv.start, 1),
                **{t.name: table[t.name][k] for t in THRESHOLDS},
            }
            for k, lv in enumerate(lvls)
        ],  # fmt: skip
        "measures": verdicts,
        "max_prosumers": max((lv.prosumers for lv in lvls), default=0),
    }


def first_to_give(lvls: list[Level], table: dict[str, list[float | None]]) -> dict[str, Any] | None:
    """The measure that crossed its threshold first (in time), at how many prosumers, why (the
    resource it measures), and the other measures at that level; None when none crossed."""
    for k, lv in enumerate(lvls):
        crossed = [t for t in THRESHOLDS if (v := table[t.name][k]) is not None and v > t.limit]
        if crossed:
            t = crossed[0]
            return {
                "measure": t.name,
                "at_prosumers": lv.prosumers,
                "value": table[t.name][k],
                "threshold": t.limit,
                "why": t.why,
                "also_crossed": [c.name for c in crossed[1:]],
                "others_there": {o.name: table[o.name][k] for o in THRESHOLDS if o is not t},
            }
    return None


def headline(result: dict[str, Any]) -> str:
    """Which measure gave way first and why, then one line per measure: where it degraded, or that it
    kept up to the largest count judged."""
    lines = []
    first = result.get("first_to_give")
    if first is not None:
        lines.append(
            f"first to give way: {first['measure']} at {first['at_prosumers']} prosumers "
            f"(p95 {first['value']} > {first['threshold']}): {first['why']}"
        )
    for name, v in result["measures"].items():
        if v["degraded_at_prosumers"] is not None:
            lines.append(
                f"{name}: degraded at {v['degraded_at_prosumers']} prosumers "
                f"(p95 {v['value_there']} > {v['threshold']} {v['unit']})"
            )
        elif v["judged_up_to_prosumers"] is None:
            lines.append(f"{name}: no samples")
        else:
            lines.append(
                f"{name}: kept up to {v['judged_up_to_prosumers']} prosumers "
                f"(worst p95 {v['worst']}, threshold {v['threshold']} {v['unit']})"
            )
    return "\n".join(lines)
