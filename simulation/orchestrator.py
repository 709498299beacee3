"""`flexsim run`: the whole market, end to end (rules R6, R12-R14 and the seed's run sequence).

Per strategy: start the chain (or connect), deploy (or reuse a manifest), fund the prosumer accounts,
start the aggregator, start the prosumers ramped (each its own process), start the grid operator,
wait for the scenario to play out and its requests to settle, stop everything, collect the results
from the chain and the aggregator's database, and write the report. With strategy `both`, fair and
reputation run one after the other on the same population, seed and request schedule.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts.anvil import AnvilConfig, free_port, start_anvil
from contracts.settings import ChainSettings
from flexsim.errors import ChainError
from simulation import collect
from simulation.chain_export import export_logs
from simulation.chain_setup import StrategyRun, fund_prosumers, prepare_chain, prosumer_keys
from simulation.chain_target import effective_chain, embedded_chain_id
from simulation.processes import ProcessGroup
from simulation.report import write_csvs, write_html, write_plots
from simulation.scenario import Scenario
from simulation.summary import summarise

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
SETTLE_GRACE_S = 120.0


def run_scenario(
    scenario: Scenario, out: Path, progress: Progress, chain: ChainSettings | None = None
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(scenario.to_toml())
    summaries, plots = {}, {}
    for strategy in scenario.strategies:
        progress(f"--- strategy {strategy} ---")
        summary, names = _run_strategy(scenario, strategy, out / strategy, progress, chain)
        summaries[strategy], plots[strategy] = summary, names
    report = write_html(out, scenario.to_toml(), summaries, plots)
    (out / "run.json").write_text(json.dumps(_run_info(scenario, summaries), indent=2))
    progress(f"report: {report}")
    return summaries


def _run_info(scenario: Scenario, summaries: dict[str, Any]) -> dict[str, Any]:
    from importlib.metadata import version

    packages = {
        p: version(p) for p in ("flexsim", "web3", "py-solc-x", "fastapi", "sqlalchemy", "numpy", "pvlib")
    }
    chain_ids = {s: v["chain_id"] for s, v in summaries.items()}
    return {"scenario": scenario.name, "seed": scenario.seed, "packages": packages, "chain_ids": chain_ids}


def _run_strategy(
    scenario: Scenario, strategy: str, out: Path, progress: Progress, chain: ChainSettings | None = None
) -> tuple[dict[str, Any], list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    settings = chain or ChainSettings()
    scenario = effective_chain(scenario, settings)  # CHAIN_* settings over the scenario's [chain]
    c = scenario.chain
    anvil = None
    if c.mode == "embedded":
        progress("starting an embedded anvil chain (London)")
        anvil = start_anvil(
            AnvilConfig(
                chain_id=embedded_chain_id(c),
                block_time_s=c.block_time_s or None,
                gas_limit=c.gas_limit,
                accounts=2,
            )
        )
    try:
        rpc_url = anvil.rpc_url if anvil else c.rpc_url
        run = prepare_chain(scenario, strategy, out, rpc_url, progress, settings)
        with ProcessGroup(out / "logs") as group:
            _play(scenario, run, group, progress)
        progress("collecting results from the chain and the aggregator's database")
        data = _collect(scenario, run)
        export_logs(run.deployment, out / "chain-logs.json")  # the chain's own record, for audits
    finally:
        if anvil:
            anvil.stop()
    summary = summarise(data)
    write_csvs(data, out)
    names = write_plots(data, out, lambda real: _sim(run, real, scenario.speed))
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary, names


def _play(scenario: Scenario, run: StrategyRun, group: ProcessGroup, progress: Progress) -> None:
    keys = prosumer_keys(scenario, run.out)
    fund_prosumers(run, keys, progress)
    grid_token, admin_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run.real_start = time.time() + 5.0  # simulated time starts once the services are up
    clock_env = {
        "SIM_START": run.sim_start.isoformat(),
        "SIM_SPEED": str(scenario.speed),
        "SIM_REAL_START_EPOCH": str(run.real_start),
    }
    progress(f"starting the aggregator at {url}")
    aggregator = group.start(
        "aggregator",
        "aggregator",
        {
            "AGGREGATOR_PORT": str(port),
            "AGGREGATOR_DATABASE_URL": f"sqlite:///{run.out / 'aggregator.db'}",
            "AGGREGATOR_RPC_URL": run.rpc_url,
            "AGGREGATOR_MANIFEST": str(run.manifest),
            "AGGREGATOR_AGGREGATOR_KEY": run.aggregator.account.key.hex(),
            "AGGREGATOR_GRID_TOKEN": grid_token,
            "AGGREGATOR_ADMIN_TOKEN": admin_token,
            "AGGREGATOR_DEFAULT_STRATEGY": run.strategy,
            "AGGREGATOR_BLOCK_TIME_S": str(scenario.chain.block_time_s or 1.0),
            **{f"AGGREGATOR_{k}": v for k, v in clock_env.items()},
        },
    )
    _wait_healthy(url, aggregator)
    prosumer_env = {
        "PROSUMER_AGGREGATOR_URL": url,
        "PROSUMER_RPC_URL": run.rpc_url,
        "PROSUMER_MANIFEST": str(run.manifest),
        "PROSUMER_SEED": str(scenario.seed),
        "PROSUMER_READING_INTERVAL_S": str(scenario.reading_interval_s),
        "PROSUMER_OUTAGE_RATE_PER_HOUR": str(scenario.incidents.outage_rate_per_hour),
        "PROSUMER_OUTAGE_MEAN_DURATION_S": str(scenario.incidents.outage_mean_duration_s),
        "PROSUMER_RENEGOTIATION_RATE_PER_HOUR": str(scenario.incidents.renegotiation_rate_per_hour),
        "PROSUMER_RENEGOTIATION_AFTER_OUTAGE_RATE_PER_HOUR": str(
            scenario.incidents.renegotiation_after_outage_rate_per_hour
        ),
        **{f"PROSUMER_{k}": v for k, v in clock_env.items()},
    }

    def start_prosumer(i: int) -> None:
        group.start(
            f"prosumer-{i:04d}",
            "prosumer",
            {**prosumer_env, "PROSUMER_INDEX": str(i), "PROSUMER_KEY": keys[i]},
        )

    ramp = scenario.ramp
    progress(f"starting {ramp.initial} prosumers, {ramp.delay_ms} ms apart")
    started = 0
    for i in range(ramp.initial):
        start_prosumer(i)
        started += 1
        time.sleep(ramp.delay_ms / 1000)
    progress("starting the grid operator")
    grid = group.start(
        "grid_operator",
        "grid_operator",
        {
            "GRID_AGGREGATOR_URL": url,
            "GRID_TOKEN": grid_token,
            "GRID_SCENARIO": str(run.out.parent / "scenario.toml"),
            "GRID_RPC_URL": run.rpc_url,
            "GRID_MANIFEST": str(run.manifest),
            "GRID_OUT": str(run.out / "grid_operator.json"),
            "GRID_SIM_REAL_START_EPOCH": str(run.real_start),
            "GRID_SETTLE_TIMEOUT_S": str(SETTLE_GRACE_S + scenario.real_duration_s),
        },
    )
    until = ramp.until or scenario.population.count
    next_add = run.real_start + ramp.every_s / scenario.speed
    end = run.real_start + scenario.real_duration_s
    last_note = 0.0
    while time.time() < end or grid.running:
        now = time.time()
        if ramp.add and started < until and now >= next_add:
            for _ in range(min(ramp.add, until - started)):
                start_prosumer(started)
                started += 1
            next_add += ramp.every_s / scenario.speed
        if not aggregator.running:
            raise ChainError(
                f"the aggregator stopped (exit {aggregator.process.returncode}):\n{aggregator.tail()}"
            )
        if now - last_note >= 10:
            sim_h = max(0.0, (now - run.real_start) * scenario.speed / 3600)
            alive = sum(1 for c in group.children if c.name.startswith("prosumer") and c.running)
            progress(
                f"simulated {sim_h:5.2f} h of {scenario.duration_s / 3600:.2f}; {alive} prosumers running"
            )
            last_note = now
        if now > end + SETTLE_GRACE_S + scenario.real_duration_s:
            progress("the grid operator is still waiting for settlements; stopping")
            break
        time.sleep(0.5)
    if grid.process.returncode not in (0, None):
        progress(f"grid operator exited with {grid.process.returncode}: {grid.tail(3)}")


def _collect(scenario: Scenario, run: StrategyRun) -> collect.RunData:
    data = collect.collect_run(
        run.deployment,
        f"sqlite:///{run.out / 'aggregator.db'}",
        run.strategy,
        collect.ClockMapping(run.sim_start.timestamp(), run.real_start, scenario.speed),
        resolution_s=max(60, int(scenario.speed * scenario.reading_interval_s)),
    )
    grid_file = run.out / "grid_operator.json"
    if grid_file.is_file():
        data.grid = json.loads(grid_file.read_text())
    return data


def _sim(run: StrategyRun, real: float, speed: float) -> float:
    return (run.sim_start + timedelta(seconds=(real - run.real_start) * speed)).timestamp()


def _wait_healthy(url: str, child: Any, timeout_s: float = 60.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not child.running:
            raise ChainError(f"the aggregator exited (code {child.process.returncode}):\n{child.tail()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ChainError(f"the aggregator did not become healthy within {timeout_s:.0f} s:\n{child.tail()}")


def default_out(scenario: Scenario) -> Path:
    return Path("results") / f"{scenario.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
