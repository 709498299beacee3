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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from base.errors import FlexsimError
from console.server import console_token
from console.settings import ConsoleSettings
from contracts.anvil import AnvilConfig, free_port, start_anvil
from contracts.compiler import compile_contracts
from contracts.errors import ChainError
from contracts.settings import ChainSettings
from prosumer.fleet import preload
from prosumer.settings import ProsumerSettings
from simulation import collect, render, saved_run
from simulation.chain_export import export_logs
from simulation.chain_setup import StrategyRun, fund_prosumers, prepare_chain, prosumer_keys
from simulation.chain_target import effective_chain, embedded_chain_id, embedded_settings
from simulation.child_env import (
    SETTLE_GRACE_S,
    RunClock,
    chain_env,
    grid_env,
    prosumer_env,
    pushed_events_url,
    run_aggregator_env,
)
from simulation.collect import RunData
from simulation.launch import FleetLauncher, RampStep, RemovalStep
from simulation.processes import ProcessGroup, wait_healthy
from simulation.ramp import plan_removals, ramp_steps
from simulation.report import write_html
from simulation.run_prosumers import lookup
from simulation.run_settings import write_child_settings
from simulation.run_summary import RunSummary, StressHeadline
from simulation.sandbox import start_console
from simulation.scenario import Scenario
from simulation.shortfall_run import summarise_shortfall
from simulation.stress_run import stress_of
from simulation.summary import summarise
from simulation.watch import Watcher

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ConsoleOption:
    """`flexsim run --console`: the console's settings and the run's access token (one for every
    strategy of the run; with a console the strategies play one after the other, on its one port)."""

    settings: ConsoleSettings
    token: str


def run_scenario(
    scenario: Scenario,
    out: Path,
    progress: Progress,
    chain: ChainSettings | None = None,
    timings: dict[str, float] | None = None,
    console: ConsoleSettings | None = None,
) -> dict[str, RunSummary]:
    """Plays every strategy of `scenario` and writes the report. On an embedded chain the strategies
    play at the same time, each on its own anvil (they share nothing but the scenario file); on an
    external chain one after the other (they share its deployment and the funder's nonces).
    `timings` receives wall seconds per phase (`setup` and each strategy)."""
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(scenario.to_toml())
    live = None if console is None else ConsoleOption(console, console_token(console))
    settings = chain or ChainSettings()
    parallel = (
        effective_chain(scenario, settings).chain.mode == "embedded"
        and len(scenario.strategies) > 1
        and live is None
    )
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
            played[strategy] = _run_strategy(
                scenario, strategy, out / strategy, progress, settings, live=live
            )
            clock[strategy] = round(time.monotonic() - started, 1)
    summaries: dict[str, RunSummary] = {}
    plots: dict[str, list[str]] = {}
    started = time.monotonic()
    for strategy in scenario.strategies:  # matplotlib draws from one thread
        data, run = played[strategy]
        summaries[strategy], plots[strategy] = _write_strategy(scenario, data, run, progress)
    report = write_html(out, scenario.to_toml(), {s: v.to_dict() for s, v in summaries.items()}, plots)
    (out / "run.json").write_text(json.dumps(_run_info(scenario, summaries, out), indent=2))
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
    scenario: Scenario,
    strategy: str,
    out: Path,
    progress: Progress,
    chain: ChainSettings | None = None,
    abort: threading.Event | None = None,
    live: ConsoleOption | None = None,
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
            _play(scenario, run, group, progress, settings, abort or threading.Event(), live)
        progress("collecting results from the chain and the aggregator's database")
        export_logs(run.deployment, out / saved_run.CHAIN_LOGS)  # the chain's own record: audits, re-renders
        _verify(out, run.rpc_url, progress)
    finally:
        if anvil:
            anvil.stop()
    saved_run.write_clock(out, saved_clock(scenario, run))
    data = saved_run.load_run(out, strategy)  # what `flexsim report RUN_DIR` reads too
    return data, run


