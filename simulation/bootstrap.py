"""Getting a deployment to run against: connect (or start) a chain, compile, deploy, write the manifest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from contracts.anvil import dev_keys
from contracts.chain import Chain
from contracts.compiler import compile_contracts
from contracts.deploy import deploy, write_manifest
from contracts.deployment import CONTRACTS, Deployment, decoder_for
from contracts.sender import Sender
from contracts.settings import ChainSettings
from flexsim.errors import ConfigError

log = logging.getLogger(__name__)


def is_anvil(chain: Chain) -> bool:
    try:
        return "anvil" in str(chain.w3.client_version).lower()
    except Exception:  # some nodes do not answer web3_clientVersion
        return False


def deployer_key(chain: Chain, settings: ChainSettings) -> str:
    """CHAIN_DEPLOYER_KEY if set; anvil's first development key on a local anvil; else an error."""
    if settings.deployer_key is not None:
        return settings.deployer_key.get_secret_value()
    if is_anvil(chain):
        return dev_keys(1)[0]
    raise ConfigError(
        f"no deployer key for chain {chain.chain_id} at {chain.rpc_url}: "
        "set CHAIN_DEPLOYER_KEY to the private key of a funded account"
    )


def deploy_new(
    rpc_url: str,
    settings: ChainSettings | None = None,
    aggregator: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> tuple[Deployment, Sender]:
    """Compiles and deploys to the chain at `rpc_url`; returns the deployment and its deployer."""
    settings = settings or ChainSettings()
    chain = Chain.from_settings(settings, rpc_url=rpc_url)
    sender = Sender(chain, deployer_key(chain, settings))
    progress("compiling contracts")
    artifacts = compile_contracts(settings)
    chain.decoder = decoder_for(artifacts[n].abi for n in CONTRACTS)
    progress(f"deploying to chain {chain.chain_id} from {sender.address}")
    deployment = deploy(chain, sender, aggregator or sender.address, artifacts)
    deployment.artifacts = artifacts
    return deployment, sender


def deploy_to(
    rpc_url: str,
    out: Path,
    aggregator: str | None = None,
    settings: ChainSettings | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> Path:
    """`flexsim deploy`: deploys and writes the manifest (with ABIs beside it); returns its path."""
    deployment, _ = deploy_new(rpc_url, settings, aggregator, progress)
    assert deployment.artifacts is not None
    return write_manifest(deployment, deployment.artifacts, out)
