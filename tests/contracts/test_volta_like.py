"""A smoke deployment on a Volta-like anvil: chain id 73799, 8,000,000 gas per block, timed blocks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts.anvil import VOLTA_CHAIN_ID, VOLTA_GAS_LIMIT, AnvilConfig, dev_keys, start_anvil
from contracts.chain import Chain
from contracts.deploy import deploy
from contracts.deployment import Deployment
from contracts.sender import Sender
from tests.contracts.clock import Clock
from tests.contracts.consent import register as consented_register
from tests.contracts.factories import DAY_S, make_terms

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture(scope="module")
def volta(artifacts, decoder) -> Iterator[tuple[Chain, Deployment, list[Sender]]]:
    config = AnvilConfig.volta_like(block_time_s=1)  # Volta mines every 5 s; 1 s keeps the test short
    with start_anvil(config) as anvil:
        chain = Chain(anvil.rpc_url, decoder, expected_chain_id=VOLTA_CHAIN_ID)
        owner, aggregator, prosumer = (Sender(chain, k) for k in dev_keys(3))
        yield chain, deploy(chain, owner, aggregator.address, artifacts), [owner, aggregator, prosumer]


def test_volta_like_chain_facts(volta):
    chain, _, _ = volta
    assert VOLTA_CHAIN_ID == 73_799 and VOLTA_GAS_LIMIT == 8_000_000
    assert chain.chain_id == 73_799
    assert chain.block_gas_limit == 8_000_000


def test_deploy_and_register_on_a_volta_like_chain(volta):
    chain, d, (owner, aggregator, prosumer) = volta
    assert d.manifest.chain_id == 73_799
    assert all(0 < gas < 8_000_000 for gas in d.manifest.gas_used.values())
    expiry = Clock(chain.w3).now() + DAY_S

    receipt = consented_register(d.registry, prosumer, make_terms(), expiry)

    assert d.registry.is_active(prosumer.address)
    assert d.registry.totals() == (2_000, 2_000, 1)
    assert d.registry.aggregator() == aggregator.address
    (event,) = d.registry.events(receipt, "Registered")
    assert event["args"]["prosumer"] == prosumer.address
