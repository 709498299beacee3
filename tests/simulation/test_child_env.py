"""What a run tells its children comes from their settings classes and reads back as meant."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from aggregator.settings import AggregatorSettings
from contracts.settings import ChainSettings
from domain.population import sample_entry
from domain.vocabulary import SourceKind
from grid_operator.settings import GridSettings
from prosumer.settings import ProsumerSettings
from simulation.child_env import (
    SETTLE_GRACE_S,
    RunClock,
    aggregator_env,
    chain_env,
    compose_run_env,
    grid_env,
    prosumer_env,
    pushed_events_url,
)
from simulation.scenario import Scenario, load_scenario

CLOCK = RunClock(datetime(2025, 6, 21, 8, 0, tzinfo=UTC), 120.0, 1_764_500_000.25)
TOKEN = "e" * 43


def scenario(**changes: Any) -> Scenario:
    return load_scenario("quick").with_overrides(**changes)


def child(cls: type[BaseSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The settings a child with only `env` (for its prefix) builds."""
    prefix = str(cls.model_config["env_prefix"])
    assert all(k.startswith(prefix) for k in env), env
    for name in [k for k in os.environ if k.startswith(prefix)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cls(_env_file=None)  # type: ignore[call-arg]


def test_prosumers_get_the_scenario_the_clock_and_where_the_others_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = scenario(seed=11, **{"incidents.outage_rate_per_hour": 0.5})
    env = prosumer_env(
        s, CLOCK, aggregator_url="http://127.0.0.1:9", manifest=Path("/m.json"), enrolment_token=TOKEN
    )
    p = child(ProsumerSettings, env, monkeypatch)
    assert (p.seed, p.reading_interval_s, p.outage_rate_per_hour) == (11, s.reading_interval_s, 0.5)
    assert p.renegotiation_after_outage_rate_per_hour == s.incidents.renegotiation_after_outage_rate_per_hour
    assert (p.sim_start, p.sim_speed, p.sim_real_start_epoch) == (CLOCK.sim_start, 120.0, CLOCK.real_start)
    assert (p.aggregator_url, p.manifest) == ("http://127.0.0.1:9", Path("/m.json"))
    assert p.enrolment_token is not None and p.enrolment_token.get_secret_value() == TOKEN
    assert p.answers == "direct"


def test_the_scenario_chooses_relayed_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    env = prosumer_env(scenario(answers="relayed"), CLOCK, aggregator_url="http://127.0.0.1:9")
    assert child(ProsumerSettings, env, monkeypatch).answers == "relayed"


def test_the_scenario_population_mix_and_site_decide_each_prosumers_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scenario's `population.mix` is what the prosumer processes draw their kinds from (it was
    ignored once: every process drew from the default mix), and the run's own lookup agrees."""
    s = scenario(**{"population.mix": (0.0, 0.0, 0.0, 1.0), "population.site_lat": 45.0})
    p = child(ProsumerSettings, prosumer_env(s, CLOCK, aggregator_url="http://127.0.0.1:9"), monkeypatch)
    assert p.population_mix == (0.0, 0.0, 0.0, 1.0) and p.site_lat == 45.0
    drawn = [sample_entry(p.seed, i, p.population()) for i in range(12)]
    assert {e.kind for e in drawn} == {SourceKind.BATTERY}
    assert drawn == [sample_entry(s.seed, i, s.population.config()) for i in range(12)]
    assert {sample_entry(s.seed, i).kind for i in range(12)} != {
        SourceKind.BATTERY
    }  # the default mix differs


def test_the_aggregator_shares_the_prosumers_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    env = aggregator_env(CLOCK, port=8123, chain_services=False, default_strategy="reputation")
    a = child(AggregatorSettings, env, monkeypatch)
    assert (a.sim_start, a.sim_speed, a.sim_real_start_epoch) == (CLOCK.sim_start, 120.0, CLOCK.real_start)
    assert (a.port, a.chain_services, a.default_strategy) == (8123, False, "reputation")


def test_the_grid_operator_waits_for_the_last_settlement(monkeypatch: pytest.MonkeyPatch) -> None:
    g = child(GridSettings, grid_env(300.0, CLOCK.real_start, token=TOKEN, scenario="x.toml"), monkeypatch)
    assert (g.settle_timeout_s, g.sim_real_start_epoch, g.scenario) == (
        SETTLE_GRACE_S + 300.0,
        CLOCK.real_start,
        "x.toml",
    )


@pytest.mark.parametrize(("block_time_s", "poll"), [(0.0, "0.1"), (1.0, "0.1"), (5.0, "0.5")])
def test_receipts_are_polled_at_a_tenth_of_the_block_time(block_time_s: float, poll: str) -> None:
    settings = ChainSettings(_env_file=None)  # type: ignore[call-arg]
    env = chain_env(scenario(**{"chain.block_time_s": block_time_s}), settings)
    assert env == {"CHAIN_RECEIPT_POLL_S": poll}


def test_a_receipt_poll_that_was_set_wins() -> None:
    settings = ChainSettings(_env_file=None, receipt_poll_s=2.0)  # type: ignore[call-arg]
    assert chain_env(scenario(**{"chain.block_time_s": 5.0}), settings) == {"CHAIN_RECEIPT_POLL_S": "2.0"}


def test_compose_shares_one_clock_and_the_scenario_with_every_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = scenario(seed=3)
    env = compose_run_env(s, "/opt/flexsim/scenarios/docker.toml", "fair", 1_764_500_000.12345, TOKEN, 0.0)
    by_prefix = {
        cls: {k: v for k, v in env.items() if k.startswith(str(cls.model_config["env_prefix"]))}
        for cls in (AggregatorSettings, ProsumerSettings, GridSettings)
    }
    assert sum(len(v) for v in by_prefix.values()) == len(env)  # nothing else
    a = child(AggregatorSettings, by_prefix[AggregatorSettings], monkeypatch)
    p = child(ProsumerSettings, by_prefix[ProsumerSettings], monkeypatch)
    g = child(GridSettings, {**by_prefix[GridSettings], "GRID_TOKEN": TOKEN}, monkeypatch)
    assert a.sim_real_start_epoch == p.sim_real_start_epoch == g.sim_real_start_epoch == 1_764_500_000.123
    assert a.sim_start == p.sim_start == s.sim_start and a.sim_speed == p.sim_speed == s.speed
    assert a.block_time_s == 1.0  # automine: the dispatcher plans with 1 s blocks
    assert a.enrolment_token is not None and p.enrolment_token is not None
    assert a.enrolment_token.get_secret_value() == p.enrolment_token.get_secret_value() == TOKEN
    assert p.seed == 3 and g.scenario == "/opt/flexsim/scenarios/docker.toml"


def test_prosumers_of_the_embedded_anvil_subscribe_on_its_port_elsewhere_chain_ws_url_or_poll() -> None:
    scenario = load_scenario("quick")
    embedded = scenario.with_overrides(**{"chain.mode": "embedded"})
    assert pushed_events_url(embedded, "http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    external = scenario.with_overrides(
        **{"chain.mode": "rpc", "chain.rpc_url": "https://volta-rpc.energyweb.org"}
    )
    assert pushed_events_url(external, "https://volta-rpc.energyweb.org") is None  # CHAIN_WS_URL, if set
    env = prosumer_env(embedded, CLOCK, ws_url=pushed_events_url(embedded, "http://127.0.0.1:8545"))
    assert env["PROSUMER_WS_URL"] == "ws://127.0.0.1:8545"
