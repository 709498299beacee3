"""Sender and Chain: local nonces under concurrency and behind-the-back use, fee modes, typed errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts import errors
from contracts.anvil import free_port
from contracts.chain import GWEI, Chain, FeePolicy
from contracts.errors import InsufficientFunds, RpcUnavailable, TransactionFailed, WrongChain
from contracts.sender import Sender
from contracts.types import Strategy
from tests.contracts.consent import grant
from tests.contracts.consent import register as consented_register
from tests.contracts.factories import DAY_S, funded_senders, make_terms, new_key
from tests.contracts.flows import open_request, register

pytestmark = pytest.mark.chain


def nonce_of(chain, address: str) -> int:
    return chain.w3.eth.get_transaction_count(address)


def test_concurrent_sends_from_one_account_get_consecutive_nonces(chain, prosumer):
    start = nonce_of(chain, prosumer.address)
    targets = [Sender(chain, new_key()).address for _ in range(20)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        receipts = list(pool.map(lambda to: prosumer.send_value(to, 10**15 + 1), targets))

    nonces = sorted(chain.w3.eth.get_transaction(r.tx_hash)["nonce"] for r in receipts)
    assert nonces == list(range(start, start + 20))
    assert all(chain.w3.eth.get_transaction_receipt(r.tx_hash)["status"] == 1 for r in receipts)
    assert all(chain.balance(to) == 10**15 + 1 for to in targets)
    assert nonce_of(chain, prosumer.address) == start + 20


def test_concurrent_contract_calls_from_one_account(deployment, chain, prosumer, stranger):
    """submit() from many threads, then wait(): every approval is mined, in nonce order."""
    approve = deployment.token.contract.functions.approve
    with ThreadPoolExecutor(max_workers=10) as pool:
        hashes = list(pool.map(lambda v: prosumer.submit(approve(stranger.address, v)), range(1, 11)))
    receipts = [prosumer.wait(h) for h in hashes]
    by_nonce = sorted(receipts, key=lambda r: chain.w3.eth.get_transaction(r.tx_hash)["nonce"])
    last = deployment.token.events(by_nonce[-1], "Approval")[0]["args"]["value"]
    assert deployment.token.allowance(prosumer.address, stranger.address) == last
    assert len({r.tx_hash for r in receipts}) == 10


def test_recovers_when_another_client_used_the_key(deployment, chain, prosumer, clock, caplog):
    registry = deployment.registry
    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)  # caches the next nonce locally
    behind_the_back = Sender(chain, prosumer.account.key.hex())
    registry.remove(behind_the_back)
    stale = nonce_of(chain, prosumer.address)

    receipt = consented_register(
        registry, prosumer, make_terms(flex_up_w=5), clock.now() + DAY_S
    )  # "nonce too low" first

    assert chain.w3.eth.get_transaction(receipt.tx_hash)["nonce"] == stale
    assert any("nonce too low" in r.getMessage() for r in caplog.records if r.name == "contracts.sender")
    assert registry.totals() == (5, 2_000, 1)


def test_a_revert_is_raised_before_sending(deployment, chain, prosumer, clock):
    register(deployment, clock, [prosumer])
    before = nonce_of(chain, prosumer.address)
    with pytest.raises(errors.AlreadyRegistered) as info:
        consented_register(deployment.registry, prosumer, make_terms(), clock.now() + DAY_S)
    assert info.value.tx_hash is None  # decoded from the gas estimate: nothing was sent
    assert nonce_of(chain, prosumer.address) == before


def test_a_mined_revert_is_decoded_from_the_receipt(deployment, chain, prosumer, clock):
    register(deployment, clock, [prosumer])
    before = nonce_of(chain, prosumer.address)
    terms, expiry = make_terms(), clock.now() + DAY_S
    consent = grant(deployment.registry, prosumer.address, terms, expiry)
    fn = deployment.registry.contract.functions.register(terms.as_tuple(), expiry, consent.as_tuple())

    with pytest.raises(errors.AlreadyRegistered) as info:
        prosumer.transact(fn, gas=300_000)  # an explicit gas limit skips the estimate

    assert info.value.error_args == (prosumer.address,)
    assert info.value.tx_hash is not None
    assert chain.w3.eth.get_transaction_receipt(info.value.tx_hash)["status"] == 0
    assert nonce_of(chain, prosumer.address) == before + 1
    # and the sender's next transaction still goes through
    deployment.registry.remove(prosumer)


def test_a_mined_time_dependent_revert_is_decoded(deployment, aggregator, prosumer, clock):
    register(deployment, clock, [prosumer])
    rid, s = open_request(deployment, aggregator, clock, 1_000, strategy=Strategy.FAIR)
    clock.rpc("evm_setNextBlockTimestamp", s.deadline + 1)  # the next block is past the deadline
    fn = deployment.market.contract.functions.accept(rid)
    with pytest.raises(errors.AcceptanceClosed):
        prosumer.transact(fn, gas=300_000)


def test_the_default_fees_are_eip1559_with_a_small_tip(deployment, chain, prosumer, clock):
    receipt = consented_register(deployment.registry, prosumer, make_terms(), clock.now() + DAY_S)
    tx = chain.w3.eth.get_transaction(receipt.tx_hash)
    assert tx["type"] == 2
    assert tx["maxPriorityFeePerGas"] == GWEI // 10
    base = chain.w3.eth.get_block(receipt.block_number - 1)["baseFeePerGas"]
    assert tx["maxFeePerGas"] >= base + GWEI // 10


def test_a_lower_tip_share_pays_less_priority_and_the_same_headroom(chain):
    full, half = chain.fee_fields(), chain.fee_fields(tip_share=0.5)
    assert half["maxPriorityFeePerGas"] == full["maxPriorityFeePerGas"] // 2 > 0
    tip_gap = full["maxPriorityFeePerGas"] - half["maxPriorityFeePerGas"]
    assert full["maxFeePerGas"] - half["maxFeePerGas"] == tip_gap


@pytest.mark.parametrize("price", [None, 3 * GWEI], ids=["node-price", "fixed-price"])
def test_legacy_fee_mode(chain_session, deployment, owner, clock, decoder, price):
    legacy = Chain(chain_session.chain.rpc_url, decoder, fees=FeePolicy(mode="legacy", gas_price_wei=price))
    (funded,) = funded_senders(chain_session.chain, owner, 1)
    sender = Sender(legacy, funded.account.key.hex())
    registry = type(deployment.registry)(
        legacy, deployment.registry.address, deployment.registry.contract.abi
    )

    receipt = consented_register(registry, sender, make_terms(), clock.now() + DAY_S)

    tx = legacy.w3.eth.get_transaction(receipt.tx_hash)
    assert tx["type"] == 0
    assert "maxFeePerGas" not in tx
    assert tx["gasPrice"] == (price or tx["gasPrice"]) > 0
    assert registry.is_active(sender.address)


def test_an_unreachable_rpc(decoder):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RpcUnavailable) as info:
        Chain(url, decoder, retries=1)
    assert url in str(info.value)
    assert isinstance(info.value, ConnectionError)


def test_the_wrong_chain(chain, decoder):
    with pytest.raises(WrongChain) as info:
        Chain(chain.rpc_url, decoder, expected_chain_id=73_799)
    assert "31337" in str(info.value) and "73799" in str(info.value)
    assert Chain(chain.rpc_url, decoder, expected_chain_id=31_337).chain_id == 31_337


def test_an_unfunded_key(deployment, chain, clock):
    poor = Sender(chain, new_key())
    with pytest.raises(InsufficientFunds) as info:
        consented_register(deployment.registry, poor, make_terms(), clock.now() + DAY_S)
    assert poor.address in str(info.value)
    with pytest.raises(InsufficientFunds):
        poor.send_value(chain.w3.eth.accounts[0], 1)


def test_a_receipt_that_never_comes(chain, prosumer):
    impatient = Chain(chain.rpc_url, chain.decoder, receipt_timeout_s=0.3)
    sender = Sender(impatient, prosumer.account.key.hex())
    with pytest.raises(TransactionFailed) as info:
        sender.wait("0x" + "11" * 32, "a transaction nobody sent")
    assert "not mined within" in str(info.value)
