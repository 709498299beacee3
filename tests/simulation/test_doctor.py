"""`flexsim doctor`: a clear, correct verdict for a healthy chain, a wrong chain id and an unfunded key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from pydantic import SecretStr

from contracts.anvil import AnvilConfig, dev_keys, start_anvil
from contracts.settings import ChainSettings
from simulation.doctor import planned_needs, report, run_checks
from simulation.scenario import load_scenario

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def volta_like() -> Iterator[str]:
    with start_anvil(AnvilConfig(chain_id=73799, gas_limit=8_000_000)) as anvil:
        yield anvil.rpc_url


def settings(deployer: str, funder: str) -> ChainSettings:
    return ChainSettings(_env_file=None, deployer_key=SecretStr(deployer), funder_key=SecretStr(funder))  # type: ignore[call-arg]


def by_name(checks):  # type: ignore[no-untyped-def]
    return {c.name: c for c in checks}


def test_a_healthy_chain_is_ready(volta_like: str) -> None:
    key = dev_keys(1)[0]
    checks = run_checks(volta_like, settings(key, key), load_scenario("volta"), 73799)
    text, ok = report(checks)
    assert ok, text
    c = by_name(checks)
    assert "gas limit 8,000,000" in c["latest block"].detail
    assert c["London bytecode"].ok and "absent" in c["PUSH0"].detail
    assert text.endswith("ready")


def test_a_wrong_chain_id_fails_with_the_fix(volta_like: str) -> None:
    key = dev_keys(1)[0]
    checks = run_checks(volta_like, settings(key, key), None, 246)
    text, ok = report(checks)
    assert not ok
    assert "FAIL chain id: 73799, expected 246 -> point --rpc-url at the right network" in text


def test_an_unfunded_key_fails_with_how_much_to_send(volta_like: str) -> None:
    poor = Account.create()
    checks = run_checks(volta_like, settings(dev_keys(1)[0], poor.key.hex()), load_scenario("volta"), 73799)
    funder = by_name(checks)["funder balance"]
    assert not funder.ok
    assert poor.address in funder.detail and "has 0.000000" in funder.detail
    assert funder.fix.startswith("send it ")
    assert by_name(checks)["deployer balance"].ok


def test_an_unreachable_chain_is_one_failed_check() -> None:
    checks = run_checks("http://127.0.0.1:9", ChainSettings(_env_file=None, rpc_retries=0), None, None)  # type: ignore[call-arg]
    assert [c.name for c in checks] == ["reachable"] and not checks[0].ok


def test_needs_grow_with_the_population() -> None:
    small = planned_needs(load_scenario("volta"))
    large = planned_needs(load_scenario("volta").with_overrides(**{"population.count": 50}))
    assert large.funder_gas > 9 * small.funder_gas
    assert large.deployer_gas > small.deployer_gas
