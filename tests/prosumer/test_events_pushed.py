"""Market events pushed over the prosumer's own WebSocket subscription (anvil serves WebSocket on its
HTTP port): a request opened on chain arrives without polling, and the blocks mined while the socket
was down are read once over HTTP after the reconnection, each event exactly once."""

from __future__ import annotations

import time

import pytest
from eth_account import Account

from contracts.sender import Sender
from contracts.types import Direction, SourceKind, Strategy, Terms
from prosumer.events import EventFollower, MarketEvent
from tests.contracts.consent import register as consented_register
from tests.prosumer.conftest import Market

pytestmark = pytest.mark.chain

TERMS = Terms(SourceKind.CONSUMER, 5_000, -10_000, 500, 500, 3_600, 2 * 10**17, 10**17)


def collect(follower: EventFollower, want: int, timeout_s: float = 20.0) -> list[MarketEvent]:
    events: list[MarketEvent] = []
    deadline = time.monotonic() + timeout_s
    while len(events) < want and time.monotonic() < deadline:
        follower.wait(0.5)
        events.extend(follower.poll())
    return events


def test_a_request_is_pushed_and_missed_blocks_are_read_after_a_reconnection(market: Market) -> None:
    key = "0x" + Account.create().key.hex().removeprefix("0x")
    me = market.fund(key)
    consented_register(market.d.registry, Sender(market.d.chain, key), TERMS, int(time.time()) + 86_400)
    m = market.d.market
    ws_url = "ws" + market.rpc_url.removeprefix("http")
    follower = EventFollower(m, me, 0, ws_url=ws_url)
    follower.cursor.next_block = follower.head() + 1
    assert follower.poll() == [] and follower.connected  # subscribed, nothing new yet

    now = int(market.d.chain.w3.eth.get_block("latest")["timestamp"])
    rid, _ = m.open_request(
        market.funder, Direction.UP, 1_000, 600, now + 120, now + 720, now + 60, Strategy.FAIR
    )
    (opened,) = collect(follower, 1)
    assert (opened.name, opened.request_id) == ("FlexibilityRequested", rid)

    follower.close()  # the socket goes down; the request is cancelled meanwhile
    m.cancel_request(market.funder, rid)
    assert not follower.connected
    events = collect(follower, 1)
    assert [(e.name, e.request_id) for e in events] == [("RequestCancelled", rid)]
    assert follower.connected
    time.sleep(0.5)
    assert follower.poll() == []  # pushed and read over HTTP: still once
    follower.close()
