"""FlexibilityMarket, reputation strategy: apply, ranked selection checked on chain, settlement."""

from __future__ import annotations

import pytest

from contracts import errors
from contracts.types import DeclineReason, Direction, RequestStatus, Response, Strategy
from tests.contracts import reference
from tests.contracts.consent import register as consented_register
from tests.contracts.consent import renegotiate as consented_renegotiate
from tests.contracts.factories import DAY_S, TARIFF_UP, make_terms
from tests.contracts.flows import apply_all, finalise_anchored, open_request, register, settle
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain

POWER = 5_000  # covered by the two best candidates (2 kW each) and 1 kW of the third


@pytest.fixture
def candidates(deployment, prosumers, clock):
    """Five registered prosumers A..E offering 2 kW each, with reputations 500, 475, 450, 425, 400
    (A..E made 0..4 downward renegotiations of their flexibility *down*, which an UP request ignores)."""
    members = prosumers[:5]
    register(deployment, clock, members)
    for i, m in enumerate(members):
        for n in range(1, i + 1):
            consented_renegotiate(
                deployment.registry, m, make_terms(flex_down_w=2_000 - n), clock.now() + 30 * DAY_S
            )
    assert [deployment.registry.reputation(m.address) for m in members] == [500, 475, 450, 425, 400]
    return members


@pytest.fixture
def applied(deployment, aggregator, clock, candidates):
    """An UP reputation request every candidate applied for; returns (request id, schedule)."""
    rid, s = open_request(deployment, aggregator, clock, POWER, strategy=Strategy.REPUTATION)
    apply_all(deployment, candidates, rid)
    return rid, s


@pytest.fixture
def closed(clock, applied):
    """The same request after its acceptance deadline."""
    rid, s = applied
    clock.advance_to(s.deadline + 1)
    return rid, s


def addresses(senders) -> list[str]:
    return [s.address for s in senders]


def reference_selection(deployment, rid: int, senders) -> tuple[list[str], list[str], int]:
    market, registry = deployment.market, deployment.registry
    keys, offers = {}, {}
    for s in senders:
        c = market.commitment_of(rid, s.address)
        offers[s.address] = c.power_w
        keys[s.address] = reference.RankKey.of(registry.reputation(s.address), c.power_w, c.tariff)
    return reference.select(market.request(rid).power_w, keys, offers)


# ---------------------------------------------------------------- apply


def test_apply_offers_the_flexibility_capped_at_a_quarter_of_capacity(
    deployment, aggregator, prosumers, clock
):
    market = deployment.market
    a, b = prosumers[:2]
    register(
        deployment,
        clock,
        [a, b],
        [
            make_terms(capacity_w=10_000, flex_up_w=9_000),
            make_terms(capacity_w=10_000, flex_up_w=700, tariff_up=42),
        ],
    )
    rid, _ = open_request(deployment, aggregator, clock, POWER, strategy=Strategy.REPUTATION)

    receipts = apply_all(deployment, [a, b], rid)

    for sender, receipt, offer, tariff in [(a, receipts[0], 2_500, TARIFF_UP), (b, receipts[1], 700, 42)]:
        assert offer == reference.offer(*((9_000, 10_000) if sender is a else (700, 10_000)))
        (event,) = market.events(receipt, "Applied")
        assert dict(event["args"]) == dict(
            requestId=rid, prosumer=sender.address, offeredW=offer, reputation=500
        )
        c = market.commitment_of(rid, sender.address)
        assert (c.response, c.power_w, c.tariff) == (Response.APPLIED, offer, tariff)
    info = market.request(rid)
    assert (info.joined, info.committed_w, info.participants) == (2, 0, 0)


def test_apply_reverts(deployment, aggregator, prosumers, stranger, clock, candidates, applied):
    market = deployment.market
    rid, s = applied
    a, newcomer = candidates[0], prosumers[5]
    with reverts(errors.AlreadyResponded, rid, a.address, Response.APPLIED):
        market.apply_for(a, rid)
    with reverts(errors.AlreadyResponded, rid, a.address, Response.APPLIED):
        market.decline(a, rid, DeclineReason.OUTAGE)
    with reverts(errors.WrongStrategy, rid, Strategy.REPUTATION):
        market.accept(a, rid)
    with reverts(errors.NotActive, stranger.address):
        market.apply_for(stranger, rid)
    receipt = consented_register(deployment.registry, newcomer, make_terms(), clock.now() + DAY_S)
    with reverts(
        errors.RegisteredAfterOpen, newcomer.address, receipt.block_number, market.request(rid).opened_block
    ):
        market.apply_for(newcomer, rid)
    clock.advance_to(s.deadline + 1)
    with reverts(errors.AcceptanceClosed, rid, s.deadline):
        market.apply_for(prosumers[6], rid)
    assert market.request(rid).joined == 5


