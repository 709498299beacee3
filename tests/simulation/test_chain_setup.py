"""`prepare_chain` on an external chain: deploy once and keep it, reuse it, clear what earlier runs left,
and fail early, with the fix, on a wrong chain id, a manifest of another chain, a key that is not the
deployment's aggregator and a funder that cannot pay. An automining anvil with Volta's chain id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pydantic import SecretStr

from base.errors import ConfigError
from benchmarks.gas import make_terms
from contracts.anvil import AnvilConfig, chain_time, dev_keys, start_anvil
from contracts.deployment import Deployment
from contracts.errors import InsufficientFunds, WrongChain
from contracts.sender import Sender
from contracts.settings import ChainSettings
from contracts.types import Direction, Strategy
from simulation.bootstrap import deploy_to
from simulation.chain_setup import StrategyRun, prepare_chain
from simulation.chain_target import effective_chain
from simulation.scenario import load_scenario
from tests.contracts.consent import register as consented_register

pytestmark = pytest.mark.chain

OWNER, FUNDER, PROSUMER, STRANGER = dev_keys(4)


@pytest.fixture(scope="module")
def rpc_url() -> Iterator[str]:
    with start_anvil(AnvilConfig(chain_id=73799, accounts=4)) as anvil:
        yield anvil.rpc_url


@pytest.fixture(scope="module")
def deployed(rpc_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`flexsim deploy`'s manifest: the owner deployed it and is its aggregator."""
    out = tmp_path_factory.mktemp("deploy") / "manifest.json"
    return deploy_to(rpc_url, out, settings=ChainSettings(_env_file=None, deployer_key=SecretStr(OWNER)))  # type: ignore[call-arg]


def settings(rpc_url: str, tmp_path: Path, **values: Any) -> ChainSettings:
    base: dict[str, Any] = {
        "rpc_url": rpc_url,
        "deployer_key": SecretStr(OWNER),
        "funder_key": SecretStr(FUNDER),
        "deployments_dir": tmp_path / "deployments",
    }
    return ChainSettings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def prepare(s: ChainSettings, out: Path, strategy: str = "fair") -> StrategyRun:
    scenario = effective_chain(load_scenario("volta"), s)
    return prepare_chain(scenario, strategy, out / strategy, s.rpc_url, lambda _m: None, s)


def market_of(path: Path) -> str:
    return str(json.loads(path.read_text())["contracts"]["market"])


def test_a_new_deployment_is_kept_and_reused_until_redeploy(rpc_url: str, tmp_path: Path) -> None:
    s = settings(rpc_url, tmp_path)
    first = prepare(s, tmp_path / "run1")
    kept = tmp_path / "deployments" / "chain-73799" / "manifest.json"
    assert market_of(kept) == first.deployment.market.address
    assert json.loads((tmp_path / "run1" / "fair" / "chain.json").read_text())["deployment"] == "new"

    again = prepare(s, tmp_path / "run2")
    assert again.deployment.market.address == first.deployment.market.address
    how = json.loads((tmp_path / "run2" / "fair" / "chain.json").read_text())["deployment"]
    assert how == f"reused {kept}"

    fresh = prepare(settings(rpc_url, tmp_path, redeploy=True), tmp_path / "run3")
    assert fresh.deployment.market.address != first.deployment.market.address
    assert market_of(kept) == fresh.deployment.market.address
    # the run's second strategy shares the run's deployment, even with --redeploy
    second = prepare(settings(rpc_url, tmp_path, redeploy=True), tmp_path / "run3", "reputation")
    assert second.deployment.market.address == fresh.deployment.market.address


def test_a_given_manifest_is_reused_and_its_copy_starts_at_the_run(
    rpc_url: str, tmp_path: Path, deployed: Path
) -> None:
    run = prepare(settings(rpc_url, tmp_path, manifest=deployed), tmp_path / "run")
    assert run.deployment.market.address == market_of(deployed)
    copy = json.loads(run.manifest.read_text())
    assert copy["contracts"] == json.loads(deployed.read_text())["contracts"]
    assert copy["block"] > json.loads(deployed.read_text())["block"]  # the report reads this run only
    assert not (tmp_path / "deployments").exists()


