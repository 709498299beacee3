"""A run's CSV files: one per time series or table, units in the column names, each time named by its base.

Time bases: `sim_h` is simulated hours from the scenario's start; `sim_epoch_s` the simulated Unix
time; `real_epoch_s` the real Unix time; `chain_epoch_s` a block timestamp (real time on anvil and on
Volta). Power is in W, positive delivered to the grid (production, battery discharge), negative drawn
from it. Energy in Wh. Token amounts in base units (10^18 per token). docs/results.md lists every column.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from simulation.collect import RunData
from simulation.explain import phase_of, population, request_rows


def write_csvs(run: RunData, out: Path) -> None:
    c = run.clock
    sim_h_of_sim = (lambda t: round((t - c.sim_start) / 3600, 4)) if c else (lambda t: None)
    sim_h_of_real = (lambda t: round(c.sim_h(t), 4)) if c else (lambda t: None)
    _csv(
        out / "power.csv",
        ["sim_epoch_s", "sim_h", "net_power_w", "prosumers_reporting"],
        [(t, sim_h_of_sim(t), round(p, 3), n) for t, p, n in run.power_series],
    )
    _csv(
        out / "reading_latency.csv",
        ["real_epoch_s", "sim_h", "latency_s"],
        [(round(t, 3), sim_h_of_real(t), round(d, 4)) for t, d in run.reading_latency],
    )
    rows = request_rows(run)
    by_id = {int(r["id"]): r for r in run.requests}
    _csv(
        out / "requests.csv",
        [
            "request_id", "chain_request_id", "status", "direction", "power_w", "duration_sim_s",
            "lead_time_sim_s", "start_chain_epoch_s", "end_chain_epoch_s", "start_sim_h", "requested_wh",
            "committed_wh", "delivered_wh", "delivered_share", "participants", "compliant",
            "topped_up_w", "declines", "paid_base_units", "created_real_epoch_s",
        ],
        [
            (
                r.request_id, r.chain_request_id, r.status, r.direction, r.power_w, r.duration_s,
                by_id[r.request_id].get("lead_time_s"), by_id[r.request_id].get("start"),
                by_id[r.request_id].get("end"), r.start_h, r.requested_wh, r.committed_wh, r.delivered_wh,
                r.delivered_share, r.participants, r.compliant, r.topped_up_w, sum(r.declines.values()),
                by_id[r.request_id].get("paid"), by_id[r.request_id].get("created_at"),
            )
            for r in rows
        ],
    )  # fmt: skip
    _csv(
        out / "responses.csv",
        [
            "request_id", "prosumer", "kind", "reason", "committed_w", "delivered_wh", "compliant",
            "paid_base_units", "tx_hash", "block", "created_real_epoch_s",
        ],
        [
            (
                r["request_id"], r["prosumer"], r["kind"], r["reason"], r["committed_w"], r["delivered_wh"],
                r["compliant"], r["paid"], r["tx_hash"], r["block"], r["created_at"],
            )
            for r in run.responses
        ],
    )  # fmt: skip
    _csv(
        out / "declines.csv",
        ["request_id", "chain_request_id", "prosumer", "index", "kind", "reason", "explanation"],
        [
            (r.request_id, r.chain_request_id, d.prosumer, d.index, d.kind, d.reason, d.explanation)
            for r in rows
            for d in r.declined
        ],
    )
    _csv(
        out / "gas.csv",
        ["tx_hash", "function", "phase", "gas_used", "gas_price_wei"],
        [
            (tx, run.tx_function[tx], phase_of(run.tx_function[tx]), g, run.tx_gas_price.get(tx))
            for tx, g in run.tx_gas.items()
        ],
    )
    _csv(
        out / "reputation.csv",
        ["chain_epoch_s", "sim_h", "prosumer", "reputation", "compliant"],
        [
            (e.timestamp, sim_h_of_real(e.timestamp), e.args["prosumer"], e.args["reputation"],
             e.args["compliant"])
            for e in run.events
            if e.name == "OutcomeRecorded"
        ],
    )  # fmt: skip
    pop = population(run)
    _csv(
        out / "population.csv",
        [
            "index", "prosumer", "kind", "capacity_w", "flex_up_w", "flex_down_w", "max_duration_s",
            "reputation", "balance_base_units",
        ],
        [
            (
                p.index, p.address, p.kind, p.capacity_w, p.flex_up_w, p.flex_down_w, p.max_duration_s,
                p.reputation, run.balances.get(p.address, 0),
            )
            for p in pop.prosumers
        ],
    )  # fmt: skip
    _csv(out / "balances.csv", ["prosumer", "balance_base_units"], sorted(run.balances.items()))


def _csv(path: Path, header: list[str], rows: Any) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
