"""Fixtures for the chain tests: one anvil per session, contracts compiled and deployed once, and an
`evm_snapshot`/`evm_revert` pair around every test so no test leaks state into another.

Role-named senders: `owner` (dev key 0, the deployer), `aggregator` (dev key 1), `prosumers`
(dev keys 2..8; `prosumer` is the first), `stranger` (dev key 9). Any fixture that touches the chain
depends on `isolated`, so a test is isolated as soon as it asks for one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from contracts.anvil import Anvil, AnvilConfig, dev_keys, start_anvil
from contracts.bindings import MarketBinding, RegistryBinding, TokenBinding
from contracts.chain import Chain
from contracts.compiler import Artifacts, compile_contracts
from contracts.deploy import deploy
from contracts.deployment import CONTRACTS, Deployment, decoder_for
from contracts.errors import RevertDecoder
from contracts.sender import Sender
from tests.contracts.clock import Clock


@dataclass
class ChainSession:
    anvil: Anvil
    chain: Chain
    deployment: Deployment
    owner: Sender
    aggregator: Sender
    prosumers: list[Sender]
    stranger: Sender

    @property
    def senders(self) -> list[Sender]:
        return [self.owner, self.aggregator, *self.prosumers, self.stranger]


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    return compile_contracts()


@pytest.fixture(scope="session")
def decoder(artifacts: Artifacts) -> RevertDecoder:
    return decoder_for(artifacts[n].abi for n in CONTRACTS)


@pytest.fixture(scope="session")
def chain_session(artifacts: Artifacts, decoder: RevertDecoder) -> Iterator[ChainSession]:
    """Anvil with the default config (automine, London), the contracts deployed by dev key 0."""
    with start_anvil(AnvilConfig()) as anvil:
        chain = Chain(anvil.rpc_url, decoder)
        keys = dev_keys(10)
        owner, aggregator, stranger = (Sender(chain, keys[i]) for i in (0, 1, 9))
        deployment = deploy(chain, owner, aggregator.address, artifacts)
        yield ChainSession(
            anvil=anvil,
            chain=chain,
            deployment=deployment,
            owner=owner,
            aggregator=aggregator,
            prosumers=[Sender(chain, k) for k in keys[2:9]],
            stranger=stranger,
        )


@pytest.fixture
def isolated(chain_session: ChainSession) -> Iterator[ChainSession]:
    """Snapshot before the test, revert after it; the senders' cached nonces are then stale, so resync."""
    clock = Clock(chain_session.chain.w3)
    snapshot = clock.rpc("evm_snapshot")
    # After a revert the latest block can lag the wall clock; a fresh block makes `clock.now()` current.
    clock.mine()
    try:
        yield chain_session
    finally:
        assert clock.rpc("evm_revert", snapshot) is True
        for sender in chain_session.senders:
            sender.resync_nonce()
        # The chain caches fee fields for a second; after a revert the base fee may be higher again.
        chain_session.chain.reset_fee_cache()


@pytest.fixture
def chain(isolated: ChainSession) -> Chain:
    return isolated.chain


@pytest.fixture
def clock(isolated: ChainSession) -> Clock:
    return Clock(isolated.chain.w3)


@pytest.fixture
def deployment(isolated: ChainSession) -> Deployment:
    return isolated.deployment


@pytest.fixture
def registry(deployment: Deployment) -> RegistryBinding:
    return deployment.registry


@pytest.fixture
def token(deployment: Deployment) -> TokenBinding:
    return deployment.token


@pytest.fixture
def market(deployment: Deployment) -> MarketBinding:
    return deployment.market


@pytest.fixture
def owner(isolated: ChainSession) -> Sender:
    return isolated.owner


@pytest.fixture
def aggregator(isolated: ChainSession) -> Sender:
    return isolated.aggregator


@pytest.fixture
def prosumers(isolated: ChainSession) -> list[Sender]:
    return isolated.prosumers


@pytest.fixture
def prosumer(prosumers: list[Sender]) -> Sender:
    return prosumers[0]


@pytest.fixture
def stranger(isolated: ChainSession) -> Sender:
    return isolated.stranger
