"""What a run tells its child processes, built from the settings classes they read.

One source for `flexsim run` (`simulation.orchestrator`), `docker compose` (the deploy step,
`docker/deploy.sh`, writes `compose_run_env` to /shared/run.env) and the benchmarks: every variable
name comes from `AggregatorSettings`, `ProsumerSettings`, `GridSettings` or `ChainSettings` through
`base.settings_env.to_env`, so a renamed setting fails here instead of leaving a child on its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.settings import AggregatorSettings
from base.settings_env import to_env
from contracts.settings import ChainSettings
from grid_operator.settings import GridSettings
from prosumer.settings import ProsumerSettings
from simulation.chain_setup import StrategyRun
from simulation.scenario import Scenario

POLL_SIM_S = 120.0  # prosumers look for new blocks at least every 2 simulated minutes (0.5 s at 240x)
SETTLE_GRACE_S = 120.0  # real seconds the grid operator waits for settlements after the scenario ends


@dataclass(frozen=True)
class RunClock:
    """The simulated clock every process of a run shares: `sim_start` at real Unix time `real_start`."""

    sim_start: datetime
    speed: float
    real_start: float

    def values(self) -> dict[str, Any]:
        """The clock as the aggregator's and the prosumers' `sim_*` settings."""
        return {"sim_start": self.sim_start, "sim_speed": self.speed, "sim_real_start_epoch": self.real_start}


def scenario_prosumer_values(scenario: Scenario) -> dict[str, Any]:
    """The prosumer settings a scenario decides: the population seed, readings, incident rates and how
    answers are sent (direct or relayed)."""
    incidents = scenario.incidents
    return {
        "seed": scenario.seed,
        "population_mix": scenario.population.mix,
        "site_lat": scenario.population.site_lat,
        "site_lon": scenario.population.site_lon,
        "answers": scenario.answers,
        "reading_interval_s": scenario.reading_interval_s,
        "outage_rate_per_hour": incidents.outage_rate_per_hour,
        "outage_mean_duration_s": incidents.outage_mean_duration_s,
        "renegotiation_rate_per_hour": incidents.renegotiation_rate_per_hour,
        "renegotiation_after_outage_rate_per_hour": incidents.renegotiation_after_outage_rate_per_hour,
        "realism": scenario.realism,
        "event_poll_s": min(1.0, POLL_SIM_S / scenario.speed),
    }


def prosumer_env(scenario: Scenario, clock: RunClock, **values: Any) -> dict[str, str]:
    """`PROSUMER_*` of a run's prosumers: the scenario's, the clock, and `values` (field -> value)."""
    return to_env(ProsumerSettings, {**scenario_prosumer_values(scenario), **clock.values(), **values})


def pushed_events_url(scenario: Scenario, rpc_url: str) -> str | None:
    """Where a run's prosumers subscribe to the market's events: the embedded anvil serves WebSocket on
    its HTTP port; on an external chain, CHAIN_WS_URL when set (the prosumers read it), else polled."""
    if scenario.chain.mode != "embedded":
        return None
    return "ws" + rpc_url.removeprefix("http")


def aggregator_env(clock: RunClock, **values: Any) -> dict[str, str]:
    """`AGGREGATOR_*` of a run's aggregator: the clock and `values` (field -> value)."""
    return to_env(AggregatorSettings, {**clock.values(), **values})


def run_aggregator_env(
    run: StrategyRun,
    scenario: Scenario,
    clock: RunClock,
    port: int,
    grid_token: str,
    admin_token: str,
    enrolment_token: str,
) -> dict[str, str]:
    """`AGGREGATOR_*` of the aggregator of one strategy's run (a scenario run or the sandbox): its port,
    SQLite store in the run folder, chain, key, credentials, strategy and the dispatcher's block time."""
    return aggregator_env(
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


def grid_env(real_duration_s: float, real_start: float, **values: Any) -> dict[str, str]:
    """`GRID_*` of a run's grid operator: when the scenario starts, how long to wait for the last
    settlement (the scenario's real duration and a grace), and `values` (field -> value)."""
    return to_env(
        GridSettings,
        {"sim_real_start_epoch": real_start, "settle_timeout_s": SETTLE_GRACE_S + real_duration_s, **values},
    )


def receipt_poll_s(block_time_s: float, settings: ChainSettings) -> float:
    """How often a run's processes ask for a receipt: CHAIN_RECEIPT_POLL_S when set, else a tenth of the
    block time (at 0.1 s, 200 prosumers waiting for their accepts would spend the CPU the others need
    to send theirs)."""
    if "receipt_poll_s" in settings.model_fields_set:
        return settings.receipt_poll_s
    return max(0.1, block_time_s / 10) if block_time_s > 0 else 0.1


def chain_env(scenario: Scenario, settings: ChainSettings) -> dict[str, str]:
    """`CHAIN_*` every child of a run shares (the others it inherits from this process)."""
    return to_env(ChainSettings, {"receipt_poll_s": receipt_poll_s(scenario.chain.block_time_s, settings)})


def dispatch_block_time_s(block_time_s: float) -> float:
    """The block time the aggregator's dispatcher plans with: 1 s on an automining chain (0)."""
    return block_time_s or 1.0


def compose_run_env(
    scenario: Scenario,
    scenario_path: str,
    strategy: str,
    real_start: float,
    enrolment_token: str,
    block_time_s: float,
) -> dict[str, str]:
    """The settings the compose deploy step shares with every service (/shared/run.env): the clock,
    the strategy, the enrolment credential and the scenario's per-role settings."""
    clock = RunClock(scenario.sim_start, scenario.speed, round(real_start, 3))
    return {
        **aggregator_env(
            clock,
            default_strategy=strategy,
            enrolment_token=enrolment_token,
            block_time_s=dispatch_block_time_s(block_time_s),
        ),
        **prosumer_env(scenario, clock, enrolment_token=enrolment_token),
        **grid_env(scenario.real_duration_s, clock.real_start, scenario=scenario_path),
    }
