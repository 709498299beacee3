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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from contracts.anvil import AnvilConfig, free_port, start_anvil
from contracts.errors import ChainError
from contracts.settings import ChainSettings
from simulation import collect, render, saved_run
from simulation.chain_export import export_logs
from simulation.chain_setup import StrategyRun, fund_prosumers, prepare_chain, prosumer_keys
from simulation.chain_target import effective_chain, embedded_chain_id
from simulation.child_env import (
    SETTLE_GRACE_S,
    RunClock,
    aggregator_env,
    chain_env,
    dispatch_block_time_s,
    grid_env,
    prosumer_env,
)
from simulation.launch import FleetLauncher, RampStep, RemovalStep
from simulation.processes import ProcessGroup
from simulation.ramp import plan_removals, ramp_steps
from simulation.report import write_html
from simulation.run_settings import write_child_settings
from simulation.run_summary import RunSummary
from simulation.scenario import Scenario
from simulation.watch import Watcher

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def run_scenario(
    scenario: Scenario, out: Path, progress: Progress, chain: ChainSettings | None = None
) -> dict[str, RunSummary]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(scenario.to_toml())
    summaries: dict[str, RunSummary] = {}
    plots: dict[str, list[str]] = {}
    for strategy in scenario.strategies:
        progress(f"--- strategy {strategy} ---")
        summary, names = _run_strategy(scenario, strategy, out / strategy, progress, chain)
        summaries[strategy], plots[strategy] = summary, names
    report = write_html(out, scenario.to_toml(), {s: v.to_dict() for s, v in summaries.items()}, plots)
    (out / "run.json").write_text(json.dumps(_run_info(scenario, summaries, out), indent=2))
    progress(f"report: {report}")
    return summaries


def _run_info(scenario: Scenario, summaries: dict[str, RunSummary], out: Path) -> dict[str, Any]:
    from importlib.metadata import version

    packages = {
        p: version(p) for p in ("flexsim", "web3", "py-solc-x", "fastapi", "sqlalchemy", "numpy", "pvlib")
    }
    chain_ids = {s: v.chain_id for s, v in summaries.items()}
    settings = {}
    for s in summaries:
        path = out / s / "settings.json"
        if path.is_file():
            settings[s] = json.loads(path.read_text())
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "packages": packages,
        "chain_ids": chain_ids,
        "settings": settings,  # per strategy and child role: every setting, with where it came from
    }


def _run_strategy(
    scenario: Scenario, strategy: str, out: Path, progress: Progress, chain: ChainSettings | None = None
) -> tuple[RunSummary, list[str]]:
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
            _play(scenario, run, group, progress, settings)
        progress("collecting results from the chain and the aggregator's database")
        export_logs(run.deployment, out / saved_run.CHAIN_LOGS)  # the chain's own record: audits, re-renders
    finally:
        if anvil:
            anvil.stop()
    saved_run.write_clock(out, saved_clock(scenario, run))
    rendered = render.summarise_folder(out, strategy)  # what `flexsim report RUN_DIR` reads too
    names = render.write_folder(out, rendered, progress)
    summary = rendered.summary
    return summary, names


