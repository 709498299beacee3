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
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from base.errors import FlexsimError
from contracts.anvil import AnvilConfig, free_port, start_anvil
from contracts.compiler import compile_contracts
from contracts.errors import ChainError
from contracts.settings import ChainSettings
from prosumer.fleet import preload
from prosumer.settings import ProsumerSettings
from simulation import collect, watch
from simulation.chain_export import export_logs
from simulation.chain_setup import StrategyRun, fund_prosumers, prepare_chain, prosumer_keys
from simulation.chain_target import effective_chain, embedded_chain_id, embedded_settings
from simulation.child_env import (
    SETTLE_GRACE_S,
    RunClock,
    aggregator_env,
    chain_env,
    dispatch_block_time_s,
    grid_env,
    prosumer_env,
)
from simulation.collect import RunData
from simulation.launch import FleetLauncher, RampStep, RemovalStep
from simulation.processes import ProcessGroup
from simulation.ramp import plan_removals, ramp_steps
from simulation.report import write_csvs, write_html, write_plots, write_stress_plot
from simulation.run_prosumers import lookup
from simulation.run_summary import RunSummary, StressHeadline
from simulation.scenario import Scenario
from simulation.shortfall_run import summarise_shortfall
from simulation.stress import headline
from simulation.stress_run import stress_of
from simulation.summary import summarise
from simulation.watch import Watcher

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def run_scenario(
    scenario: Scenario,
    out: Path,
    progress: Progress,
    chain: ChainSettings | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, RunSummary]:
    """Plays every strategy of `scenario` and writes the report. On an embedded chain the strategies
    play at the same time, each on its own anvil (they share nothing but the scenario file); on an
    external chain one after the other (they share its deployment and the funder's nonces).
    `timings` receives wall seconds per phase (`setup` and each strategy)."""
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(scenario.to_toml())
    settings = chain or ChainSettings()
    parallel = effective_chain(scenario, settings).chain.mode == "embedded" and len(scenario.strategies) > 1
    if parallel:
        compile_contracts(embedded_settings(settings))  # once, before the strategies compile in parallel
    warm_profiles(scenario, progress)
    clock = timings if timings is not None else {}
    clock["setup"] = round(time.monotonic() - t0, 1)
    played: dict[str, tuple[RunData, StrategyRun]] = {}
    if parallel:
        played = _play_parallel(scenario, out, progress, settings, clock)
    else:
        for strategy in scenario.strategies:
            progress(f"--- strategy {strategy} ---")
            started = time.monotonic()
            played[strategy] = _run_strategy(scenario, strategy, out / strategy, progress, settings)
            clock[strategy] = round(time.monotonic() - started, 1)
    summaries: dict[str, RunSummary] = {}
    plots: dict[str, list[str]] = {}
    started = time.monotonic()
    for strategy in scenario.strategies:  # matplotlib draws from one thread
        data, run = played[strategy]
        summaries[strategy], plots[strategy] = _write_strategy(scenario, data, run, progress)
    report = write_html(out, scenario.to_toml(), {s: v.to_dict() for s, v in summaries.items()}, plots)
    (out / "run.json").write_text(json.dumps(_run_info(scenario, summaries), indent=2))
    clock["report"] = round(time.monotonic() - started, 1)
    progress(f"report: {report}")
    return summaries


def warm_profiles(scenario: Scenario, progress: Progress) -> None:
    """Computes (or finds cached) the yearly profiles of every prosumer of the scenario, so the fleet
    only reads them: computing a new seed's PV profiles can take a minute on a busy machine, which
    would delay the prosumers' start behind the simulated clock."""
    progress(f"preparing the profiles of {scenario.population.count} prosumers")
    preload(ProsumerSettings(seed=scenario.seed), list(range(scenario.population.count)))