def _verify(out: Path, rpc_url: str, progress: Progress) -> None:
    """`flexsim verify` on the strategy folder while its chain still runs: `verification.json`."""
    from simulation.verify import verify_folder

    try:
        v = verify_folder(out, rpc_url)
    except FlexsimError as exc:
        progress(f"tamper evidence: could not verify: {exc}")
        return
    (out / "verification.json").write_text(v.model_dump_json(indent=2))
    progress(
        f"tamper evidence: {v.requests_anchored} of {v.requests_settled} settled requests anchored, "
        f"{v.leaves_checked} leaves, {v.deliveries_recomputed} deliveries recomputed, "
        f"{len(v.problems)} problems"
    )


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
    stress = stress_of(data)
    if stress is not None:
        summary.stress = StressHeadline.model_validate(
            {"measures": stress["measures"], "max_prosumers": stress["max_prosumers"]}
        )
    names = render.write_folder(out, render.Rendered(data, summary, stress), progress)
    return summary, names


def _play(
    scenario: Scenario,
    run: StrategyRun,
    group: ProcessGroup,
    progress: Progress,
    settings: ChainSettings,
    abort: threading.Event,
    live: ConsoleOption | None = None,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    local = scenario.chain.mode == "embedded"  # a public RPC is polled gently, its pool left alone
    watcher = Watcher(run.rpc_url, f"{url}/metrics", poll_s=0.1 if local else 1.0, watch_pool=local)
    watcher.start()
    try:
        _play_watched(scenario, run, group, progress, url, settings, abort, live)
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
    live: ConsoleOption | None = None,
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
        ws_url=pushed_events_url(scenario, run.rpc_url),
        manifest=run.manifest,
        enrolment_token=enrolment_token,
    )
    fleet = FleetLauncher.start(group, run.out, {**prosumers, **shared_chain}, keys, ramp.delay_ms)
    progress(f"starting the aggregator at {url}")
    service = run_aggregator_env(run, scenario, clock, port, grid_token, admin_token, enrolment_token)
    aggregator = group.start("aggregator", "aggregator", {**service, **shared_chain})
    wait_healthy(url, aggregator, 120.0)
    fleet.wait_ready(FLEET_READY_TIMEOUT_S)
    run.real_start = time.time() + START_LEAD_S  # simulated time starts now that the services are up
    _set_clock(url, admin_token, RunClock(run.sim_start, scenario.speed, run.real_start))
    fleet.set_clock(run.real_start)
    console = None
    if live is not None:
        console, _ = start_console(
            run, scenario, fleet, url, grid_token, admin_token, live.settings, progress, live.token
        )
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
                removed = sum(1 for e in fleet.events if e.kind == "remove")
                progress(_note(scenario, now - run.real_start, fleet.running(), removed))
                last_note = now
            if now > end + SETTLE_GRACE_S + scenario.real_duration_s:
                progress("the grid operator is still waiting for settlements; stopping")
                break
            time.sleep(0.5)
    finally:
        if console is not None:
            console.stop()
        fleet.write(run.out / "prosumers.json")
        # The prosumers stop first, while the aggregator still takes their last readings (stopped
        # together, a large fleet's children found it gone and dropped what they had buffered).
        fleet.stop(group)
    if grid.process.returncode not in (0, None):
        progress(f"grid operator exited with {grid.process.returncode}: {grid.tail(3)}")


def _note(scenario: Scenario, real_elapsed_s: float, running: int, removed: int) -> str:
    """The progress line: the simulated time, or, past the scenario's end, the wait for settlements."""
    fleet = f"{running} prosumers running, {removed} removed"
    hours = scenario.duration_s / 3600
    sim_h = max(0.0, real_elapsed_s * scenario.speed / 3600)
    if sim_h <= hours:
        return f"simulated {sim_h:5.2f} h of {hours:.2f}; {fleet}"
    past_s = real_elapsed_s - scenario.real_duration_s
    return f"simulated {hours:.2f} h of {hours:.2f}; waiting {past_s:.0f} s for the last settlements; {fleet}"


def saved_clock(scenario: Scenario, run: StrategyRun) -> saved_run.SavedClock:
    """The run's clock as `clock.json` keeps it for re-rendering."""
    return saved_run.SavedClock(
        collect.ClockMapping(run.sim_start.timestamp(), run.real_start, scenario.speed),
        scenario.duration_s,
        max(60, int(scenario.speed * scenario.reading_interval_s)),
        scenario.chain.block_time_s,
    )


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


def default_out(scenario: Scenario) -> Path:
    return Path("results") / f"{scenario.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
