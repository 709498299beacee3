"""A small settled fair request on a real chain, shared by the report and audit tests."""

from __future__ import annotations

from contracts.answers import sign_answer
from domain.vocabulary import AnswerAction
from tests.aggregator.test_dispatch import (
    World,
    register,
    run_dispatch,
    sync_all,
    wait_open,
    write_readings,
)


def settle_three_fair(w: World, relayed: int = 0) -> None:
    """Three prosumers accept a 3 kW up request and deliver 100 %, 95 % and 40 % of their share; the
    first `relayed` of them sign their acceptance and the aggregator relays them in one transaction."""
    register(w, [2_000] * 3)
    rid = w.ctx.requests.enqueue("up", 3_000, 900, 900, "fair").id
    thread = run_dispatch(w, rid)
    req = wait_open(w, rid)
    chain_id, market = w.d.chain.chain_id, w.d.market
    signed = [
        sign_answer(p.account.key, chain_id, market.address, req.chain_request_id, AnswerAction.ACCEPT)
        for p in w.prosumers[:relayed]
    ]
    if signed:
        market.relay_answers(w.aggregator, req.chain_request_id, signed)
    for p in w.prosumers[relayed:3]:
        market.accept(p, req.chain_request_id)
    for p, factor in zip(w.prosumers[:3], (1.0, 0.95, 0.4), strict=True):
        write_readings(w, p, req.start, req.end, 1_000.0 * factor)
    thread.join(timeout=300)
    assert not thread.is_alive(), "the dispatcher did not settle the request"  # chain and database agree
    sync_all(w)