def test_apply_with_nothing_to_offer(deployment, aggregator, prosumers, clock, candidates):
    p = prosumers[5]
    register(deployment, clock, [p], make_terms(flex_up_w=0))
    rid, _ = open_request(deployment, aggregator, clock, POWER, strategy=Strategy.REPUTATION)
    with reverts(errors.NothingToCommit, p.address):
        deployment.market.apply_for(p, rid)


def test_a_decline_on_a_reputation_request(deployment, clock, candidates, applied, prosumers):
    rid, _ = applied
    register(deployment, clock, [prosumers[5]])  # declining needs an active registration, not an early one
    receipt = deployment.market.decline(prosumers[5], rid, DeclineReason.INSUFFICIENT_FORECAST)
    (event,) = deployment.market.events(receipt, "Declined")
    assert event["args"]["reason"] == DeclineReason.INSUFFICIENT_FORECAST
    assert deployment.market.request(rid).joined == 5


# ---------------------------------------------------------------- select


def test_select_waits_for_the_deadline(deployment, aggregator, clock, candidates, applied):
    rid, s = applied
    with reverts(errors.AcceptanceStillOpen, rid, s.deadline):
        deployment.market.select(aggregator, rid, addresses(candidates[:3]), addresses(candidates[3:]))
    clock.advance_to(s.deadline)
    with reverts(
        errors.AcceptanceStillOpen, rid, s.deadline
    ):  # the deadline second still belongs to applying
        deployment.market.select(aggregator, rid, addresses(candidates[:3]), addresses(candidates[3:]))


def test_select_access_and_strategy(deployment, aggregator, stranger, clock, candidates, closed):
    rid, _ = closed
    market = deployment.market
    with reverts(errors.NotAggregator, stranger.address):
        market.select(stranger, rid, addresses(candidates[:3]), addresses(candidates[3:]))
    with reverts(errors.UnknownRequest, 99):
        market.select(aggregator, 99, addresses(candidates[:3]))


def test_select_on_a_fair_request(deployment, aggregator, clock, candidates):
    rid, s = open_request(deployment, aggregator, clock, POWER)
    clock.advance_to(s.deadline + 1)
    with reverts(errors.WrongStrategy, rid, Strategy.FAIR):
        deployment.market.select(aggregator, rid, addresses(candidates[:1]))


def test_the_ranked_selection_and_its_settlement(deployment, aggregator, clock, candidates, closed):
    market, token, registry = deployment.market, deployment.token, deployment.registry
    rid, s = closed
    selected, displaced, committed = reference_selection(deployment, rid, candidates)
    assert selected == addresses(candidates[:3]) and displaced == addresses(candidates[3:])
    assert committed == POWER

    receipt = market.select(aggregator, rid, selected, displaced)

    reps = {c.address: registry.reputation(c.address) for c in candidates}
    powers = dict(zip(selected, [2_000, 2_000, 1_000], strict=True))  # the last commits only the remainder
    assert [dict(e["args"]) for e in market.events(receipt, "Selected")] == [
        dict(requestId=rid, prosumer=p, powerW=powers[p], reputation=reps[p]) for p in selected
    ]
    assert [dict(e["args"]) for e in market.events(receipt, "Displaced")] == [
        dict(requestId=rid, prosumer=p, reputation=reps[p]) for p in displaced
    ]
    (done,) = market.events(receipt, "SelectionCompleted")
    assert dict(done["args"]) == dict(requestId=rid, participants=3, committedW=POWER)
    for p in selected:
        assert market.commitment_of(rid, p).response == Response.SELECTED
        assert market.commitment_of(rid, p).power_w == powers[p]
    for p in displaced:
        assert market.commitment_of(rid, p).response == Response.DISPLACED
    info = market.request(rid)
    assert (info.participants, info.ranked, info.joined, info.committed_w) == (3, 5, 5, POWER)

    delivered = {p: powers[p] for p in selected}  # one hour: W = Wh, exactly as committed
    for p in displaced:
        with reverts(errors.NotAParticipant, rid, p):
            clock.advance_to(max(clock.now() + 1, s.end))
            market.record_deliveries(aggregator, rid, [p], [1])
    settle(deployment, aggregator, clock, rid, s, delivered)

    result = market.result(rid)
    assert (result.requested_wh, result.committed_wh, result.delivered_wh) == (POWER, POWER, POWER)
    assert (result.participants, result.compliant) == (3, 3)
    assert result.paid == sum(reference.payment(TARIFF_UP, w, 3_600) for w in powers.values())
    assert market.request(rid).status == RequestStatus.SETTLED
    for p in selected:
        assert token.balance_of(p) == reference.payment(TARIFF_UP, powers[p], 3_600)
        assert registry.reputation(p) == reps[p] + 25
    for p in displaced:
        assert token.balance_of(p) == 0
        assert registry.reputation(p) == reps[p]


