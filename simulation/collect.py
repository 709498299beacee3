"""Collecting one strategy run's results: what the chain says (events, receipts, balances, reputations:
`ChainFacts`, read from the run's `chain-logs.json` by `simulation.saved_run`) and what the aggregator
stored (readings, requests, responses)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aggregator.db import Database
from aggregator.requests_repo import RequestQueue
from aggregator.store import ReadingFilter, ReadingStore
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


@dataclass(frozen=True)
class ClockMapping:
    """The run's simulated clock: simulated epoch `sim_start` at real epoch `real_start`, at `speed`."""

    sim_start: float
    real_start: float
    speed: float

    def sim(self, real: float) -> float:
        return self.sim_start + (real - self.real_start) * self.speed

    def sim_h(self, real: float) -> float:
        """Simulated hours from the scenario's start at real (or chain) epoch `real`."""
        return (real - self.real_start) * self.speed / 3600


@dataclass
class ChainFacts:
    """What the chain says about a run (`chain-logs.json`, `simulation.saved_run.read_chain`)."""

    chain_id: int
    events: list[ChainEvent]  # Registry and market events, in chain order
    tx_gas: dict[str, int]
    tx_function: dict[str, str]
    tx_gas_price: dict[str, int]  # effective gas price paid (wei)
    balances: dict[str, int]
    reputations: dict[str, int]


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
    tx_gas_price: dict[str, int] = field(default_factory=dict)  # effective gas price paid (wei)
    explanations: dict[str, str] = field(default_factory=dict)  # decline tx -> the prosumer's own words
    clock: ClockMapping | None = None
    duration_s: float | None = None  # the scenario's simulated duration
    notices: dict[int, list[float]] = field(default_factory=dict)  # chain request id -> when each
    # prosumer learned of it (their own logs: simulation.notices)

    def index_of(self) -> dict[str, int]:
        """Account (lower case) -> the prosumer's index in the population (from the launches)."""
        return {str(e["address"]).lower(): int(e["index"]) for e in self.launches if e.get("kind") == "start"}


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


def collect_run(
    chain: ChainFacts, database_url: str, strategy: str, clock: ClockMapping, resolution_s: int = 60
) -> RunData:
    """Everything about one run, from what the chain says and the aggregator's database at `database_url`."""
    db = Database.connect(database_url)
    try:
        store = ReadingStore(db)
        requests, responses = RequestQueue(db).export()
        return RunData(
            strategy=strategy,
            chain_id=chain.chain_id,
            events=chain.events,
            gas_by_function=gas_by_function(chain.tx_gas, chain.tx_function),
            tx_gas=chain.tx_gas,
            tx_function=chain.tx_function,
            tx_gas_price=chain.tx_gas_price,
            requests=requests,
            responses=responses,
            power_series=power_series(store, resolution_s),
            reading_latency=reading_latency(store, clock.sim_start, clock.real_start, clock.speed),
            balances=chain.balances,
            reputations=chain.reputations,
            clock=clock,
        )
    finally:
        db.dispose()
