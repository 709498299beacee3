"""The lower bound that block time and block gas limit set on a request's latencies: pure functions.

For each request, from the moment `t0` it could start (when it reached the aggregator, or when the
request before it settled: requests run one at a time, R6), the earliest the chain could have
recorded each stage of it, given the blocks that were actually produced (their times, as watched)
and the gas the stage's transactions actually used (from their receipts):

- (a) notified: the open-request transaction in the first block after `t0` (measured: when the last
  prosumer learned of it, from their own records; the bound is the same);
- (b) acceptances recorded: fair: every `accept` in the `ceil(accept gas / gas limit)` blocks right
  after the open block; reputation: the selection cannot start before the acceptance deadline, so
  every `select` in the `ceil(select gas / gas limit)` blocks after the deadline;
- (c) settlement final: nothing can be measured before the window and the return-to-baseline period
  are over (`end + baseline margin / speed`); then every `recordDeliveries` and the `finalise` in the
  `ceil(their gas / gas limit)` blocks after that.

The deadline and window are what the dispatcher's plan (`aggregator.planning.plan`) gives for a
request opened at `t0`: protocol waits defined by the scenario (lead time, duration, the 15-minute
return-to-baseline check, the minimum blocks per phase) are part of the bound, not of the overhead.
Not part of the bound: the dispatcher's poll, the prosumers' event polling and decision, the
dispatcher's 3 s grace for late readings, waiting for one receipt before sending the next
transaction, and CPU contention on the machine.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from statistics import fmean
from typing import Any

from aggregator.planning import DispatchPolicy, plan
from simulation.collect import RunData

ROUNDING_S = 0.001  # latencies are rounded to the millisecond
STAGES = ("notified", "acceptances_recorded", "settlement_final")
STAGE_FUNCTIONS = {
    "fair": ("accept",),
    "reputation": ("select",),
    "settle": ("recordDeliveries", "finalise", "finaliseAnchored"),
}


class Blocks:
    """The chain's block times (real epoch, ascending); beyond the last, one every `block_time_s`."""

    def __init__(self, times: list[float], block_time_s: float) -> None:
        self.times = sorted(times)
        self.block_time_s = block_time_s

    def kth_after(self, t: float, k: int) -> float:
        """The time of the k-th block (k >= 1) produced after `t`."""
        pos = bisect_right(self.times, t) + k - 1
        if pos < len(self.times):
            return self.times[pos]
        last = self.times[-1] if self.times else t
        return max(last, t) + (pos - len(self.times) + 1) * self.block_time_s


def blocks_for(gas: int, gas_limit: int) -> int:
    """Blocks that `gas` needs at least (one at least: a transaction is in some block)."""
    return max(1, math.ceil(gas / gas_limit))


def stage_gas(run: RunData) -> dict[int, dict[str, int]]:
    """Chain request id -> function -> gas used by that function's transactions for the request."""
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen: set[tuple[int, str]] = set()
    for e in run.events:
        if e.contract != "Market" or "requestId" not in e.args:
            continue
        rid = int(e.args["requestId"])
        if (rid, e.tx_hash) in seen:
            continue
        seen.add((rid, e.tx_hash))
        fn = run.tx_function.get(e.tx_hash, "unknown")
        out[rid][fn] += run.tx_gas.get(e.tx_hash, 0)
    return out


def request_bounds(
    run: RunData,
    measured: list[dict[str, Any]],
    speed: float,
    block_time_s: float,
    gas_limit: int,
    policy: DispatchPolicy | None = None,
) -> list[dict[str, Any]]:
    """Per request (as in `summary.latencies`): the lower bound of each stage, seconds after the
    request reached the aggregator, next to the measured latency."""
    p = policy or DispatchPolicy()
    blocks = Blocks([b.seen_at for b in run.watch.blocks], block_time_s)
    gas = stage_gas(run)
    requests = {r["id"]: r for r in run.requests}
    out = []
    previous_final: float | None = None
    for m in sorted(measured, key=lambda x: x["request_id"]):
        req = requests[m["request_id"]]
        created = float(req["created_at"])
        t0 = max(created, previous_final or created)
        g = gas.get(m["chain_request_id"], {})
        strategy = str(req["strategy"])
        planned = plan(t0, req["lead_time_s"], req["duration_s"], speed, block_time_s, p)
        notified = blocks.kth_after(t0, 1)
        join_gas = sum(g.get(f, 0) for f in STAGE_FUNCTIONS[strategy])
        if strategy == "fair":
            joined = blocks.kth_after(t0, 1 + blocks_for(join_gas, gas_limit))
        else:
            joined = blocks.kth_after(planned.deadline, blocks_for(join_gas, gas_limit))
        settle_gas = sum(g.get(f, 0) for f in STAGE_FUNCTIONS["settle"])
        measurable = planned.end + p.baseline_margin_s / speed
        final = blocks.kth_after(measurable, blocks_for(settle_gas, gas_limit))
        bound = {"notified": notified, "acceptances_recorded": joined, "settlement_final": final}
        row: dict[str, Any] = {
            "request_id": m["request_id"],
            "strategy": strategy,
            "queued_behind_previous_s": round(t0 - created, 3),
            "gas": {"join": join_gas, "settle": settle_gas},
        }
        if m.get("notified_p95_s") is not None:
            row["notified_p95_s"] = m["notified_p95_s"]
        for stage in STAGES:
            b = round(bound[stage] - created, 3)
            got = m.get(f"{stage}_s")
            row[stage] = {
                "measured_s": got,
                "bound_s": b,
                "ratio": round(got / b, 3) if got is not None and b > 0 else None,
            }
        if m.get("settlement_final_s") is not None:
            # the block that settled it is seen at created + settlement_final_s (rounded to 1 ms): the
            # next request's transactions can only be in a later block
            previous_final = created + m["settlement_final_s"] + ROUNDING_S
        out.append(row)
    return out


def bound_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per stage: mean measured, mean bound and their ratio over the requests measured."""
    out: dict[str, Any] = {}
    for stage in STAGES:
        pairs = [
            (r[stage]["measured_s"], r[stage]["bound_s"]) for r in rows if r[stage]["measured_s"] is not None
        ]
        if not pairs:
            out[stage] = {"requests": 0, "measured_mean_s": None, "bound_mean_s": None, "ratio": None}
            continue
        got, bound = fmean(p[0] for p in pairs), fmean(p[1] for p in pairs)
        out[stage] = {
            "requests": len(pairs),
            "measured_mean_s": round(got, 3),
            "bound_mean_s": round(bound, 3),
            "ratio": round(got / bound, 3) if bound > 0 else None,
            "ratio_max": max((r[stage]["ratio"] or 0.0) for r in rows),
        }
    return out
