"""The numbers of a run, computed from collected data: pure functions.

Totals come from the chain (the `RequestSettled` events) and are cross-checked against the
aggregator's database. Latencies run from the moment the grid operator's request reached the
aggregator (its `created_at`) to (a) the last prosumer notified, from the prosumers' own records
(`simulation.notices`; the announcement on chain when there are none), (b) the last acceptance or
candidacy recorded on chain (for the reputation strategy, the selection), (c) the settlement final
on chain. A chain event's time is when its block appeared, as the run's watcher saw it (within 0.1 s,
`simulation.watch`); without a watch, the block's timestamp (whole seconds: 1 s resolution). The
result's shape is `simulation.run_summary.RunSummary` (published as a JSON Schema).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from statistics import mean

from domain.market_rules import within_tolerance
from simulation.bounds import bound_summary, request_bounds
from simulation.collect import RunData
from simulation.explain import decline_reasons, gas_phases, population, request_rows
from simulation.notices import notified_stats
from simulation.run_summary import (
    AnswerGas,
    CrossCheck,
    Energy,
    Latencies,
    LatencyBound,
    Mismatch,
    Removals,
    RemovedProsumer,
    RequestLatency,
    RunSummary,
    SettledTotals,
    Stats,
)

TOKEN = 10**18
JOIN_EVENTS = {"Accepted", "Applied", "SelectionCompleted"}


def _stats(values: list[float]) -> Stats:
    if not values:
        return Stats(n=0, mean=None, max=None)
    return Stats(n=len(values), mean=round(mean(values), 3), max=round(max(values), 3))


def settled_on_chain(run: RunData) -> dict[int, dict[str, int]]:
    return {
        int(e.args["requestId"]): {k: int(v) for k, v in e.args.items() if k != "requestId"}
        for e in run.events
        if e.name == "RequestSettled"
    }


def event_time(run: RunData) -> Callable[[int, int], float]:
    """(block, block timestamp) -> when the block appeared: the watcher's time, else the timestamp."""
    seen = {b.number: b.seen_at for b in run.watch.blocks}
    return lambda block, stamp: seen.get(block, float(stamp))


def latencies(run: RunData) -> list[RequestLatency]:
    by_chain: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    when = event_time(run)
    watched = bool(run.watch.blocks)
    for e in run.events:
        if e.contract == "Market" and "requestId" in e.args:
            by_chain[int(e.args["requestId"])][e.name].append(when(e.block, e.timestamp))
    out = []
    for req in run.requests:
        cid = req.get("chain_request_id")
        if cid is None:
            continue
        seen = by_chain.get(int(cid), {})
        sent = float(req["created_at"])
        joins = [t for name in JOIN_EVENTS for t in seen.get(name, [])]
        told = notified_stats(run.notices.get(int(cid), []), sent)
        out.append(
            RequestLatency(
                request_id=req["id"],
                chain_request_id=int(cid),
                notified_s=told[0] if told else _delta(seen.get("FlexibilityRequested"), sent, watched),
                notified_p95_s=told[1] if told else None,
                notified_prosumers=len(run.notices[int(cid)]) if told else None,
                acceptances_recorded_s=_delta(joins, sent, watched) if joins else None,
                settlement_final_s=_delta(seen.get("RequestSettled"), sent, watched),
            )
        )
    return out


def _delta(stamps: list[float] | None, since: float, watched: bool) -> float | None:
    """Seconds from `since` to the last of `stamps`. A whole-second block timestamp is the block's
    second, truncated, so `since` is truncated too (1 s resolution); a watched time is used as is."""
    if not stamps:
        return None
    return round(max(stamps) - (since if watched else math.floor(since)), 3)


DIRECT_ANSWERS = ("accept", "acceptUpTo", "applyFor", "decline")
ANSWER_EVENTS = ("Accepted", "Applied", "Declined")


def answer_gas(run: RunData) -> AnswerGas:
    """Gas per answer by mode: a direct answer is one transaction; relayed answers share one
    relayAnswers transaction per batch, so its gas is divided by the answers it recorded."""
    direct = [g for name in DIRECT_ANSWERS for g in run.gas_by_function.get(name, [])]
    relay_txs = {tx for tx, fn in run.tx_function.items() if fn == "relayAnswers"}
    relayed = sum(1 for e in run.events if e.name in ANSWER_EVENTS and e.tx_hash in relay_txs)
    relay_gas = sum(run.tx_gas[tx] for tx in relay_txs)
    return AnswerGas(
        direct_answers=len(direct),
        direct_gas_per_answer=round(mean(direct)) if direct else None,
        relayed_answers=relayed,
        relay_transactions=len(relay_txs),
        relayed_gas_per_answer=round(relay_gas / relayed) if relayed else None,
    )


