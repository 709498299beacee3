"""Collecting one strategy run's results: what the chain says (events, receipts, results, balances,
reputations) and what the aggregator stored (readings, requests, responses), cross-checked."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aggregator.db import Database
from aggregator.requests_repo import RequestQueue
from aggregator.store import ReadingFilter, ReadingStore
from contracts.deployment import Deployment
from contracts.events import MARKET, REGISTRY, EventReader
from simulation.watch import Watch

log = logging.getLogger(__name__)


@dataclass
class ChainEvent:
    contract: str
    name: str
    args: dict[str, Any]
    block: int
    timestamp: int
    tx_hash: str


@dataclass
class RunData:
    """Everything the report needs about one strategy run."""

    strategy: str
    chain_id: int
    events: list[ChainEvent]
    gas_by_function: dict[str, list[int]]
    tx_gas: dict[str, int]
    tx_function: dict[str, str]
    requests: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    power_series: list[tuple[float, float, int]]  # (sim t, net power W, prosumers reporting)
    reading_latency: list[tuple[float, float]]  # (real t, seconds from taken to stored)
    balances: dict[str, int]
    reputations: dict[str, int]
    grid: list[dict[str, Any]] = field(default_factory=list)
    launches: list[dict[str, Any]] = field(default_factory=list)  # prosumers started and removed
    watch: Watch = field(default_factory=Watch)  # blocks as they appeared, tx pool, aggregator metrics
    notices: dict[int, list[float]] = field(default_factory=dict)  # chain request id -> when each
    # prosumer learned of it (their own logs: simulation.notices)


def chain_events(d: Deployment) -> list[ChainEvent]:
    """Every Registry and FlexibilityMarket event since the deployment, decoded, in order."""
    reader = EventReader(d, (REGISTRY, MARKET))
    return [
        ChainEvent(
            "Registry" if e.contract == REGISTRY else "Market",
            e.name,
            e.args,
            e.block,
            reader.timestamp(e.block),
            e.tx_hash,
        )
        for e in reader.read(d.manifest.block)
    ]


def receipts(d: Deployment, events: list[ChainEvent]) -> tuple[dict[str, int], dict[str, str]]:
    """Gas used and function name of every transaction that emitted an event."""
    from eth_utils import function_abi_to_4byte_selector

    selectors: dict[bytes, str] = {}
    for binding in (d.registry, d.market, d.token):
        abi: list[Any] = list(binding.contract.abi)
        for item in abi:
            if item.get("type") == "function":
                selectors[bytes(function_abi_to_4byte_selector(item))] = item["name"]
    gas, function = {}, {}
    for tx_hash in dict.fromkeys(e.tx_hash for e in events):
        r = d.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        tx = d.chain.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        gas[tx_hash] = int(r["gasUsed"])
        function[tx_hash] = selectors.get(bytes(tx["input"])[:4], "unknown")
    return gas, function


def power_series(store: ReadingStore, resolution_s: int) -> list[tuple[float, float, int]]:
    """Net power of the whole population per bucket of simulated time (mean per prosumer, summed)."""
    totals: dict[float, list[float]] = defaultdict(lambda: [0.0, 0])
    for b in store.buckets(ReadingFilter(), resolution_s, 10_000_000):
        cell = totals[b.start]
        cell[0] += b.power_w
        cell[1] += 1
    return [(t, v[0], int(v[1])) for t, v in sorted(totals.items())]


def reading_latency(
    store: ReadingStore, sim_start: float, real_start: float, speed: float, limit: int = 2_000_000
) -> list[tuple[float, float]]:
    """For every stored reading: the real time it was taken (from its simulated timestamp through the
    run's clock mapping) and how long it took to be committed."""
    out = []
    for r in store.query(ReadingFilter(), limit):
        taken = real_start + (r.t - sim_start) / speed
        out.append((taken, r.received_at - taken))
    return out


def gas_by_function(tx_gas: dict[str, int], tx_function: dict[str, str]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for tx, gas in tx_gas.items():
        grouped[tx_function[tx]].append(gas)
    return dict(grouped)


@dataclass(frozen=True)
class ClockMapping:
    """The run's simulated clock: simulated epoch `sim_start` at real epoch `real_start`, at `speed`."""

    sim_start: float
    real_start: float
    speed: float

    def sim(self, real: float) -> float:
        return self.sim_start + (real - self.real_start) * self.speed


def collect_run(
    d: Deployment, database_url: str, strategy: str, clock: ClockMapping, resolution_s: int = 60
) -> RunData:
    """Everything about one run, from the chain and from the aggregator's database at `database_url`."""
    events = chain_events(d)
    tx_gas, tx_function = receipts(d, events)
    db = Database.connect(database_url)
    try:
        store = ReadingStore(db)
        requests, responses = RequestQueue(db).export()
        prosumers = sorted({str(e.args["prosumer"]) for e in events if e.name == "Registered"})
        return RunData(
            strategy=strategy,
            chain_id=d.chain.chain_id,
            events=events,
            gas_by_function=gas_by_function(tx_gas, tx_function),
            tx_gas=tx_gas,
            tx_function=tx_function,
            requests=requests,
            responses=responses,
            power_series=power_series(store, resolution_s),
            reading_latency=reading_latency(store, clock.sim_start, clock.real_start, clock.speed),
            balances={p: d.token.balance_of(p) for p in prosumers},
            reputations={p: d.registry.reputation(p) for p in prosumers},
        )
    finally:
        db.dispose()
