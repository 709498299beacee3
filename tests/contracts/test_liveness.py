"""The market cannot be jammed (issue 10, items 1-3): a selection that is not the documented ranking
never completes, a request cannot be reopened once ranking may begin, and the aggregator can always
end a request it cannot finish and open the next one."""

from __future__ import annotations

import pytest

from contracts import errors
from contracts.types import Direction, RequestStatus, Response, Strategy
from tests.contracts.factories import make_terms
from tests.contracts.flows import accept_all, apply_all, open_request, register
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain

# A offers 3000 W, B 2000 W (25 % of 20 kW caps neither); both start at reputation 500.
TERMS_A = make_terms(capacity_w=20_000, flex_up_w=3_000, expected_wh_per_day=0)
TERMS_B = make_terms(capacity_w=20_000, flex_up_w=2_000, expected_wh_per_day=0)


@pytest.fixture
def pair(deployment, prosumers, clock):
    a, b = prosumers[:2]
    register(deployment, clock, [a, b], [TERMS_A, TERMS_B])
    return a, b


@pytest.fixture
def applied(deployment, aggregator, clock, pair):
    """The auditor's smallest case: a 2000 W up reputation request both applied for, after its deadline."""
    rid, s = open_request(deployment, aggregator, clock, 2_000, strategy=Strategy.REPUTATION)
    apply_all(deployment, list(pair), rid)
    clock.advance_to(s.deadline + 1)
    return rid, s


def test_a_selection_that_skips_a_better_candidate_never_completes(deployment, aggregator, pair, applied):
    market = deployment.market
    a, b = (p.address for p in pair)
    rid, _ = applied
    market.select(aggregator, rid, [b])  # covers the request, but A (3000 W) outranks B (2000 W)

    with reverts(errors.DisplacedOutOfOrder, rid, a):  # A cannot come after B in the ranking
        market.select(aggregator, rid, [], [a])
    with reverts(errors.AlreadyCovered, rid, a):
        market.select(aggregator, rid, [a])
    assert market.request(rid).ranked == 1  # incomplete, so nothing can be settled on it


def test_the_documented_ranking_completes(deployment, aggregator, pair, applied):
    market = deployment.market
    a, b = (p.address for p in pair)
    rid, _ = applied
    receipt = market.select(aggregator, rid, [a], [b])
    (done,) = market.events(receipt, "SelectionCompleted")
    assert (done["args"]["participants"], done["args"]["committedW"]) == (1, 2_000)
    assert market.commitment_of(rid, b).response == Response.DISPLACED


def test_a_jammed_request_is_cancelled_before_its_start(deployment, aggregator, pair, applied):
    market = deployment.market
    rid, _ = applied
    market.select(aggregator, rid, [pair[1].address])
    market.cancel_request(aggregator, rid)
    assert market.request(rid).status == RequestStatus.CANCELLED
    assert market.current_request_id() == 0


def test_a_jammed_request_is_closed_after_its_window_and_grace(
    deployment, aggregator, clock, pair, applied, stranger
):
    market = deployment.market
    rid, s = applied
    market.select(aggregator, rid, [pair[1].address])
    clock.advance_to(s.start)
    with reverts(errors.AlreadyStarted, rid, s.start):
        market.cancel_request(aggregator, rid)
    clock.advance_to(s.end)
    with reverts(errors.SelectionIncomplete, rid, 1, 2):
        market.finalise(aggregator, rid)
    closable = market.closable_at(rid)
    assert closable == s.end + (s.end - s.start)  # a grace as long as the window (at least 60 s)
    with reverts(errors.CloseTooEarly, rid, closable):
        market.close_request(aggregator, rid)
    clock.advance_to(closable)
    with reverts(errors.NotAggregator, stranger.address):
        market.close_request(stranger, rid)

    receipt = market.close_request(aggregator, rid)

    (event,) = market.events(receipt, "RequestClosed")
    assert (event["args"]["requestId"], event["args"]["recorded"], event["args"]["participants"]) == (
        rid,
        0,
        1,
    )
    assert market.request(rid).status == RequestStatus.CLOSED
    assert market.result(rid).paid == 0
    assert deployment.token.total_supply() == 0  # nobody paid
    with reverts(errors.RequestNotOpen, rid, RequestStatus.CLOSED):
        market.close_request(aggregator, rid)
    next_id, _ = open_request(deployment, aggregator, clock, 1_000)  # the market moves on
    assert next_id == rid + 1


def test_a_closed_request_keeps_the_deliveries_recorded_before(deployment, aggregator, clock, prosumers):
    market, token = deployment.market, deployment.token
    members = prosumers[:3]
    register(deployment, clock, members)
    rid, s = open_request(deployment, aggregator, clock, 3_000, duration_s=3_600)
    accept_all(deployment, members, rid)
    clock.advance_to(s.end)
    first = members[0].address
    committed_wh = market.commitment_of(rid, first).power_w
    market.record_deliveries(aggregator, rid, [first], [committed_wh])  # one of three, then the crash
    paid = token.balance_of(first)
    assert paid > 0

    clock.advance_to(market.closable_at(rid))
    market.close_request(aggregator, rid)

    assert token.balance_of(first) == paid == token.total_supply()
    result = market.result(rid)
    assert (result.participants, result.compliant, result.delivered_wh) == (3, 1, committed_wh)
    for other in members[1:]:
        assert market.commitment_of(rid, other.address).response == Response.ACCEPTED  # never settled


def test_a_short_window_gets_the_minimum_grace(deployment, aggregator, clock, pair):
    rid, s = open_request(deployment, aggregator, clock, 1_000, duration_s=600, window_s=10)
    assert deployment.market.closable_at(rid) == s.end + 60


def test_modify_is_refused_once_answers_are_closed(deployment, aggregator, clock, pair, applied):
    """Issue 10 item 2: after the selection completed, a modification moved the deadline and let a late
    applicant in, which jammed the request. Nothing changes once ranking may begin."""
    market = deployment.market
    a, b = (p.address for p in pair)
    rid, s = applied
    market.select(aggregator, rid, [a], [b])
    later = (2_000, 3_600, s.start + 600, s.end + 600, s.start)
    with reverts(errors.AcceptanceClosed, rid, s.deadline):
        market.modify_request(aggregator, rid, *later)
    info = market.request(rid)
    assert (info.deadline, info.start, info.end, info.ranked, info.joined) == (
        s.deadline,
        s.start,
        s.end,
        2,
        2,
    )


def test_the_fair_strategy_moves_on_too(deployment, aggregator, clock, prosumers):
    """A fair request the aggregator never settles (a crash) is closed and the next one opens."""
    market = deployment.market
    register(deployment, clock, prosumers[:2])
    rid, _ = open_request(deployment, aggregator, clock, 1_000, direction=Direction.DOWN)
    accept_all(deployment, prosumers[:2], rid)
    clock.advance_to(market.closable_at(rid))
    market.close_request(aggregator, rid)
    assert open_request(deployment, aggregator, clock, 1_000)[0] == rid + 1
