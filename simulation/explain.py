"""What a run's report explains, computed from its collected data: pure functions.

- `request_rows`: per request, what was asked, committed and delivered (from the chain's
  `RequestSettled`), its participants, and every decline with its reason code and the prosumer's own
  explanation (from its log);
- `population`: the prosumers as registered on chain (kind, capacity, contracted flexibility);
- `gas_phases`: gas per phase (registration, answers, settlement; deployments and others apart), with
  its cost in the native token at a stated gas price, and gas per delivered kWh.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from statistics import mean
from typing import Any

from contracts.types import DeclineReason, SourceKind
from simulation.collect import ChainEvent, RunData
from simulation.run_summary import (
    DeclineRow,
    FunctionGas,
    GasPhase,
    KindCount,
    PopulationDrawn,
    ProsumerRow,
    RequestRow,
    RunGas,
)

TOKEN = 10**18
GWEI = 10**9
PHASES: dict[str, frozenset[str]] = {
    "registration": frozenset({"register", "renegotiate", "remove", "terminate", "expire"}),
    "answers": frozenset({"accept", "acceptUpTo", "decline", "applyFor", "relayAnswers"}),
    "settlement": frozenset(
        {
            "openRequest",
            "modifyRequest",
            "cancelRequest",
            "closeRequest",
            "topUp",
            "select",
            "recordDeliveries",
            "finalise",
            "finaliseAnchored",
        }
    ),
}
ANSWER_EVENTS = ("Accepted", "ToppedUp", "Declined", "Applied", "Selected", "Displaced")
KINDS = tuple(k.name.lower() for k in SourceKind)


def phase_of(function: str) -> str:
    """The phase a contract function belongs to (`deployment` for a contract creation)."""
    if function.startswith("deploy "):
        return "deployment"
    return next((phase for phase, names in PHASES.items() if function in names), "other")


def reason_label(code: int) -> str:
    return DeclineReason(code).label if code in DeclineReason._value2member_map_ else f"code {code}"


def kind_label(code: int) -> str:
    return SourceKind(code).name.lower() if code in SourceKind._value2member_map_ else f"kind {code}"


def _by_request(events: list[ChainEvent]) -> dict[int, list[ChainEvent]]:
    out: dict[int, list[ChainEvent]] = defaultdict(list)
    for e in events:
        if e.contract == "Market" and "requestId" in e.args:
            out[int(e.args["requestId"])].append(e)
    return out


def _first_terms(events: list[ChainEvent]) -> dict[str, dict[str, Any]]:
    terms: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.name == "Registered":
            terms.setdefault(str(e.args["prosumer"]).lower(), dict(e.args["terms"]))
    return terms


def _share(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 3) if part is not None and whole else None


def request_rows(run: RunData) -> list[RequestRow]:
    """Every request the aggregator received, with its chain totals and the answers it got."""
    by_request = _by_request(run.events)
    index, terms = run.index_of(), _first_terms(run.events)
    rows = []
    for req in run.requests:
        cid = req.get("chain_request_id")
        events = by_request.get(int(cid), []) if cid is not None else []
        settled = next((e.args for e in events if e.name == "RequestSettled"), None)
        declined = []
        for e in events:
            if e.name != "Declined":
                continue
            who = str(e.args["prosumer"]).lower()
            kind = terms.get(who, {}).get("kind")
            declined.append(
                DeclineRow(
                    prosumer=str(e.args["prosumer"]),
                    index=index.get(who),
                    kind=None if kind is None else kind_label(int(kind)),
                    reason=reason_label(int(e.args["reason"])),
                    explanation=run.explanations.get(e.tx_hash.lower()),
                )
            )
        requested = None if settled is None else int(settled["requestedWh"])
        delivered = None if settled is None else int(settled["deliveredWh"])
        start = req.get("start")
        rows.append(
            RequestRow(
                request_id=int(req["id"]),
                chain_request_id=None if cid is None else int(cid),
                status=str(req["status"]),
                direction=str(req["direction"]),
                power_w=int(req["power_w"]),
                duration_s=int(req["duration_s"]),
                start_h=(
                    round(run.clock.sim_h(float(start)), 3) if start and run.clock is not None else None
                ),
                requested_wh=requested,
                committed_wh=None if settled is None else int(settled["committedWh"]),
                delivered_wh=delivered,
                delivered_share=_share(delivered, requested),
                participants=None if settled is None else int(settled["participants"]),
                compliant=None if settled is None else int(settled["compliant"]),
                topped_up_w=sum(int(e.args["extraW"]) for e in events if e.name == "ToppedUp"),
                answers=dict(Counter(e.name for e in events if e.name in ANSWER_EVENTS)),
                declines=dict(Counter(d.reason for d in declined)),
                declined=declined,
            )
        )
    return rows


def decline_reasons(rows: list[RequestRow]) -> dict[str, int]:
    """Declines of all requests by reason code, most frequent first."""
    total: Counter[str] = Counter()
    for row in rows:
        total.update(row.declines)
    return dict(total.most_common())


def population(run: RunData) -> PopulationDrawn:
    """The prosumers as they first registered on chain, per kind and one by one."""
    index, terms = run.index_of(), _first_terms(run.events)
    balances = {p.lower(): v for p, v in run.balances.items()}
    reputations = {p.lower(): v for p, v in run.reputations.items()}
    rows = []
    for who, t in terms.items():
        rows.append(
            ProsumerRow(
                index=index.get(who),
                address=next(
                    str(e.args["prosumer"])
                    for e in run.events
                    if e.name == "Registered" and str(e.args["prosumer"]).lower() == who
                ),  # fmt: skip
                kind=kind_label(int(t["kind"])),
                capacity_w=int(t["capacityW"]),
                flex_up_w=int(t["flexUpW"]),
                flex_down_w=int(t["flexDownW"]),
                max_duration_s=int(t["maxDurationS"]),
                reputation=reputations.get(who),
                balance=balances.get(who, 0) / TOKEN,
            )
        )
    rows.sort(key=lambda r: (r.index is None, r.index if r.index is not None else 0, r.address))
    by_kind = {}
    for kind in sorted({r.kind for r in rows}, key=lambda k: (KINDS + (k,)).index(k)):
        of_kind = [r for r in rows if r.kind == kind]
        by_kind[kind] = KindCount(
            prosumers=len(of_kind),
            capacity_kw=round(sum(r.capacity_w for r in of_kind) / 1000, 3),
            flex_up_kw=round(sum(r.flex_up_w for r in of_kind) / 1000, 3),
            flex_down_kw=round(sum(r.flex_down_w for r in of_kind) / 1000, 3),
        )
    return PopulationDrawn(registered=len(rows), by_kind=by_kind, prosumers=rows)


def gas_phases(run: RunData, delivered_wh: int, gas_price_gwei: float | None = None) -> RunGas:
    """Gas per function and per phase, its native-token cost at `gas_price_gwei` (default: the mean
    effective price the run's transactions paid), and the requests' gas per delivered kWh."""
    per_function = {
        name: FunctionGas(count=len(g), mean=round(mean(g)), total=sum(g))
        for name, g in sorted(run.gas_by_function.items())
    }
    if gas_price_gwei is None:
        paid = [p for p in run.tx_gas_price.values() if p > 0]
        gas_price_gwei = round(mean(paid) / GWEI, 6) if paid else 0.0
        source = "mean effective gas price paid by the run's transactions"
    else:
        source = "given to the report"
    phases: dict[str, list[int]] = {p: [] for p in (*PHASES, "deployment", "other")}
    for tx, gas in run.tx_gas.items():
        phases[phase_of(run.tx_function.get(tx, "unknown"))].append(gas)
    by_phase = {
        name: GasPhase(transactions=len(gas), gas=sum(gas), native=round(sum(gas) * gas_price_gwei / GWEI, 9))
        for name, gas in phases.items()
    }
    market = by_phase["answers"].gas + by_phase["settlement"].gas
    return RunGas(
        per_function=per_function,
        by_phase=by_phase,
        market_total=market,
        gas_price_gwei=gas_price_gwei,
        gas_price_source=source,
        per_delivered_kwh=round(market * 1000 / delivered_wh) if delivered_wh > 0 else None,
    )
