"""Deploying and wiring Registry, FlexToken, FlexibilityMarket and SettlementAnchor; writing the manifest."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from web3 import Web3

from contracts.chain import Chain
from contracts.compiler import Artifacts
from contracts.deployment import CONTRACTS, Deployment
from contracts.errors import InsufficientFunds, TransactionFailed
from contracts.manifest import CompilerInfo, ContractAddresses, Manifest
from contracts.sender import Receipt, Sender

log = logging.getLogger(__name__)

TOKEN_NAME = "Flexibility Token"
TOKEN_SYMBOL = "FLEX"


def deploy(chain: Chain, deployer: Sender, aggregator: str, artifacts: Artifacts) -> Deployment:
    """Deploys the four contracts, connects their roles and returns the live deployment.

    Order: Registry(aggregator), FlexToken, FlexibilityMarket(registry, token, aggregator),
    SettlementAnchor(market) (it reads the market's aggregator and state, nothing to wire), then
    Registry.connect(market, token) and FlexToken.connect(market, registry).
    """
    balance = chain.balance(deployer.address)
    if balance == 0:
        raise InsufficientFunds(
            f"deployer {deployer.address} has no native tokens on chain {chain.chain_id}: "
            f"{chain.faucet_hint()} (or set CHAIN_DEPLOYER_KEY to a funded key)"
        )
    aggregator = Web3.to_checksum_address(aggregator)
    gas: dict[str, int] = {}

    def submit(name: str, *args: object) -> str:
        art = artifacts[name]
        factory = chain.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        return deployer.submit(factory.constructor(*args))

    def created(name: str, tx_hash: str) -> tuple[str, Receipt]:
        receipt = deployer.wait(tx_hash, f"deploy {name}")
        if not receipt.contract_address:
            raise TransactionFailed(f"deploying {name} produced no contract address (tx {receipt.tx_hash})")
        gas[f"deploy_{name}"] = receipt.gas_used
        log.info("deployed %s at %s (gas %d)", name, receipt.contract_address, receipt.gas_used)
        return str(receipt.contract_address), receipt

    # Registry and FlexToken do not depend on each other: both go into the same block where possible.
    pending = submit("Registry", aggregator), submit("FlexToken", TOKEN_NAME, TOKEN_SYMBOL)
    registry, first = created("Registry", pending[0])
    token, _ = created("FlexToken", pending[1])
    market, _ = created("FlexibilityMarket", submit("FlexibilityMarket", registry, token, aggregator))
    anchor, _ = created("SettlementAnchor", submit("SettlementAnchor", market))
    manifest = Manifest(
        chain_id=chain.chain_id,
        contracts=ContractAddresses(registry=registry, token=token, market=market, anchor=anchor),
        deployer=deployer.address,
        aggregator=aggregator,
        block=first.block_number,
        deployed_at=datetime.now(UTC),
        compiler=CompilerInfo(
            solc_version=artifacts.solc_version,
            evm_version=artifacts.evm_version,
            optimizer_runs=artifacts.optimizer_runs,
            origin=artifacts.origin,
        ),
        abis={name: f"abis/{name}.abi.json" for name in CONTRACTS},
        gas_used=gas,
    )
    deployment = Deployment.attach(chain, manifest, {n: artifacts[n].abi for n in CONTRACTS})
    fns = deployment.registry.contract.functions, deployment.token.contract.functions
    wiring = deployer.submit(fns[0].connect(market, token)), deployer.submit(fns[1].connect(market, registry))
    gas["connect_Registry"] = deployer.wait(wiring[0], "Registry.connect").gas_used
    gas["connect_FlexToken"] = deployer.wait(wiring[1], "FlexToken.connect").gas_used
    return deployment


def write_manifest(deployment: Deployment, artifacts: Artifacts, path: Path) -> Path:
    return deployment.manifest.save(path, {n: artifacts[n].abi for n in CONTRACTS})