def _play_parallel(
    scenario: Scenario,
    out: Path,
    progress: Progress,
    settings: ChainSettings,
    clock: dict[str, float],
) -> dict[str, tuple[RunData, StrategyRun]]:
    """Each strategy in its own thread (its own anvil, aggregator, fleet and grid operator). A failure
    or Ctrl-C in one stops the others: their loops watch `abort`."""
    abort = threading.Event()
    results: dict[str, tuple[RunData, StrategyRun]] = {}
    errors: list[BaseException] = []

    def one(strategy: str) -> None:
        started = time.monotonic()
        try:
            results[strategy] = _run_strategy(
                scenario, strategy, out / strategy, lambda m: progress(f"[{strategy}] {m}"), settings, abort
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
            errors.append(exc)
            abort.set()
        finally:
            clock[strategy] = round(time.monotonic() - started, 1)

    threads = [threading.Thread(target=one, args=(s,), name=f"strategy-{s}") for s in scenario.strategies]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    except BaseException:
        abort.set()  # Ctrl-C or SIGTERM: every strategy unwinds (its process group stops its children)
        for t in threads:
            t.join()
        raise
    if errors:
        raise errors[0]
    return results


def _run_info(scenario: Scenario, summaries: dict[str, RunSummary]) -> dict[str, Any]:
    from importlib.metadata import version

    packages = {
        p: version(p) for p in ("flexsim", "web3", "py-solc-x", "fastapi", "sqlalchemy", "numpy", "pvlib")
    }
    chain_ids = {s: v.chain_id for s, v in summaries.items()}
    return {"scenario": scenario.name, "seed": scenario.seed, "packages": packages, "chain_ids": chain_ids}


def _run_strategy(
    scenario: Scenario,
    strategy: str,
    out: Path,
    progress: Progress,
    chain: ChainSettings | None = None,
    abort: threading.Event | None = None,
) -> tuple[RunData, StrategyRun]:
    """Plays one strategy and collects what it left on the chain and in the database."""
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
            _play(scenario, run, group, progress, settings, abort or threading.Event())
        progress("collecting results from the chain and the aggregator's database")
        data = _collect(scenario, run)
        export_logs(run.deployment, out / "chain-logs.json")  # the chain's own record, for audits
    finally:
        if anvil:
            anvil.stop()
    return data, run


def _write_strategy(
    scenario: Scenario, data: RunData, run: StrategyRun, progress: Progress
) -> tuple[RunSummary, list[str]]:
    """One strategy's summary, CSV files, plots and stress verdicts, in its folder."""
    out = run.out
    summary = summarise(data, scenario.speed, scenario.chain.block_time_s)
    clock = collect.ClockMapping(run.sim_start.timestamp(), run.real_start, scenario.speed)
    summary.shortfall = summarise_shortfall(
        data,
        lookup(scenario, out / "fleet-keys.json"),
        lambda epoch: datetime.fromtimestamp(clock.sim(epoch), UTC),
    )
    write_csvs(data, out)
    names = write_plots(data, out, lambda real: _sim(run, real, scenario.speed))
    stress = stress_of(data)
    if stress is not None:
        (out / "stress.json").write_text(json.dumps(stress, indent=2))
        summary.stress = StressHeadline.model_validate(
            {"measures": stress["measures"], "max_prosumers": stress["max_prosumers"]}
        )
        names.append(write_stress_plot(stress, out, run.strategy))
        progress("stress: " + headline(stress).replace("\n", "; "))
    (out / "summary.json").write_text(summary.to_json())
    return summary, names


def _play(
    scenario: Scenario,
    run: StrategyRun,
    group: ProcessGroup,
    progress: Progress,
    settings: ChainSettings,
    abort: threading.Event,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    local = scenario.chain.mode == "embedded"  # a public RPC is polled gently, its pool left alone
    watcher = Watcher(run.rpc_url, f"{url}/metrics", poll_s=0.1 if local else 1.0, watch_pool=local)
    watcher.start()
    try:
        _play_watched(scenario, run, group, progress, url, settings, abort)
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
    abort: threading.Event,
) -> None:
    keys = prosumer_keys(scenario, run.out)
    fund_prosumers(run, keys, progress)
    grid_token, admin_token = service_credentials()
    enrolment_token = secrets.token_urlsafe(32)  # the fleet's credential for the aggregator's consent
    port = int(url.rsplit(":", 1)[1])
    # A provisional clock: the services start on it, and get the real one once they are up (a busy
    # machine may take half a minute to start them, which must not eat simulated time).
    clock = RunClock(run.sim_start, scenario.speed, time.time() + 60.0)
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
    fleet.wait_ready(FLEET_READY_TIMEOUT_S)
    run.real_start = time.time() + START_LEAD_S  # simulated time starts now that the services are up
    _set_clock(url, admin_token, RunClock(run.sim_start, scenario.speed, run.real_start))
    fleet.set_clock(run.real_start)
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
            if abort.is_set():
                raise FlexsimError("stopped: another strategy of the run failed or the run was stopped")
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
    data.watch = watch.load(run.out)
    launches = run.out / "prosumers.json"
    if launches.is_file():
        data.launches = json.loads(launches.read_text())
    return data


def _sim(run: StrategyRun, real: float, speed: float) -> float:
    return (run.sim_start + timedelta(seconds=(real - run.real_start) * speed)).timestamp()


START_LEAD_S = 2.0  # real seconds from the services being up to the simulated start
FLEET_READY_TIMEOUT_S = 180.0


def _set_clock(url: str, admin_token: str, clock: RunClock) -> None:
    """The aggregator's simulated clock, set once it is up (`PUT /admin/clock`)."""
    body = {
        "sim_start": clock.sim_start.isoformat(),
        "speed": clock.speed,
        "real_start_epoch": clock.real_start,
    }
    reply = httpx.put(f"{url}/admin/clock", json=body, headers={"Authorization": f"Bearer {admin_token}"})
    if reply.status_code != 200:
        raise ChainError(f"the aggregator refused the run's clock: {reply.status_code} {reply.text[:200]}")


def _wait_healthy(url: str, child: Any, timeout_s: float = 120.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not child.running:
            raise ChainError(f"the aggregator exited (code {child.process.returncode}):\n{child.tail()}")
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ChainError(f"the aggregator did not become healthy within {timeout_s:.0f} s:\n{child.tail()}")


def default_out(scenario: Scenario) -> Path:
    return Path("results") / f"{scenario.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
