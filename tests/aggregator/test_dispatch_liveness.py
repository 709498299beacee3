"""The dispatcher never leaves a request it cannot finish open on chain (issue 10, item 3).

The dispatcher here runs on the chain's clock: its `wall` reads the latest block's timestamp and its
`sleep` moves anvil's time forward, so waiting for a window's end plus grace takes no real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.app import build_context
from aggregator.context import AppContext
from aggregator.dispatch import Dispatcher
from aggregator.planning import DispatchPolicy
from aggregator.registry import TrustedRegistryView
from aggregator.wire_market import RequestState
from contracts.anvil import dev_keys, start_anvil
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import Direction, RequestStatus, SourceKind, Strategy, Terms
from simulation.bootstrap import deploy_new
from tests.aggregator.factories import make_settings
from tests.contracts.consent import register as consented_register

pytestmark = pytest.mark.chain

POLICY = DispatchPolicy(reading_grace_s=0.0, poll_s=5.0)


@dataclass
class World:
    d: Deployment
    aggregator: Sender
    a: Sender  # offers 3000 W
    b: Sender  # offers 2000 W: ranks below A
    ctx: AppContext
    dispatcher: Dispatcher

    def now(self) -> int:
        return int(self.d.chain.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: float) -> None:
        w3 = self.d.chain.w3
        w3.provider.make_request("evm_increaseTime", [max(1, round(seconds))])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with start_anvil() as anvil:
        d, aggregator = deploy_new(anvil.rpc_url)
        a, b = (Sender(d.chain, k) for k in dev_keys(6)[4:6])
        settings = make_settings(tmp_path, sim_start=datetime.now(UTC), sim_speed=60.0)
        ctx = build_context(settings, TrustedRegistryView({}))
        ctx.writer.start()
        w = World(d, aggregator, a, b, ctx, None)  # type: ignore[arg-type]
        w.dispatcher = Dispatcher(d, aggregator, POLICY, wall=w.now, sleep=w.advance, block_time_s=1.0)
        expiry = w.now() + 30 * 86_400
        for p, flex in ((a, 3_000), (b, 2_000)):
            terms = Terms(SourceKind.BATTERY, 20_000, 0, flex, flex, 7_200, 10**17, 10**17)
            consented_register(d.registry, p, terms, expiry)
        yield w
        ctx.writer.stop()
        ctx.db.dispose()


def jam(w: World, strategy: Strategy = Strategy.REPUTATION) -> int:
    """A reputation request left behind by an earlier aggregator: both applied, B selected over A."""
    now = w.now()
    rid, _ = w.d.market.open_request(
        w.aggregator, Direction.UP, 2_000, 600, now + 120, now + 720, now + 60, strategy
    )
    w.d.market.apply_for(w.a, rid)
    w.d.market.apply_for(w.b, rid)
    w.advance(61)
    w.d.market.select(w.aggregator, rid, [w.b.address])  # A outranks B: this ranking never completes
    return rid


def test_a_request_it_cannot_finish_is_closed_and_the_next_one_opens(world: World) -> None:
    w = world
    chain_id = jam(w)
    w.advance(120)  # past the start: too late to cancel
    stuck = w.ctx.requests.enqueue("up", 2_000, 600, 900, "reputation")
    w.ctx.requests.mark(stuck.id, RequestState.SELECTING, chain_request_id=chain_id)  # resumed after a crash

    w.dispatcher.process(w.ctx, stuck.id)

    done = w.ctx.requests.get(stuck.id)
    assert done.status == RequestState.CLOSED
    assert "AlreadyCovered" in (done.error or "")
    assert w.d.market.request(chain_id).status == RequestStatus.CLOSED
    assert w.now() >= w.d.market.closable_at(chain_id)
    assert done.participants == 1 and done.paid == 0

    nxt = w.ctx.requests.enqueue("up", 1_000, 600, 900, "fair").id
    assert _claimed(w) == nxt
    w.dispatcher._open(w.ctx, w.ctx.requests.get(nxt))  # the market moves on
    assert w.d.market.current_request_id() == chain_id + 1


def test_before_its_start_it_is_cancelled(world: World) -> None:
    w = world
    chain_id = jam(w)
    stuck = w.ctx.requests.enqueue("up", 2_000, 600, 900, "reputation")
    w.ctx.requests.mark(stuck.id, RequestState.SELECTING, chain_request_id=chain_id)

    w.dispatcher.process(w.ctx, stuck.id)

    assert w.ctx.requests.get(stuck.id).status == RequestState.CANCELLED
    assert w.d.market.request(chain_id).status == RequestStatus.CANCELLED


def test_a_chain_request_of_an_earlier_failed_request_is_ended_before_the_next_opens(world: World) -> None:
    """A request marked failed while its chain request stayed open (the aggregator could not close it
    then) no longer blocks the queue: the next request closes it first."""
    w = world
    chain_id = jam(w)
    w.advance(120)
    old = w.ctx.requests.enqueue("up", 2_000, 600, 900, "reputation")
    w.ctx.requests.mark(old.id, RequestState.FAILED, chain_request_id=chain_id, error="RPC down")
    new = w.ctx.requests.enqueue("up", 1_000, 600, 900, "fair").id
    assert _claimed(w) == new

    opened = w.dispatcher._open(w.ctx, w.ctx.requests.get(new))

    assert w.d.market.request(chain_id).status == RequestStatus.CLOSED
    assert w.ctx.requests.get(old.id).status == RequestState.CLOSED
    assert opened.chain_request_id == chain_id + 1


def _claimed(w: World) -> int:
    """The id of the request the dispatcher claims next (there must be one)."""
    req = w.ctx.requests.claim_next()
    assert req is not None
    return req.id
