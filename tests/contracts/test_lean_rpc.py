"""The chain over raw JSON-RPC (`Chain.use_plain_http`: `contracts.jsonrpc`, `contracts.lean_eth`,
`contracts.abi_function`), as a fleet's prosumers use it: the same answers, receipts, events, nonces
and decoded reverts as through web3, against the session's anvil."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import errors
from contracts.abi_function import EncodedCall
from contracts.bindings import MarketBinding, RegistryBinding
from contracts.chain import Chain
from contracts.jsonrpc import JsonRpc, RpcError
from contracts.sender import Sender
from contracts.types import Registration
from tests.contracts.consent import grant
from tests.contracts.factories import DAY_S, make_terms, new_key
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain


def lean_chain(chain: Chain) -> Chain:
    own = Chain(chain.rpc_url, chain.decoder)
    own.use_plain_http()
    return own


def lean_registry(chain: Chain, registry: RegistryBinding) -> RegistryBinding:
    abi: Any = registry.contract.abi
    return RegistryBinding(lean_chain(chain), registry.address, list(abi))


def lean_sender(registry: RegistryBinding, sender: Sender) -> Sender:
    return Sender(registry.chain, "0x" + bytes(sender.account.key).hex())


def test_calls_are_encoded_as_web3_encodes_them(chain, registry):
    own = lean_registry(chain, registry)
    terms, consent = make_terms(), grant(registry, registry.address, make_terms(), 2**39)

    call = own._call("register", terms.as_tuple(), 2**39, consent.as_tuple())

    assert isinstance(call, EncodedCall)
    web3_data = registry.contract.functions.register(terms.as_tuple(), 2**39, consent.as_tuple())
    assert "0x" + call.data.hex() == web3_data._encode_transaction_data()


def test_a_registration_over_raw_json_rpc_reads_back_as_through_web3(chain, registry, prosumer, clock):
    own = lean_registry(chain, registry)
    me = lean_sender(own, prosumer)
    terms, expiry = make_terms(flex_up_w=1_234), clock.now() + DAY_S

    receipt = own.register(me, terms, expiry, grant(registry, me.address, terms, expiry))

    assert isinstance(receipt.tx_hash, str) and receipt.tx_hash.startswith("0x")
    assert me._raw_key is not None  # signed by contracts.raw_tx, not eth_account
    (event,) = own.events(receipt, "Registered")
    assert event["args"]["prosumer"] == prosumer.address
    assert event["args"]["expiry"] == expiry
    expected = Registration(terms, expiry, receipt.block_number, True)
    assert own.registration_of(me.address) == expected == registry.registration_of(me.address)
    assert own.aggregator() == registry.aggregator()  # an address output, checksummed as web3 does
    assert own.totals() == registry.totals()
    assert own.chain.balance(me.address) == chain.balance(me.address)


def test_a_reverting_estimate_is_decoded(chain, registry, prosumer, clock):
    own = lean_registry(chain, registry)
    me = lean_sender(own, prosumer)
    terms, expiry = make_terms(), clock.now() + DAY_S
    own.register(me, terms, expiry, grant(registry, me.address, terms, expiry))

    with reverts(errors.AlreadyRegistered, prosumer.address):
        own.register(me, terms, expiry, grant(registry, me.address, terms, expiry))


def test_a_mined_revert_is_decoded(chain, registry, prosumer, clock):
    own = lean_registry(chain, registry)
    me = lean_sender(own, prosumer)
    terms, expiry = make_terms(), clock.now() + DAY_S
    own.register(me, terms, expiry, grant(registry, me.address, terms, expiry))
    consent = grant(registry, me.address, terms, expiry)

    with reverts(errors.AlreadyRegistered, prosumer.address) as info:  # gas given: no estimate first
        own._tx(me, "register", terms.as_tuple(), expiry, consent.as_tuple(), gas=400_000)
    assert info.value.tx_hash is not None


def test_a_reverting_view_is_decoded(chain, market):
    own = MarketBinding(lean_chain(chain), market.address, list(market.contract.abi))

    accept = own.functions["accept"]

    with reverts(errors.UnknownRequest, 999):  # a call (no transaction) that reverts
        own.chain.call_encoded(accept, accept.encode(own.address, (999,)))


def test_a_nonce_used_by_another_client_is_resynced(chain, registry, prosumer):
    own = lean_registry(chain, registry)
    me = lean_sender(own, prosumer)
    to = Sender(chain, new_key()).address
    me.send_value(to, 1)
    prosumer.resync_nonce()
    prosumer.send_value(to, 1)  # the same account, another client: `me`'s cached nonce is now stale

    receipt = me.send_value(to, 1)

    assert receipt.block_number > 0
    assert own.chain.balance(to) == 3


class Flaky:
    """A transport that fails the first `failures` requests with a connection error."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner, self.failures, self.calls = inner, failures, 0
        self.endpoint_uri = inner.endpoint_uri

    def _make_request(self, method: Any, request_data: bytes) -> bytes:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("connection refused")
        return self.inner._make_request(method, request_data)


def test_a_connection_error_is_retried(chain, prosumer):
    own = lean_chain(chain)
    assert own.lean is not None
    flaky = Flaky(own.lean.rpc.transport, failures=2)
    own.lean.rpc = JsonRpc(flaky)

    assert own.balance(prosumer.address) == chain.balance(prosumer.address)
    assert flaky.calls == 3


def test_a_connection_error_that_persists_says_so(chain, prosumer):
    own = Chain(chain.rpc_url, chain.decoder, retries=1)
    own.use_plain_http()
    assert own.lean is not None
    own.lean.rpc = JsonRpc(Flaky(own.lean.rpc.transport, failures=10))

    with pytest.raises(errors.RpcUnavailable, match="balance failed after 2 attempts"):
        own.balance(prosumer.address)


def test_a_node_error_carries_its_code_and_message(chain):
    own = lean_chain(chain)
    assert own.lean is not None

    with pytest.raises(RpcError) as info:
        own.lean.rpc.request("eth_noSuchMethod", [])
    assert info.value.code != 0 and not info.value.is_revert
