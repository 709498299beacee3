"""Narrowing, contracted duration and paired arrays (issue 10, items 5-7)."""

from __future__ import annotations

import pytest

from contracts import errors
from contracts.compiler import Artifacts
from contracts.deploy import TOKEN_NAME, TOKEN_SYMBOL
from contracts.sender import Sender
from contracts.types import Strategy
from tests.contracts.factories import make_terms
from tests.contracts.flows import accept_all, finalise_anchored, open_request, register
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain

INT64_MAX = 2**63 - 1


def test_the_aggregate_delivery_does_not_wrap(deployment, aggregator, clock, prosumers):
    """Recording 2^63 - 1 and 1 Wh stored a negative aggregate: it is 2^63 now, exactly."""
    market = deployment.market
    a, b = prosumers[:2]
    register(deployment, clock, [a, b])
    rid, s = open_request(deployment, aggregator, clock, 2_000)
    accept_all(deployment, [a, b], rid)
    clock.advance_to(s.end)
    market.record_deliveries(aggregator, rid, [a.address, b.address], [INT64_MAX, 1])
    receipt = finalise_anchored(deployment, aggregator, rid, {a.address: INT64_MAX, b.address: 1})
    (settled,) = market.events(receipt, "RequestSettled")
    assert settled["args"]["deliveredWh"] == market.result(rid).delivered_wh == 2**63
    assert (market.result(rid).compliant, market.result(rid).paid) == (0, 0)


@pytest.mark.parametrize("strategy", [Strategy.FAIR, Strategy.REPUTATION], ids=["accept", "apply"])
def test_a_request_longer_than_the_contract_is_refused(deployment, aggregator, clock, prosumers, strategy):
    """The registered terms guarantee at most `max_duration_s`; joining a longer request reverts."""
    market = deployment.market
    short, long_ = prosumers[:2]
    register(deployment, clock, [short, long_], [make_terms(max_duration_s=1_800), make_terms()])
    rid, _ = open_request(deployment, aggregator, clock, 1_000, strategy=strategy, duration_s=3_600)
    join = market.accept if strategy == Strategy.FAIR else market.apply_for
    with reverts(errors.DurationBeyondContract, rid, 3_600, 1_800):
        join(short, rid)
    join(long_, rid)  # 3,600 s is exactly what make_terms guarantees
    assert market.request(rid).joined == 1


@pytest.fixture
def standalone(chain, owner, stranger, artifacts: Artifacts):
    """A Registry and a FlexToken wired to `stranger` as their market, so it can call the market hooks."""
    w3 = chain.w3

    def create(name: str, *args: object):  # type: ignore[no-untyped-def]
        art = artifacts[name]
        receipt = owner.transact(w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(*args))
        return w3.eth.contract(address=receipt.contract_address, abi=art.abi)

    registry = create("Registry", owner.address)
    token = create("FlexToken", TOKEN_NAME, TOKEN_SYMBOL)
    owner.transact(registry.functions.connect(stranger.address, token.address))
    owner.transact(token.functions.connect(stranger.address, registry.address))
    return registry, token


def test_paired_arrays_must_have_equal_lengths(standalone, stranger: Sender):
    registry, token = standalone
    someone = stranger.address
    with reverts(errors.LengthMismatch, 2, 1):
        stranger.transact(registry.functions.recordOutcomes([someone, someone], [True]))
    with reverts(errors.LengthMismatch, 1, 2):
        stranger.transact(token.functions.mint([someone], [1, 2]))
    stranger.transact(token.functions.mint([someone], [5]))  # equal lengths pass
    assert token.functions.totalSupply().call() == 5


def test_record_deliveries_pairs_its_arrays(deployment, aggregator, clock, prosumers):
    market = deployment.market
    register(deployment, clock, prosumers[:2])
    rid, s = open_request(deployment, aggregator, clock, 1_000)
    accept_all(deployment, prosumers[:2], rid)
    clock.advance_to(s.end)
    with reverts(errors.LengthMismatch, 2, 1):
        market.record_deliveries(aggregator, rid, [p.address for p in prosumers[:2]], [1])
