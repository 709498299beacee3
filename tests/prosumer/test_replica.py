"""Replicas of `docker compose --scale prosumer=N`: no index given, funded from a shared funder key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eth_account import Account
from pydantic import SecretStr

from contracts.anvil import dev_keys, start_anvil
from prosumer.agent import AUTO_INDEX_SPACE, index_of
from prosumer.chain_side import ChainSide
from prosumer.settings import ProsumerSettings
from simulation.bootstrap import deploy_to


def test_an_unset_index_comes_from_the_address() -> None:
    a, b = Account.create().address, Account.create().address
    assert index_of(a) == int(a, 16) % AUTO_INDEX_SPACE == index_of(a.lower())
    assert index_of(a) != index_of(b)


def test_an_unset_index_gets_its_own_key_file(tmp_path: Path) -> None:
    s = ProsumerSettings(_env_file=None, state_dir=tmp_path, seed=3)  # type: ignore[call-arg]
    assert s.index is None
    assert s.resolved_key_file() == tmp_path / "prosumer-3-auto.key"


@pytest.mark.chain
def test_replicas_fund_themselves_from_one_funder_at_once(tmp_path: Path) -> None:
    with start_anvil() as anvil:
        manifest = deploy_to(anvil.rpc_url, tmp_path / "manifest.json")
        funder = SecretStr(dev_keys(3)[2])
        settings = ProsumerSettings(  # type: ignore[call-arg]
            _env_file=None, rpc_url=anvil.rpc_url, manifest=manifest, funder_key=funder, fund_amount=0.25
        )
        sides = [ChainSide.connect(settings, Account.create().key.hex()) for _ in range(6)]
        with ThreadPoolExecutor(6) as pool:  # six replicas contend for the funder's nonce
            balances = list(pool.map(lambda side: side.ensure_funded(), sides))
    assert balances == [25 * 10**16] * 6


@pytest.mark.chain
def test_a_removal_asked_before_the_start_still_removes_the_contract(tmp_path: Path) -> None:
    """SIGUSR1 can reach a forked prosumer before it runs: the agent then only removes its contract."""
    from contracts.types import SourceKind, Terms
    from prosumer.agent import Agent

    with start_anvil() as anvil:
        manifest = deploy_to(anvil.rpc_url, tmp_path / "manifest.json")
        key = dev_keys(3)[2]
        settings = ProsumerSettings(  # type: ignore[call-arg]
            _env_file=None, rpc_url=anvil.rpc_url, manifest=manifest, key=SecretStr(key), index=0, seed=3
        )
        side = ChainSide.connect(settings, key)
        aggregator_key = dev_keys(1)[0]  # the deployer is the deployment's aggregator: it consents here
        side.consents = lambda terms, expiry: side.d.consent(aggregator_key, side.address, terms, expiry)
        side.ensure_registered(Terms(SourceKind.BATTERY, 4_000, 0, 1_000, 1_000, 3_600, 10**17, 10**17))
        assert side.registration().active
        agent = Agent(settings)
        agent._on_remove(0, None)  # what SIGUSR1 does, before run()
        assert agent.run() == 0
        assert not side.registration().active
