"""`flexsim console` and `flexsim run --console`: the live console on a run (R15).

The sandbox is an open-ended market: an embedded anvil chain, the contracts, the aggregator, a fleet
parent, and the console; a small fleet is added through the console's own controls (so the sandbox's
DERs arrive exactly as a user's do), and nothing else is scheduled: no grid operator (requests come
from the page), no end (Ctrl-C, or `duration_s` for tests and the benchmark).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aggregator.settings import AggregatorSettings
from base.errors import ConfigError
from base.settings_env import to_env
from console.controls import DerIn
from console.feed import Aggregator
from console.server import ConsoleServer, console_token
from console.settings import ConsoleSettings
from contracts.anvil import AnvilConfig, free_port, start_anvil
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.settings import ChainSettings
from prosumer.settings import ProsumerSettings
from simulation.chain_setup import StrategyRun, prepare_chain, prosumer_key, prosumer_keys
from simulation.chain_target import embedded_chain_id
from simulation.child_env import RunClock, chain_env, prosumer_env, run_aggregator_env
from simulation.console_fleet import FleetControls
from simulation.funding import plan_funding
from simulation.launch import FleetLauncher
from simulation.processes import ProcessGroup, wait_healthy
from simulation.scenario import Scenario, load_scenario

Progress = Callable[[str], None]

SANDBOX_FLEET = (
    DerIn(kind="solar", capacity_w=8_000),
    DerIn(kind="battery", capacity_w=5_000),
    DerIn(kind="consumer", capacity_w=6_000),
)


@dataclass
class Sandbox:
    run: StrategyRun
    fleet: FleetLauncher
    controls: FleetControls
    console: ConsoleServer
    aggregator_url: str
    grid_token: str
    admin_token: str


def start_console(
    run: StrategyRun,
    scenario: Scenario,
    fleet: FleetLauncher,
    aggregator_url: str,
    grid_token: str,
    admin_token: str,
    settings: ConsoleSettings,
    progress: Progress,
    token: str = "",
) -> tuple[ConsoleServer, FleetControls]:
    """The console on a running strategy: its controls over the fleet, its server, its URL printed."""
    assert run.funder is not None and run.funding is not None, "prepare_chain sets the funder"
    embedded = scenario.chain.mode == "embedded"
    controls = FleetControls(
        fleet,
        run.out / "fleet-keys.json",
        run.out / "prosumers",
        scenario.seed,
        run.funder,
        run.funding,
        progress,
        key_for=(lambda i: prosumer_key(scenario.seed, i))
        if embedded
        else (lambda _i: "0x" + secrets.token_hex(32)),
    )
    aggregator = Aggregator(aggregator_url, grid_token, admin_token)
    server = ConsoleServer(
        settings,
        aggregator,
        run.deployment,
        controls,
        run.out / "console-actions.json",
        title=f"flexsim console · {scenario.name} · {run.strategy}",
        token=token,
    ).start()
    progress(f"console: {server.url}")
    return server, controls


@contextmanager
def sandbox(
    scenario: Scenario,
    out: Path,
    progress: Progress,
    settings: ConsoleSettings | None = None,
    fleet: tuple[DerIn, ...] = SANDBOX_FLEET,
) -> Iterator[Sandbox]:
    """Starts everything; yields the running sandbox; stops everything on the way out."""
    settings = settings or ConsoleSettings()
    token = console_token(settings)  # a weak CONSOLE_TOKEN stops here, before anything starts
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(scenario.to_toml())
    c = scenario.chain
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
        strategy = scenario.strategies[0]
        run = prepare_chain(scenario, strategy, out / strategy, anvil.rpc_url, progress, ChainSettings())
        with ProcessGroup(run.out / "logs") as group:
            box = _start(scenario, run, group, progress, settings, fleet, token)
            try:
                yield box
            finally:
                box.console.stop()
                box.fleet.write(run.out / "prosumers.json")
    finally:
        anvil.stop()


def _start(
    scenario: Scenario,
    run: StrategyRun,
    group: ProcessGroup,
    progress: Progress,
    settings: ConsoleSettings,
    initial: tuple[DerIn, ...],
    token: str,
) -> Sandbox:
    keys = prosumer_keys(scenario, run.out)
    grid_token, admin_token, enrolment = (secrets.token_urlsafe(32) for _ in range(3))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run.real_start = time.time() + 2.0
    clock = RunClock(run.sim_start, scenario.speed, run.real_start)
    shared = chain_env(scenario, ChainSettings())
    prosumers = prosumer_env(
        scenario,
        clock,
        aggregator_url=url,
        rpc_url=run.rpc_url,
        manifest=run.manifest,
        enrolment_token=enrolment,
    )
    fleet = FleetLauncher.start(group, run.out, {**prosumers, **shared}, keys, scenario.ramp.delay_ms)
    progress(f"starting the aggregator at {url}")
    service = run_aggregator_env(run, scenario, clock, port, grid_token, admin_token, enrolment)
    aggregator = group.start("aggregator", "aggregator", {**service, **shared})
    wait_healthy(url, aggregator)
    console, controls = start_console(
        run, scenario, fleet, url, grid_token, admin_token, settings, progress, token
    )
    controls.clock_changes = True  # every prosumer is the sandbox's, and it keeps no results to map
    for der in initial:
        console.actions.record("add DER", der.model_dump(exclude_none=True), controls.add(der))
    return Sandbox(run, fleet, controls, console, url, grid_token, admin_token)


def play(box: Sandbox, progress: Progress, duration_s: float | None = None) -> None:
    """Keeps the sandbox running (until Ctrl-C, or `duration_s` real seconds), watching its processes."""
    end = None if duration_s is None else time.time() + duration_s
    last = 0.0
    try:
        while end is None or time.time() < end:
            box.fleet.check()
            agg = box.console.hub.feed.state
            if time.time() - last >= 30:
                progress(
                    f"console sandbox: {box.fleet.running()} prosumers running; "
                    f"simulated {agg.sim_now:%Y-%m-%d %H:%M}"
                    if agg.sim_now
                    else "console sandbox: starting"
                )
                last = time.time()
            time.sleep(0.5)
    except KeyboardInterrupt:
        progress("stopping the console sandbox")


@contextmanager
def attached(
    out: Path,
    aggregator_url: str,
    rpc_url: str,
    manifest: Path,
    progress: Progress,
    settings: ConsoleSettings | None = None,
) -> Iterator[Sandbox]:
    """The console on services that run already (`flexsim console --attach`, the compose service): it
    watches them and sends requests; the DERs it adds are a fleet of its own in this process's group,
    funded by CHAIN_FUNDER_KEY, with the PROSUMER_* settings of the environment (compose: the run's
    clock and enrolment credential from /shared/run.env). It can act only on the prosumers it added."""
    settings = settings or ConsoleSettings()
    token = console_token(settings)
    aggregator = AggregatorSettings()
    chain_settings = ChainSettings()
    if aggregator.grid_token is None or aggregator.admin_token is None:
        raise ConfigError(
            "the console needs the aggregator's credentials: set AGGREGATOR_GRID_TOKEN and "
            "AGGREGATOR_ADMIN_TOKEN (compose: FLEXSIM_CREDENTIALS=/shared/credentials.env)"
        )
    if chain_settings.funder_key is None:
        raise ConfigError("the console funds the DERs it adds: set CHAIN_FUNDER_KEY to a funded key")
    d = Deployment.load(manifest, chain_settings, rpc_url=rpc_url)
    funder = Sender(d.chain, chain_settings.funder_key.get_secret_value())
    scenario = load_scenario("console")
    plan = plan_funding(scenario, float(chain_settings.gas_margin), d.chain.max_fee_per_gas())
    out.mkdir(parents=True, exist_ok=True)
    seed = ProsumerSettings().seed
    keys = ["0x" + secrets.token_hex(32)]  # a fleet needs one prosumer of its own: index 0, never started
    run = StrategyRun("console", out, d, funder, rpc_url, manifest, scenario.sim_start, time.time())
    run.funder, run.funding = funder, plan
    fleet_env = to_env(
        ProsumerSettings, {"aggregator_url": aggregator_url, "rpc_url": rpc_url, "manifest": manifest}
    )
    grid, admin = aggregator.grid_token.get_secret_value(), aggregator.admin_token.get_secret_value()
    with ProcessGroup(out / "logs") as group:
        fleet = FleetLauncher.start(group, out, fleet_env, keys, 200)
        console, controls = start_console(
            run,
            scenario.with_overrides(seed=seed),
            fleet,
            aggregator_url,
            grid,
            admin,
            settings,
            progress,
            token,
        )
        controls.key_for = lambda _i: "0x" + secrets.token_hex(32)  # never derivable on a shared chain
        try:
            yield Sandbox(run, fleet, controls, console, aggregator_url, grid, admin)
        finally:
            console.stop()
            fleet.write(out / "prosumers.json")
