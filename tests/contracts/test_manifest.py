"""The deployment manifest drives the contracts from an independent web3 client (no flexsim code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from contracts.deploy import deploy, write_manifest
from contracts.deployment import CONTRACTS, Deployment
from contracts.errors import WrongChain
from contracts.manifest import Manifest
from tests.contracts.factories import DAY_S, make_terms

pytestmark = pytest.mark.chain


@pytest.fixture
def manifest_path(chain, owner, aggregator, artifacts, tmp_path) -> Path:
    """A second deployment on the session chain, its manifest written to a temporary folder."""
    d = deploy(chain, owner, aggregator.address, artifacts)
    return write_manifest(d, artifacts, tmp_path / "deployment" / "manifest.json")


def test_the_manifest_describes_the_deployment(manifest_path, chain, owner, aggregator):
    doc = json.loads(manifest_path.read_text())
    assert doc["chain_id"] == chain.chain_id == 31_337
    assert doc["deployer"] == owner.address
    assert doc["aggregator"] == aggregator.address
    assert doc["compiler"]["evm_version"] == "london"
    assert doc["compiler"]["solc_version"] == "0.8.30"
    assert set(doc["contracts"]) == {"registry", "token", "market", "anchor"}
    assert set(doc["abis"]) == set(CONTRACTS)
    for address in doc["contracts"].values():
        assert len(chain.w3.eth.get_code(Web3.to_checksum_address(address))) > 0
    first = chain.w3.eth.get_block(doc["block"], full_transactions=True)["transactions"][0]
    assert first["to"] is None and first["from"] == owner.address  # the block of the first creation
    assert Manifest.load(manifest_path).contracts.registry == doc["contracts"]["registry"]


def _aggregator_consent(w3, registry, key, prosumer, terms, expiry):
    """The aggregator's EIP-712 consent, built from the documented type with eth_account alone."""
    fields = "kind capacityW expectedWhPerDay flexUpW flexDownW maxDurationS tariffUp tariffDown".split()
    types = "uint8 uint32 int40 uint32 uint32 uint32 uint88 uint88".split()
    deadline = w3.eth.get_block("latest")["timestamp"] + 600
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "RegistrationConsent": [
                {"name": "prosumer", "type": "address"},
                *({"name": f, "type": t} for f, t in zip(fields, types, strict=True)),
                {"name": "expiry", "type": "uint40"},
                {"name": "nonce", "type": "uint32"},
                {"name": "deadline", "type": "uint40"},
            ],
        },
        "primaryType": "RegistrationConsent",
        "domain": {"name": "flexsim Registry", "version": "1", "chainId": w3.eth.chain_id,
                   "verifyingContract": registry.address},
        "message": {
            "prosumer": prosumer,
            **dict(zip(fields, terms.as_tuple(), strict=True)),
            "expiry": expiry,
            "nonce": registry.functions.consentNonce(prosumer).call(),
            "deadline": deadline,
        },
    }  # fmt: skip
    signed = Account.sign_message(encode_typed_data(full_message=message), key)
    return (deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def test_an_independent_client_drives_the_contracts(manifest_path, chain_session, prosumers, clock):
    """Only the manifest JSON, the ABI files it points to, plain web3.py and eth_account."""
    doc = json.loads(manifest_path.read_text())
    abis = {name: json.loads((manifest_path.parent / rel).read_text()) for name, rel in doc["abis"].items()}
    w3 = Web3(Web3.HTTPProvider(chain_session.chain.rpc_url))
    assert w3.eth.chain_id == doc["chain_id"]
    registry = w3.eth.contract(
        address=Web3.to_checksum_address(doc["contracts"]["registry"]), abi=abis["Registry"]
    )
    token = w3.eth.contract(
        address=Web3.to_checksum_address(doc["contracts"]["token"]), abi=abis["FlexToken"]
    )
    market = w3.eth.contract(
        address=Web3.to_checksum_address(doc["contracts"]["market"]), abi=abis["FlexibilityMarket"]
    )
    assert registry.functions.totals().call() == [0, 0, 0]
    assert registry.functions.market().call() == market.address
    assert token.functions.symbol().call() == "FLEX"
    assert market.functions.currentRequestId().call() == 0

    account = Account.from_key(prosumers[6].account.key)
    terms = make_terms(flex_up_w=1_234, flex_down_w=567)
    expiry = clock.now() + DAY_S
    consent = _aggregator_consent(
        w3, registry, chain_session.aggregator.account.key, account.address, terms, expiry
    )
    tx = registry.functions.register(terms.as_tuple(), expiry, consent).build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address),
            "chainId": doc["chain_id"],
        }
    )
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30
    )

    assert receipt["status"] == 1
    (event,) = registry.events.Registered().process_receipt(receipt)
    assert event["args"]["prosumer"] == account.address
    assert event["args"]["terms"]["flexUpW"] == 1_234
    assert event["args"]["expiry"] == expiry
    assert registry.functions.totals().call() == [1_234, 567, 1]
    assert registry.functions.isActive(account.address).call() is True


def test_the_manifest_loads_into_typed_bindings(manifest_path, chain):
    manifest = Manifest.load(manifest_path)
    d = Deployment.attach(chain, manifest, {name: manifest.abi(name) for name in CONTRACTS})
    assert d.registry.totals() == (0, 0, 0)
    assert d.registry.address == Web3.to_checksum_address(manifest.contracts.registry)
    assert d.token.total_supply() == 0


def test_a_manifest_for_another_chain_is_refused(manifest_path, chain):
    manifest = Manifest.load(manifest_path).model_copy(update={"chain_id": 73_799})
    with pytest.raises(WrongChain) as info:
        Deployment.attach(chain, manifest, {})
    assert "73799" in str(info.value)