@pytest.mark.parametrize(
    ("selected", "displaced", "error", "culprit"),
    [
        pytest.param("BAC", "DE", errors.SelectionOutOfOrder, "A", id="out-of-order"),
        pytest.param("ACB", "DE", errors.SelectionOutOfOrder, "B", id="out-of-order-later"),
        pytest.param("ABCD", "E", errors.AlreadyCovered, "D", id="selected-after-covered"),
        pytest.param("AB", "DE", errors.NotYetCovered, "D", id="displaced-before-covered"),
        pytest.param("BCD", "AE", errors.DisplacedOutOfOrder, "A", id="displaced-outranks"),
        pytest.param("BCD", "EA", errors.DisplacedOutOfOrder, "A", id="displaced-outranks-later"),
        pytest.param("AAB", "", errors.NotACandidate, "A", id="duplicate-selected"),
        pytest.param("ABC", "DD", errors.NotACandidate, "D", id="duplicate-displaced"),
        pytest.param("ABC", "DA", errors.NotACandidate, "A", id="selected-then-displaced"),
        pytest.param("AS", "", errors.NotACandidate, "S", id="stranger-selected"),
        pytest.param("ABC", "S", errors.NotACandidate, "S", id="stranger-displaced"),
    ],
)
def test_select_reverts(
    deployment, aggregator, stranger, candidates, closed, selected, displaced, error, culprit
):
    rid, _ = closed
    by = dict(zip("ABCDE", addresses(candidates), strict=True)) | {"S": stranger.address}
    with reverts(error, rid, by[culprit]):
        deployment.market.select(aggregator, rid, [by[x] for x in selected], [by[x] for x in displaced])
    assert deployment.market.request(rid).ranked == 0


def test_selection_split_over_several_calls(deployment, aggregator, candidates, closed):
    market = deployment.market
    rid, _ = closed
    a, b, c, d, e = addresses(candidates)

    first = market.select(aggregator, rid, [a])
    second = market.select(aggregator, rid, [b, c], [d])
    with reverts(errors.AlreadyCovered, rid, e):
        market.select(aggregator, rid, [e])
    third = market.select(aggregator, rid, [], [e])

    assert market.events(first, "SelectionCompleted") == market.events(second, "SelectionCompleted") == []
    assert [ev["args"]["prosumer"] for ev in market.events(second, "Selected")] == [b, c]
    (done,) = market.events(third, "SelectionCompleted")
    assert (done["args"]["participants"], done["args"]["committedW"]) == (3, POWER)
    assert market.commitment_of(rid, c).power_w == 1_000
    info = market.request(rid)
    assert (info.participants, info.ranked, info.committed_w) == (3, 5, POWER)


def test_order_is_checked_across_calls(deployment, aggregator, candidates, closed):
    rid, _ = closed
    a, b, c, d, e = addresses(candidates)
    deployment.market.select(aggregator, rid, [b])
    with reverts(errors.SelectionOutOfOrder, rid, a):
        deployment.market.select(aggregator, rid, [a])
    with reverts(errors.NotYetCovered, rid, a):
        deployment.market.select(aggregator, rid, [], [a])
    deployment.market.select(aggregator, rid, [c, d])
    with reverts(errors.DisplacedOutOfOrder, rid, a):  # the last ranked (D) is remembered
        deployment.market.select(aggregator, rid, [], [a])
    deployment.market.select(aggregator, rid, [], [e])


def test_settlement_waits_for_a_complete_selection(deployment, aggregator, clock, candidates, closed):
    market = deployment.market
    rid, s = closed
    a, b, c, d, e = addresses(candidates)
    market.select(aggregator, rid, [a, b, c], [d])
    clock.advance_to(s.end)
    with reverts(errors.SelectionIncomplete, rid, 4, 5):
        market.record_deliveries(aggregator, rid, [a], [2_000])
    with reverts(errors.SelectionIncomplete, rid, 4, 5):
        market.finalise(aggregator, rid)
    market.select(aggregator, rid, [], [e])
    market.record_deliveries(aggregator, rid, [a, b, c], [2_000, 2_000, 1_000])
    finalise_anchored(deployment, aggregator, rid, {a: 2_000, b: 2_000, c: 1_000})
    assert market.result(rid).compliant == 3