def cross_check(run: RunData) -> CrossCheck:
    """Each settled request's totals on chain against the aggregator's database."""
    chain = settled_on_chain(run)
    mismatches = []
    fields = ("requested_wh", "committed_wh", "delivered_wh", "participants", "compliant", "paid")
    keys = ("requestedWh", "committedWh", "deliveredWh", "participants", "compliant", "paid")
    for req in run.requests:
        cid = req.get("chain_request_id")
        if req["status"] != "settled" or cid is None:
            continue
        on_chain = chain.get(int(cid))
        db = {f: (None if req[f] is None else int(req[f])) for f in fields}
        if on_chain is None or any(db[f] != on_chain[k] for f, k in zip(fields, keys, strict=True)):
            mismatches.append(
                Mismatch(
                    request_id=req["id"],
                    chain_request_id=int(cid),
                    database=SettledTotals(**db),
                    chain=on_chain,
                )
            )
    known = {
        int(r["chain_request_id"])
        for r in run.requests
        if r["status"] == "settled" and r.get("chain_request_id") is not None
    }
    for cid in sorted(set(chain) - known):  # settled on chain, not in the database
        mismatches.append(Mismatch(request_id=None, chain_request_id=cid, database=None, chain=chain[cid]))
    return CrossCheck(settled_on_chain=len(chain), matches=not mismatches, mismatches=mismatches)


def removals(run: RunData) -> Removals:
    """Injected removals (SIGUSR1 to a running prosumer) against the `Removed` events on chain."""
    asked = [e for e in run.launches if e["kind"] == "remove"]
    on_chain = {str(e.args["prosumer"]).lower() for e in run.events if e.name == "Removed"}
    return Removals(
        injected=len(asked),
        removed_on_chain=len(on_chain),
        injected_and_on_chain=sum(1 for e in asked if e["address"].lower() in on_chain),
        prosumers=[
            RemovedProsumer(
                index=e["index"],
                address=e["address"],
                real_t=e["real_t"],
                on_chain=e["address"].lower() in on_chain,
            )
            for e in asked
        ],
    )


def latency_bounds(run: RunData, speed: float, block_time_s: float) -> LatencyBound | None:
    """Measured latencies against the lower bound of block time and gas limit (`simulation.bounds`);
    None without watched blocks or on a chain that mines per transaction."""
    if not run.watch.blocks or block_time_s <= 0:
        return None
    gas_limit = min(b.gas_limit for b in run.watch.blocks)
    measured = [m.model_dump() for m in latencies(run)]
    rows = request_bounds(run, measured, speed, block_time_s, gas_limit)
    return LatencyBound.model_validate(
        {
            "block_time_s": block_time_s,
            "gas_limit": gas_limit,
            "stages": bound_summary(rows),
            "per_request": rows,
        }
    )


def summarise(
    run: RunData, speed: float | None = None, block_time_s: float = 0.0, gas_price_gwei: float | None = None
) -> RunSummary:
    chain = settled_on_chain(run)
    totals = {
        k: sum(r[k] for r in chain.values()) for k in ("requestedWh", "committedWh", "deliveredWh", "paid")
    }
    participants = sum(r["participants"] for r in chain.values())
    compliant = sum(r["compliant"] for r in chain.values())
    success = [r for r in chain.values() if within_tolerance(r["deliveredWh"], r["requestedWh"])]
    statuses: dict[str, int] = defaultdict(int)
    for req in run.requests:
        statuses[req["status"]] += 1
    lat = latencies(run)
    rows = request_rows(run)
    return RunSummary(
        strategy=run.strategy,
        chain_id=run.chain_id,
        requests={"total": len(run.requests), **dict(statuses)},
        energy_wh=Energy(
            requested=totals["requestedWh"], committed=totals["committedWh"], delivered=totals["deliveredWh"]
        ),
        delivered_share=round(totals["deliveredWh"] / totals["requestedWh"], 3)
        if totals["requestedWh"]
        else None,
        success_rate=round(len(success) / len(chain), 3) if chain else None,
        success_rule="delivered within 10% of requested",
        participations=participants,
        compliant_share=round(compliant / participants, 3) if participants else None,
        tokens_paid=totals["paid"] / TOKEN,
        gas=gas_phases(run, totals["deliveredWh"], gas_price_gwei).model_copy(
            update={"answers": answer_gas(run)}
        ),
        latency_s=Latencies(
            notified=_stats([x.notified_s for x in lat if x.notified_s is not None]),
            acceptances_recorded=_stats(
                [x.acceptances_recorded_s for x in lat if x.acceptances_recorded_s is not None]
            ),
            settlement_final=_stats([x.settlement_final_s for x in lat if x.settlement_final_s is not None]),
        ),
        latency_per_request=lat,
        latency_bound=latency_bounds(run, speed, block_time_s) if speed else None,
        reading_latency_s=_stats([d for _, d in run.reading_latency]),
        readings_within_2s=(
            round(sum(1 for _, d in run.reading_latency if d <= 2.0) / len(run.reading_latency), 4)
            if run.reading_latency
            else None
        ),
        prosumers_started=sum(1 for e in run.launches if e["kind"] == "start"),
        removals=removals(run),
        cross_check=cross_check(run),
        per_request=rows,
        declines=decline_reasons(rows),
        population=population(run),
    )
