"""Dispatch and settlement on a real anvil with scripted prosumers, and chain sync (R6-R11).

The simulated clock runs 300x faster than real time: a 15-minute lead, window and return-to-baseline
period each take 3 real seconds, so one request runs through its whole life in about 12 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.app import build_context
from aggregator.chainsync import ChainSync
from aggregator.context import AppContext
from aggregator.control import ChainRequestControl
from aggregator.dispatch import Dispatcher
from aggregator.planning import DispatchPolicy
from aggregator.registry import TrustedRegistryView
from aggregator.wire_market import RequestState
from contracts.anvil import dev_keys, start_anvil
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import DeclineReason, SourceKind, Terms
from simulation.bootstrap import deploy_new
from tests.aggregator.factories import make_settings
from tests.contracts.consent import register as consented_register

pytestmark = [pytest.mark.chain, pytest.mark.slow]

SPEED = 300.0
POLICY = DispatchPolicy(
    baseline_margin_s=900.0, reading_grace_s=0.5, poll_s=0.1, reading_wait_s=2.0, root_wait_s=1.0
)
BASE_W = 3_000.0


@dataclass
class World:
    d: Deployment
    aggregator: Sender
    prosumers: list[Sender]
    ctx: AppContext
    dispatcher: Dispatcher
    sync: ChainSync


@pytest.fixture(scope="module")
def rpc_url() -> Iterator[str]:
    with start_anvil() as anvil:
        yield anvil.rpc_url


@pytest.fixture
def world(rpc_url: str, tmp_path: Path) -> Iterator[World]:
    """A fresh deployment, four funded prosumers and an aggregator context on a SQLite file."""
    d, aggregator = deploy_new(rpc_url)
    prosumers = [Sender(d.chain, k) for k in dev_keys(10)[4:8]]
    settings = make_settings(tmp_path, sim_start=datetime.now(UTC), sim_speed=SPEED)
    ctx = build_context(settings, TrustedRegistryView({}))
    ctx.writer.start()
    dispatcher = Dispatcher(d, aggregator, POLICY, block_time_s=1.0)
    yield World(d, aggregator, prosumers, ctx, dispatcher, ChainSync(d, poll_s=0.1))
    ctx.writer.stop()
    ctx.db.dispose()


def register(w: World, flex_up: list[int]) -> None:
    now = int(w.d.chain.w3.eth.get_block("latest")["timestamp"])
    for p, flex in zip(w.prosumers, flex_up, strict=False):
        terms = Terms(SourceKind.SOLAR, 8_000, 20_000, flex, flex, 7_200, 2 * 10**17, 10**17)
        consented_register(w.d.registry, p, terms, now + 86_400)


def sim(w: World, real: float) -> float:
    return w.ctx.clock.clock.sim_time(real).timestamp()


def write_readings(w: World, p: Sender, start: int, end: int, extra_w: float) -> None:
    """Readings every 10 simulated seconds from 15 min before the window to 15 min after it: a flat
    baseline, raised by `extra_w` inside the window."""
    s0, s1 = sim(w, start), sim(w, end)
    rows, t, seq = [], s0 - 900, 0
    while t < s1 + 900:
        power = BASE_W + (extra_w if s0 <= t < s1 else 0.0)
        rows.append(
            (p.address.lower(), seq, t, int(SourceKind.SOLAR), power, 0.0, None, 0, time.time(), None)
        )
        t, seq = t + 10, seq + 1
    w.ctx.store.insert(rows)


def run_dispatch(w: World, request_id: int) -> threading.Thread:
    assert _claimed(w) == request_id
    thread = threading.Thread(target=w.dispatcher.process, args=(w.ctx, request_id), daemon=True)
    thread.start()
    return thread


def wait_open(w: World, request_id: int, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        req = w.ctx.requests.get(request_id)
        if req.status != RequestState.OPENING and req.chain_request_id is not None:
            return req
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} was not opened: {w.ctx.requests.get(request_id).status}")


def sync_all(w: World) -> None:
    while w.sync.step(w.ctx) > 0:
        pass


def test_fair_request_settles_deliveries_inside_and_outside_tolerance(world: World) -> None:
    w = world
    register(w, [2_000] * 4)
    sync_all(w)
    rid = w.ctx.requests.enqueue("up", 4_000, 900, 900, "fair").id
    thread = run_dispatch(w, rid)
    req = wait_open(w, rid)
    a, b, c, e = w.prosumers
    for p in (a, b, c):  # each takes no part in a top-up: committed stays the share
        w.d.market.accept_up_to(p, req.chain_request_id, 1_000)
    w.d.market.decline(e, req.chain_request_id, DeclineReason.OUTAGE)
    # shares are 4000 W x 2000 / 8000 = 1000 W each: 250 Wh over 15 simulated minutes
    for p, factor in ((a, 1.0), (b, 1.08), (c, 0.5)):
        write_readings(w, p, req.start, req.end, 1_000.0 * factor)
    thread.join(timeout=60)
    assert not thread.is_alive()

    done = w.ctx.requests.get(rid)
    assert done.status == RequestState.SETTLED, done.error
    result = w.d.market.result(req.chain_request_id)
    assert (done.requested_wh, done.committed_wh, done.participants, done.compliant) == (1_000, 750, 3, 2)
    assert (result.participants, result.compliant, result.delivered_wh) == (3, 2, 250 + 270 + 125)
    assert done.paid == result.paid == 2 * (2 * 10**17 * 250 // 1_000)
    assert w.d.token.balance_of(a.address) == 5 * 10**16
    assert w.d.token.balance_of(c.address) == 0
    assert w.d.registry.reputation(a.address) == 525 and w.d.registry.reputation(c.address) == 465

    sync_all(w)  # every prosumer's answer is queryable from the database
    answers = {(r.prosumer, r.kind): r for r in w.ctx.requests.responses(rid)}
    assert answers[(e.address.lower(), "declined")].reason == "outage"
    assert answers[(a.address.lower(), "accepted")].committed_w == 1_000
    delivered = {p: answers[(p.address.lower(), "delivered")] for p in (a, b, c)}
    assert [delivered[p].delivered_wh for p in (a, b, c)] == [250, 270, 125]
    assert [delivered[p].compliant for p in (a, b, c)] == [True, True, False]
    assert _known(w, c.address).reputation == 465


def test_the_share_a_prosumer_declines_is_topped_up_before_the_window(world: World) -> None:
    """Fair: A and B accept 1000 W shares of a 3000 W request, C declines; the dispatcher re-offers C's
    1000 W to A and B in proportion to their room (1000 W and 500 W) before the window starts."""
    w = world
    register(w, [2_000] * 3)
    sync_all(w)
    rid = w.ctx.requests.enqueue("up", 3_000, 900, 3_000, "fair").id  # a lead time long enough for a top-up
    thread = run_dispatch(w, rid)
    req = wait_open(w, rid)
    a, b, c = w.prosumers[:3]
    w.d.market.accept(a, req.chain_request_id)  # room: its offer 2000 W - its share 1000 W
    w.d.market.accept_up_to(b, req.chain_request_id, 1_500)  # room: 500 W
    w.d.market.decline(c, req.chain_request_id, DeclineReason.UNWILLING)
    wait = time.time() + 30
    while w.d.market.top_up_of(req.chain_request_id).counted < 2 and time.time() < wait:
        time.sleep(0.2)
    info = w.d.market.request(req.chain_request_id)  # (the contract takes a top-up only before the start)
    powers = [w.d.market.commitment_of(req.chain_request_id, p.address).power_w for p in (a, b)]
    assert powers == [1_000 + 666, 1_000 + 333] and info.committed_w == 2_999
    for p, power in zip((a, b), powers, strict=True):
        write_readings(w, p, info.start, info.end, float(power))
    thread.join(timeout=90)
    done = w.ctx.requests.get(rid)
    assert done.status == RequestState.SETTLED, done.error
    assert (done.committed_wh, done.compliant) == (2_999 * 900 // 3_600, 2)
    sync_all(w)
    answers = {(r.prosumer, r.kind): r for r in w.ctx.requests.responses(rid)}
    assert answers[(a.address.lower(), "topped_up")].committed_w == 1_666


def test_reputation_request_selects_the_best_ranked_until_covered(world: World) -> None:
    w = world
    register(w, [500, 2_000, 1_000, 1_500])
    rid = w.ctx.requests.enqueue("up", 3_000, 900, 900, "reputation").id
    thread = run_dispatch(w, rid)
    req = wait_open(w, rid)
    for p in w.prosumers:
        w.d.market.apply_for(p, req.chain_request_id)
    offers = {w.prosumers[1]: 2_000, w.prosumers[3]: 1_000}  # 2000 + the 1000 W remainder of 1500
    for p, extra in offers.items():
        write_readings(w, p, req.start, req.end, extra)
    thread.join(timeout=60)

    done = w.ctx.requests.get(rid)
    assert done.status == RequestState.SETTLED, done.error
    assert (done.participants, done.compliant, done.committed_wh) == (2, 2, 750)
    sync_all(w)
    kinds = {(r.prosumer, r.kind) for r in w.ctx.requests.responses(rid)}
    addr = [p.address.lower() for p in w.prosumers]
    assert {
        (addr[1], "selected"),
        (addr[3], "selected"),
        (addr[0], "displaced"),
        (addr[2], "displaced"),
    } <= kinds


def test_an_open_request_is_cancelled_on_chain_before_its_start(world: World) -> None:
    w = world
    register(w, [2_000] * 2)
    rid = w.ctx.requests.enqueue("down", 1_000, 900, 900, "fair").id
    thread = run_dispatch(w, rid)
    req = wait_open(w, rid)
    control = ChainRequestControl(w.ctx.requests, w.d, w.aggregator, w.ctx.clock, POLICY, lambda: 1.0)
    assert control.cancel(rid).status == RequestState.CANCELLED
    thread.join(timeout=30)
    assert w.ctx.requests.get(rid).status == RequestState.CANCELLED
    assert w.d.market.current_request_id() == 0
    assert int(w.d.market.request(req.chain_request_id).status) == 3  # Cancelled on chain


def test_chain_sync_resumes_from_its_persisted_block(world: World) -> None:
    w = world
    register(w, [2_000] * 2)
    sync_all(w)
    synced = w.ctx.sync_state.get("chain")
    assert synced == w.d.chain.w3.eth.block_number
    assert {p.address for p in w.ctx.prosumers.all(active_only=True)} == {
        p.address.lower() for p in w.prosumers[:2]
    }
    # a restarted aggregator: a new ChainSync over the same database starts after `synced`
    w.d.registry.remove(w.prosumers[0])
    restarted = ChainSync(w.d)
    assert restarted.step(w.ctx) == w.d.chain.w3.eth.block_number - synced
    assert restarted.step(w.ctx) == 0
    assert not _known(w, w.prosumers[0].address).active
    assert _known(w, w.prosumers[1].address).active


def _claimed(w: World) -> int:
    """The id of the request the dispatcher claims next (there must be one)."""
    req = w.ctx.requests.claim_next()
    assert req is not None
    return req.id


def _known(w: World, address: str):  # type: ignore[no-untyped-def]
    """The aggregator's record of a prosumer (chain sync must have made one)."""
    row = w.ctx.prosumers.get(address)
    assert row is not None
    return row
