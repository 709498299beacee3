"""The time series of one collected run that the stress analysis (`simulation.stress`) judges."""

from __future__ import annotations

from typing import Any

from simulation.collect import RunData
from simulation.stress import Series, analyse


def series_of(run: RunData) -> tuple[list[tuple[float, int]], float, dict[str, Series]]:
    """(count changes, end of the run, measure -> samples) from the run's launches and its watch."""
    changes = [(float(e["real_t"]), 1 if e["kind"] == "start" else -1) for e in run.launches]
    blocks = run.watch.blocks
    mined_in = {tx: b.number for b in blocks for tx in b.txs}
    confirmation = [
        (t, float(mined_in[tx] - head)) for tx, (t, head) in run.watch.pooled.items() if tx in mined_in
    ]
    ends = [b.seen_at for b in blocks] + [t for t, _ in run.reading_latency]
    series: dict[str, Series] = {
        "reading_lag_s": list(run.reading_latency),
        "confirmation_blocks": confirmation,
        "block_gas_share": [(b.seen_at, b.gas_used / b.gas_limit) for b in blocks if b.gas_limit],
        "queue_depth_rows": [(t, v) for t, name, v in run.watch.metrics if name == "writer_queue_rows"],
    }
    return changes, max(ends, default=0.0), series


def stress_of(run: RunData) -> dict[str, Any] | None:
    """The stress analysis of a run that was watched (None otherwise)."""
    if not run.launches or not run.watch.blocks:
        return None
    changes, end, series = series_of(run)
    return analyse(changes, end, series)