def _play(
    scenario: Scenario, run: StrategyRun, group: ProcessGroup, progress: Progress, settings: ChainSettings
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    local = scenario.chain.mode == "embedded"  # a public RPC is polled gently, its pool left alone
    watcher = Watcher(run.rpc_url, f"{url}/metrics", poll_s=0.1 if local else 1.0, watch_pool=local)
    watcher.start()
    try:
        _play_watched(scenario, run, group, progress, url, settings)
    finally:
        watcher.stop(run.out)


def service_credentials() -> tuple[str, str]:
    """Fresh grid and admin bearer credentials for a run's aggregator (43 characters each: strong
    enough for AGGREGATOR_GRID_TOKEN / AGGREGATOR_ADMIN_TOKEN, which refuse fewer than 32)."""
    return secrets.token_urlsafe(32), secrets.token_urlsafe(32)


def _play_watched(
    scenario: Scenario,
    run: StrategyRun,
    group: ProcessGroup,
    progress: Progress,
    url: str,
    settings: ChainSettings,
) -> None:
    keys = prosumer_keys(scenario, run.out)
    fund_prosumers(run, keys, progress)
    grid_token, admin_token = service_credentials()
    enrolment_token = secrets.token_urlsafe(32)  # the fleet's credential for the aggregator's consent
    port = int(url.rsplit(":", 1)[1])
    run.real_start = time.time() + 5.0  # simulated time starts once the services are up
    clock = RunClock(run.sim_start, scenario.speed, run.real_start)
    shared_chain = chain_env(scenario, settings)
    ramp = scenario.ramp
    steps = [RampStep(st.at_s, st.indices) for st in ramp_steps(ramp, scenario.population.count)]
    prosumers = prosumer_env(
        scenario,
        clock,
        aggregator_url=url,
        rpc_url=run.rpc_url,
        manifest=run.manifest,
        enrolment_token=enrolment_token,
    )
    fleet = FleetLauncher.start(group, run.out, {**prosumers, **shared_chain}, keys, ramp.delay_ms)
    progress(f"starting the aggregator at {url}")
    service = aggregator_env(
        clock,
        port=port,
        database_url=f"sqlite:///{run.out / 'aggregator.db'}",
        rpc_url=run.rpc_url,
        manifest=run.manifest,
        aggregator_key=run.aggregator.account.key.hex(),
        grid_token=grid_token,
        admin_token=admin_token,
        enrolment_token=enrolment_token,
        default_strategy=run.strategy,
        block_time_s=dispatch_block_time_s(scenario.chain.block_time_s),
    )
    aggregator = group.start("aggregator", "aggregator", {**service, **shared_chain})
    _wait_healthy(url, aggregator)
    progress(f"starting {ramp.initial} prosumers, {ramp.delay_ms} ms apart")
    steps[0].launch(fleet, progress)
    progress("starting the grid operator")
    operator = grid_env(
        scenario.real_duration_s,
        run.real_start,
        aggregator_url=url,
        token=grid_token,
        scenario=str(run.out.parent / "scenario.toml"),
        rpc_url=run.rpc_url,
        manifest=run.manifest,
        out=run.out / "grid_operator.json",
    )
    write_child_settings(
        run.out / "settings.json", {**prosumers, **shared_chain}, service, operator, shared_chain
    )
    grid = group.start("grid_operator", "grid_operator", operator)
    end = run.real_start + scenario.real_duration_s
    pending: list[RampStep | RemovalStep] = [
        *steps[1:],
        *(RemovalStep(r) for r in plan_removals(scenario)),
    ]
    pending.sort(key=lambda x: x.at_s)
    last_note = 0.0
    try:
        while time.time() < end or grid.running:
            now = time.time()
            while pending and run.real_start + pending[0].at_s / scenario.speed <= now:
                pending.pop(0).launch(fleet, progress)
            if not aggregator.running:
                raise ChainError(
                    f"the aggregator stopped (exit {aggregator.process.returncode}):\n{aggregator.tail()}"
                )
            fleet.check()
            if now - last_note >= 10:
                sim_h = max(0.0, (now - run.real_start) * scenario.speed / 3600)
                removed = sum(1 for e in fleet.events if e.kind == "remove")
                progress(
                    f"simulated {sim_h:5.2f} h of {scenario.duration_s / 3600:.2f}; "
                    f"{fleet.running()} prosumers running, {removed} removed"
                )
                last_note = now
            if now > end + SETTLE_GRACE_S + scenario.real_duration_s:
                progress("the grid operator is still waiting for settlements; stopping")
                break
            time.sleep(0.5)
    finally:
        fleet.write(run.out / "prosumers.json")
    if grid.process.returncode not in (0, None):
        progress(f"grid operator exited with {grid.process.returncode}: {grid.tail(3)}")


def saved_clock(scenario: Scenario, run: StrategyRun) -> saved_run.SavedClock:
    """The run's clock as `clock.json` keeps it for re-rendering."""
    return saved_run.SavedClock(
        collect.ClockMapping(run.sim_start.timestamp(), run.real_start, scenario.speed),
        scenario.duration_s,
        max(60, int(scenario.speed * scenario.reading_interval_s)),
        scenario.chain.block_time_s,
    )


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