def test_what_earlier_runs_left_is_cleared(rpc_url: str, tmp_path: Path, deployed: Path) -> None:
    d = Deployment.load(deployed, ChainSettings(_env_file=None), rpc_url=rpc_url)  # type: ignore[call-arg]
    prosumer, owner = Sender(d.chain, PROSUMER), Sender(d.chain, OWNER)
    consented_register(d.registry, prosumer, make_terms(), chain_time(d.chain.w3) + 86_400)
    now = chain_time(d.chain.w3)
    d.market.open_request(owner, Direction.UP, 500, 600, now + 3_600, now + 4_200, now + 1_800, Strategy.FAIR)
    assert d.market.current_request_id() != 0

    prepare(settings(rpc_url, tmp_path, manifest=deployed), tmp_path / "run")
    assert d.market.current_request_id() == 0
    assert d.registry.totals() == (0, 0, 0)
    assert not d.registry.is_active(prosumer.address)


def test_a_wrong_chain_id_fails_before_anything(rpc_url: str, tmp_path: Path) -> None:
    with pytest.raises(WrongChain, match=r"serves chain id 73799, expected 246: point CHAIN_RPC_URL"):
        prepare(settings(rpc_url, tmp_path, chain_id=246), tmp_path / "run")
    assert not (tmp_path / "deployments").exists() and not (tmp_path / "run" / "fair" / "chain.json").exists()


def test_a_manifest_of_another_chain_fails(rpc_url: str, tmp_path: Path, deployed: Path) -> None:
    other = tmp_path / "other" / "manifest.json"
    other.parent.mkdir()
    other.write_text(json.dumps({**json.loads(deployed.read_text()), "chain_id": 246}))
    (other.parent / "abis").symlink_to(deployed.parent / "abis")
    with pytest.raises(WrongChain, match="the manifest is for chain 246 but .* serves chain 73799"):
        prepare(settings(rpc_url, tmp_path, manifest=other), tmp_path / "run")


def test_a_manifest_whose_contracts_are_not_on_the_chain_fails(
    rpc_url: str, tmp_path: Path, deployed: Path
) -> None:
    gone = tmp_path / "gone" / "manifest.json"
    gone.parent.mkdir()
    data = json.loads(deployed.read_text())
    data["contracts"]["registry"] = Account.create().address
    gone.write_text(json.dumps(data))
    (gone.parent / "abis").symlink_to(deployed.parent / "abis")
    with pytest.raises(WrongChain, match="has no contract there .* --redeploy"):
        prepare(settings(rpc_url, tmp_path, manifest=gone), tmp_path / "run")


def test_a_key_that_is_not_the_aggregator_fails(rpc_url: str, tmp_path: Path, deployed: Path) -> None:
    stranger = Account.from_key(STRANGER).address
    s = settings(rpc_url, tmp_path, manifest=deployed, aggregator_key=SecretStr(STRANGER))
    with pytest.raises(ConfigError, match=f"{stranger} is not the aggregator .* set CHAIN_AGGREGATOR_KEY"):
        prepare(s, tmp_path / "run")


def test_an_unfunded_funder_fails_with_the_faucet_before_deploying(rpc_url: str, tmp_path: Path) -> None:
    poor = Account.create()
    s = settings(rpc_url, tmp_path, funder_key=SecretStr(poor.key.hex()))
    started = time.monotonic()
    with pytest.raises(
        InsufficientFunds, match=f"funder {poor.address} has 0.000000 .*https://voltafaucet.energyweb.org"
    ):
        prepare(s, tmp_path / "run")
    assert not (tmp_path / "deployments").exists()
    assert time.monotonic() - started < 10
