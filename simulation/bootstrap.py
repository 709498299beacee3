"""Getting a deployment to run against: the keys that sign, deploying anew, or attaching to a manifest.

Key roles on any chain: the deployer (`CHAIN_DEPLOYER_KEY`) deploys; the aggregator
(`CHAIN_AGGREGATOR_KEY`, else the deployer) opens and settles requests; the funder
(`CHAIN_FUNDER_KEY`) pays the prosumers' gas. On a local anvil a missing key falls back to anvil's
first development key (deployer, aggregator) or the deployer (funder), and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from base.errors import ConfigError
from contracts.anvil import dev_keys
from contracts.chain import Chain
from contracts.compiler import compile_contracts
from contracts.deploy import deploy, write_manifest
from contracts.deployment import CONTRACTS, Deployment, decoder_for
from contracts.errors import WrongChain
from contracts.manifest import Manifest
from contracts.sender import Sender
from contracts.settings import ChainSettings

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


def aggregator_key(chain: Chain, settings: ChainSettings) -> str:
    """CHAIN_AGGREGATOR_KEY if set, else the deployer's key (the aggregator of its own deployments)."""
    if settings.aggregator_key is not None:
        return settings.aggregator_key.get_secret_value()
    return deployer_key(chain, settings)


def funder_key(chain: Chain, settings: ChainSettings) -> str:
    """CHAIN_FUNDER_KEY if set; the deployer's key on a local anvil (logged); else an error."""
    if settings.funder_key is not None:
        return settings.funder_key.get_secret_value()
    if is_anvil(chain):
        log.warning("no CHAIN_FUNDER_KEY: the deployer funds the prosumers (allowed on a local anvil only)")
        return deployer_key(chain, settings)
    raise ConfigError(
        f"no funder key for chain {chain.chain_id} at {chain.rpc_url}: set CHAIN_FUNDER_KEY to the key "
        f"of an account that pays the prosumers' gas (R14); {chain.faucet_hint()}"
    )


def deploy_new(
    rpc_url: str,
    settings: ChainSettings | None = None,
    aggregator: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    chain: Chain | None = None,
) -> tuple[Deployment, Sender]:
    """Compiles and deploys to the chain at `rpc_url` (or `chain`); returns the deployment and its
    deployer. The aggregator is `aggregator`, else the deployer."""
    settings = settings or ChainSettings()
    chain = chain or Chain.from_settings(settings, rpc_url=rpc_url)
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


def attach(chain: Chain, manifest_path: Path) -> Deployment:
    """Binds the deployment in `manifest_path` on `chain`, after checking it is there: the manifest's
    chain id (`Deployment.attach`) and code at each of its addresses."""
    manifest = Manifest.load(manifest_path)
    abis = {name: manifest.abi(name) for name in CONTRACTS}
    chain.decoder = decoder_for(abis.values())
    d = Deployment.attach(chain, manifest, abis)
    bindings = (("Registry", d.registry), ("FlexToken", d.token), ("FlexibilityMarket", d.market),
                ("SettlementAnchor", d.anchor))  # fmt: skip
    for name, binding in bindings:
        if not _has_code(chain, binding.address):
            raise WrongChain(
                f"{manifest_path} places {name} at {binding.address}, but chain {chain.chain_id} at "
                f"{chain.rpc_url} has no contract there (a restarted local chain?): deploy anew with "
                "`flexsim run --redeploy`, or give the manifest of a deployment on this chain"
            )
    return d


def check_aggregator(d: Deployment, aggregator: str, manifest_path: Path) -> None:
    """The key the run signs with must hold the aggregator role in both the registry and the market."""
    market = str(d.chain.call(d.market.contract.functions.aggregator()))
    roles = {"Registry": d.registry.aggregator(), "FlexibilityMarket": market}
    wrong = {name: who for name, who in roles.items() if who.lower() != aggregator.lower()}
    if wrong:
        name, holder = next(iter(wrong.items()))
        raise ConfigError(
            f"{aggregator} is not the aggregator of the deployment in {manifest_path} ({name}'s aggregator "
            f"is {holder}): set CHAIN_AGGREGATOR_KEY to that account's key (or CHAIN_DEPLOYER_KEY if it "
            "deployed it), or deploy your own with `flexsim run --redeploy`"
        )


def _has_code(chain: Chain, address: str) -> bool:
    return bool(bytes(chain.rpc(lambda: chain.w3.eth.get_code(address), "get code")))  # type: ignore[arg-type]