def test_an_uncoverable_request_selects_everyone(deployment, aggregator, clock, candidates):
    market = deployment.market
    rid, s = open_request(deployment, aggregator, clock, 20_000, strategy=Strategy.REPUTATION)
    apply_all(deployment, candidates, rid)
    clock.advance_to(s.deadline + 1)
    selected, displaced, committed = reference_selection(deployment, rid, candidates)
    assert (displaced, committed) == ([], 10_000)

    receipt = market.select(aggregator, rid, selected)

    (done,) = market.events(receipt, "SelectionCompleted")
    assert (done["args"]["participants"], done["args"]["committedW"]) == (5, 10_000)
    assert market.result(rid).committed_wh == 10_000


def test_a_request_without_candidates_finalises_empty(deployment, aggregator, clock, candidates):
    market = deployment.market
    rid, s = open_request(deployment, aggregator, clock, POWER, strategy=Strategy.REPUTATION)
    clock.advance_to(s.end)
    market.finalise(aggregator, rid)
    assert market.result(rid).participants == 0
    assert market.request(rid).status == RequestStatus.SETTLED


# ---------------------------------------------------------------- ties


@pytest.fixture
def tied(deployment, aggregator, prosumers, clock):
    """Four candidates with the same reputation: X offers 2 kW; Y, Z and W 1.5 kW, Z and W cheaper than Y.

    Ranking: X (more flexibility), then Z and W (tied: same offer and tariff), then Y (dearer)."""
    x, y, z, w = prosumers[:4]
    register(
        deployment,
        clock,
        [x, y, z, w],
        [
            make_terms(flex_up_w=2_000, tariff_up=TARIFF_UP),
            make_terms(flex_up_w=1_500, tariff_up=TARIFF_UP),
            make_terms(flex_up_w=1_500, tariff_up=TARIFF_UP - 1),
            make_terms(flex_up_w=1_500, tariff_up=TARIFF_UP - 1),
        ],
    )
    rid, s = open_request(deployment, aggregator, clock, 10_000, strategy=Strategy.REPUTATION)
    apply_all(deployment, [x, y, z, w], rid)
    clock.advance_to(s.deadline + 1)
    selected, _, _ = reference_selection(deployment, rid, [x, y, z, w])
    assert selected == [x.address, z.address, w.address, y.address]  # stable sort keeps Z before W
    return rid, dict(zip("XYZW", addresses([x, y, z, w]), strict=True))


@pytest.mark.parametrize("order", ["XZWY", "XWZY"], ids=["tie-one-way", "tie-other-way"])
def test_ties_may_come_in_either_order(deployment, aggregator, tied, order):
    rid, by = tied
    receipt = deployment.market.select(aggregator, rid, [by[c] for c in order])
    assert [e["args"]["prosumer"] for e in deployment.market.events(receipt, "Selected")] == [
        by[c] for c in order
    ]


@pytest.mark.parametrize(
    ("order", "culprit"),
    [("ZXWY", "X"), ("XYZW", "Z"), ("XZYW", "W")],
    ids=["more-flexibility-first", "lower-tariff-first", "lower-tariff-first-later"],
)
def test_ties_are_broken_by_flexibility_then_tariff(deployment, aggregator, tied, order, culprit):
    rid, by = tied
    with reverts(errors.SelectionOutOfOrder, rid, by[culprit]):
        deployment.market.select(aggregator, rid, [by[c] for c in order])


def test_reputation_outranks_flexibility_and_tariff(deployment, aggregator, prosumers, clock):
    """A candidate offering less at a higher tariff still ranks first with a better reputation."""
    good, cheap = prosumers[:2]
    register(
        deployment,
        clock,
        [good, cheap],
        [make_terms(flex_up_w=500, tariff_up=10**18), make_terms(flex_up_w=2_000, tariff_up=1)],
    )
    consented_renegotiate(
        deployment.registry,
        cheap,
        make_terms(flex_up_w=2_000, flex_down_w=1, tariff_up=1),
        clock.now() + DAY_S,
    )
    rid, s = open_request(
        deployment, aggregator, clock, 2_500, direction=Direction.UP, strategy=Strategy.REPUTATION
    )
    apply_all(deployment, [good, cheap], rid)
    clock.advance_to(s.deadline + 1)
    with reverts(errors.SelectionOutOfOrder, rid, good.address):
        deployment.market.select(aggregator, rid, [cheap.address, good.address])
    deployment.market.select(aggregator, rid, [good.address, cheap.address])
    assert deployment.market.commitment_of(rid, cheap.address).power_w == 2_000
