"""A small live market without a grid operator: anvil, the contracts, the aggregator service process
(with its dispatcher, chain sync and OpenADR service) and a fleet of prosumer processes, as `flexsim run`
starts them (`simulation.orchestrator`); the test plays the grid operator through OpenADR instead.

    with live_market(scenario, out) as market: market.url, market.grid_token, market.run.deployment
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from contracts.anvil import AnvilConfig, free_port, start_anvil
from contracts.settings import ChainSettings
from simulation.chain_setup import StrategyRun, fund_prosumers, prepare_chain, prosumer_keys
from simulation.chain_target import effective_chain, embedded_chain_id
from simulation.child_env import RunClock, aggregator_env, chain_env, dispatch_block_time_s, prosumer_env
from simulation.launch import FleetLauncher
from simulation.processes import Child, ProcessGroup
from simulation.scenario import Scenario


@dataclass
class Market:
    url: str
    grid_token: str
    run: StrategyRun
    aggregator: Child
    fleet: FleetLauncher
    clock: RunClock


@contextmanager
def live_market(scenario: Scenario, out: Path, **aggregator: object) -> Iterator[Market]:
    settings = ChainSettings()
    scenario = effective_chain(scenario, settings)
    c = scenario.chain
    with start_anvil(
        AnvilConfig(
            chain_id=embedded_chain_id(c),
            block_time_s=c.block_time_s or None,
            gas_limit=c.gas_limit,
            accounts=2,
        )
    ) as anvil:
        run = prepare_chain(scenario, "fair", out, anvil.rpc_url, lambda _m: None, settings)
        with ProcessGroup(out / "logs") as group:
            yield _start(scenario, run, group, settings, aggregator)


def _start(
    scenario: Scenario,
    run: StrategyRun,
    group: ProcessGroup,
    settings: ChainSettings,
    extra: dict[str, object],
) -> Market:
    keys = prosumer_keys(scenario, run.out)
    fund_prosumers(run, keys, lambda _m: None)
    grid, admin, enrolment = (secrets.token_urlsafe(32) for _ in range(3))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run.real_start = time.time() + 2.0
    clock = RunClock(run.sim_start, scenario.speed, run.real_start)
    shared = chain_env(scenario, settings)
    env = prosumer_env(
        scenario,
        clock,
        aggregator_url=url,
        rpc_url=run.rpc_url,
        manifest=run.manifest,
        enrolment_token=enrolment,
    )
    fleet = FleetLauncher.start(group, run.out, {**env, **shared}, keys, scenario.ramp.delay_ms)
    service = aggregator_env(
        clock,
        port=port,
        database_url=f"sqlite:///{run.out / 'aggregator.db'}",
        rpc_url=run.rpc_url,
        manifest=run.manifest,
        aggregator_key=run.aggregator.account.key.hex(),
        grid_token=grid,
        admin_token=admin,
        enrolment_token=enrolment,
        default_strategy="fair",
        block_time_s=dispatch_block_time_s(c_block(scenario)),
        **extra,
    )
    child = group.start("aggregator", "aggregator", {**service, **shared})
    _wait_healthy(url, child)
    fleet.launch(list(range(scenario.population.count)))
    return Market(url, grid, run, child, fleet, clock)


def c_block(scenario: Scenario) -> float:
    return scenario.chain.block_time_s


def _wait_healthy(url: str, child: Child, timeout_s: float = 60.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        assert child.running, f"the aggregator exited:\n{child.tail()}"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the aggregator did not become healthy:\n{child.tail()}")
