"""The chain over one keep-alive connection (`Chain.use_plain_http`, `base.wire_http`), as fleets use it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts.anvil import free_port
from contracts.chain import Chain
from contracts.plain_provider import PlainHTTPProvider
from contracts.sender import Sender
from tests.contracts.factories import new_key

pytestmark = pytest.mark.chain


def test_sends_reads_and_waits_from_several_threads_over_one_connection(chain, prosumer):
    own = Chain(chain.rpc_url)
    own.use_plain_http()
    assert isinstance(own.w3.provider, PlainHTTPProvider)
    sender = Sender(own, "0x" + bytes(prosumer.account.key).hex())
    targets = [Sender(own, new_key()).address for _ in range(8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda to: sender.send_value(to, 10**15 + 7), targets))

    assert all(r.block_number > 0 for r in receipts)
    assert all(own.balance(to) == 10**15 + 7 for to in targets)
    own.disconnect()  # closes its one connection: the next call opens a new one
    assert own.balance(targets[0]) == 10**15 + 7


def test_an_unreachable_node_raises_a_connection_error_that_rpc_retries():
    provider = PlainHTTPProvider(f"http://127.0.0.1:{free_port()}", 2.0)
    with pytest.raises(ConnectionError):
        provider.make_request("eth_blockNumber", [])  # type: ignore[arg-type]
