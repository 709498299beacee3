"""A run's `Shortfall` (summary.json): the undelivered energy by reason and compliance per behaviour,
from the collected chain events, the grid operator's record and what the run knows of its prosumers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from simulation.collect import RunData
from simulation.run_summary import BehaviourStats, RequestShortfallOut, Shortfall
from simulation.shortfall import REFUSED, Prosumer, RequestShortfall, by_reason, shortfalls


def summarise_shortfall(
    data: RunData, prosumer: Callable[[str], Prosumer], sim_time: Callable[[float], datetime]
) -> Shortfall:
    items = shortfalls(((e.name, e.args) for e in data.events), prosumer, sim_time)
    for row in data.grid:  # requests the aggregator refused never reached the chain (a request skipped
        # because nothing was deliverable asked for nothing)
        refused = row.get("request_id") is None and row.get("error") and int(row.get("available_w") or 0) > 0
        if refused:
            planned = row.get("planned", {})
            wh = int(row["power_w"]) * float(planned.get("duration_s", 0)) / 3600
            s = RequestShortfall(-1, str(planned.get("direction", "")), wh, 0.0, 0.0)
            s.add(REFUSED, wh)
            items.append(s)
    requested = sum(s.requested_wh for s in items)
    delivered = sum(s.delivered_wh for s in items)
    return Shortfall(
        requested_wh=round(requested, 1),
        delivered_wh=round(delivered, 1),
        delivered_share=round(delivered / requested, 4) if requested > 0 else None,
        by_reason=by_reason(items),
        per_request=[
            RequestShortfallOut(
                chain_request_id=s.chain_request_id,
                direction=s.direction,
                requested_wh=round(s.requested_wh, 1),
                committed_wh=round(s.committed_wh, 1),
                delivered_wh=round(s.delivered_wh, 1),
                undelivered_wh={k: round(v, 2) for k, v in sorted(s.undelivered_wh.items())},
            )
            for s in items
        ],
        by_behaviour=behaviours(data, prosumer),
    )


def behaviours(data: RunData, prosumer: Callable[[str], Prosumer]) -> dict[str, BehaviourStats]:
    """Per kind of prosumer: how many, their participations and compliance, their final reputation."""
    registered = {str(e.args["prosumer"]).lower() for e in data.events if e.name == "Registered"}
    kind = {a: prosumer(a).traits.kind_of_prosumer for a in registered}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in data.events:
        if e.name == "DeliveryRecorded":
            k = kind.get(str(e.args["prosumer"]).lower(), "diligent")
            counts[k][0] += 1
            counts[k][1] += int(bool(e.args["compliant"]))
    reputations = {a.lower(): r for a, r in data.reputations.items()}
    out = {}
    for k in sorted(set(kind.values())):
        members = [a for a, v in kind.items() if v == k]
        reps = [reputations[a] for a in members if a in reputations]
        out[k] = BehaviourStats(
            prosumers=len(members),
            participations=counts[k][0],
            compliant=counts[k][1],
            mean_reputation=round(sum(reps) / len(reps), 1) if reps else None,
        )
    return out
