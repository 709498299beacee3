"""Which chain a run uses: the scenario with the CHAIN_* settings over it (pure, no chain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from base.errors import ConfigError
from contracts.settings import ChainSettings
from simulation.chain_target import effective_chain, embedded_settings, kept_manifest
from simulation.scenario import load_scenario


def settings(**values: Any) -> ChainSettings:
    return ChainSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_scenario_decides_when_no_setting_is_given() -> None:
    volta = load_scenario("volta")
    assert effective_chain(volta, settings()).chain == volta.chain
    quick = load_scenario("quick")
    assert effective_chain(quick, settings()).chain.mode == "embedded"


def test_settings_override_the_scenarios_url_chain_id_and_manifest() -> None:
    s = settings(rpc_url="http://127.0.0.1:8545", chain_id=31337, manifest=Path("m/manifest.json"))
    c = effective_chain(load_scenario("volta"), s).chain
    assert (c.mode, c.rpc_url, c.chain_id, c.manifest) == (
        "rpc",
        "http://127.0.0.1:8545",
        31337,
        "m/manifest.json",
    )
    assert c.block_time_s == 5  # still tells the aggregator the chain's block time


def test_an_rpc_url_turns_an_embedded_scenario_into_a_run_on_that_chain() -> None:
    c = effective_chain(load_scenario("quick"), settings(rpc_url="http://node:8545")).chain
    assert (c.mode, c.rpc_url, c.chain_id) == ("rpc", "http://node:8545", None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"chain_id": 73799},
            "CHAIN_CHAIN_ID=73799 but scenario 'quick' runs an embedded anvil with chain id 31337",
        ),
        ({"manifest": Path("x.json")}, "needs an external chain"),
        ({"redeploy": True}, "an embedded run always deploys"),
    ],
)
def test_settings_that_cannot_apply_to_an_embedded_run_fail(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        effective_chain(load_scenario("quick"), settings(**values))


def test_a_manifest_and_redeploy_together_fail() -> None:
    with pytest.raises(ConfigError, match="choose one"):
        effective_chain(load_scenario("volta"), settings(manifest=Path("x.json"), redeploy=True))


def test_an_embedded_run_signs_with_anvil_keys_only() -> None:
    s = embedded_settings(settings(deployer_key="0x01", funder_key="0x02", aggregator_key="0x03"))
    assert (s.deployer_key, s.funder_key, s.aggregator_key) == (None, None, None)


def test_a_deployment_is_kept_per_chain() -> None:
    s = settings(deployments_dir=Path("d"))
    assert kept_manifest(s, 73799) == Path("d/chain-73799/manifest.json")
