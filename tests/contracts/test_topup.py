"""The fair strategy's top-up round (issue 12): the share the decliners left is re-offered to the
accepters in proportion to their room, on chain and checked like the first round."""

from __future__ import annotations

import pytest

from contracts import errors
from contracts.types import DeclineReason, Response, Strategy
from tests.contracts import reference
from tests.contracts.factories import TARIFF_UP, make_terms
from tests.contracts.flows import accept_all, open_request, register, settle
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain

FLEX = [4_000, 2_000, 1_000, 600]  # flexibility up of A, B, C and D (capacity 8 kW: offers cap at 2 kW)
TOTAL = sum(FLEX)
POWER = 3_000


@pytest.fixture
def members(deployment, prosumers, clock):
    members = prosumers[:4]
    register(deployment, clock, members, [make_terms(flex_up_w=f, flex_down_w=0) for f in FLEX])
    return members


@pytest.fixture
def answered(deployment, aggregator, clock, members):
    """A, B and C accept a 3 kW up request; D declines; the deadline has passed."""
    rid, s = open_request(deployment, aggregator, clock, POWER)
    accept_all(deployment, members[:3], rid)
    deployment.market.decline(members[3], rid, DeclineReason.UNWILLING)
    clock.advance_to(s.deadline + 1)
    return rid, s


def expected() -> tuple[list[int], list[int], int, list[int]]:
    """Shares, rooms, the gap and the extras of A, B and C, from the reference rules."""
    shares = [reference.fair_share(POWER, f, TOTAL, 8_000) for f in FLEX[:3]]
    rooms = [reference.room(s, f, 8_000) for s, f in zip(shares, FLEX[:3], strict=True)]
    gap = POWER - sum(shares)
    extras = [reference.top_up(gap, r, sum(rooms)) for r in rooms]
    return shares, rooms, gap, extras


def test_the_declined_share_is_re_offered_in_proportion_to_room(
    deployment, aggregator, clock, members, answered
):
    market, token = deployment.market, deployment.token
    rid, s = answered
    shares, rooms, gap, extras = expected()
    assert (shares, rooms, gap) == ([1_578, 789, 394], [422, 1_211, 606], 239)
    addresses = [m.address for m in members[:3]]
    assert [market.commitment_of(rid, a).room_w for a in addresses] == rooms

    receipt = market.top_up(aggregator, rid, sum(rooms), addresses)

    topped = [dict(e["args"]) for e in market.events(receipt, "ToppedUp")]
    assert [(t["prosumer"], t["extraW"], t["committedW"]) for t in topped] == [
        (a, x, sh + x) for a, x, sh in zip(addresses, extras, shares, strict=True)
    ]
    assert extras == [45, 129, 64] and sum(extras) <= gap  # nobody asked beyond its room, gap not exceeded
    (done,) = market.events(receipt, "TopUpCompleted")
    assert (done["args"]["extraW"], done["args"]["committedW"]) == (sum(extras), sum(shares) + sum(extras))
    round_ = market.top_up_of(rid)
    assert (round_.gap_w, round_.counted, round_.declared_room_w, round_.summed_room_w) == (
        gap,
        3,
        2_239,
        2_239,
    )
    for a, sh, x in zip(addresses, shares, extras, strict=True):
        c = market.commitment_of(rid, a)
        assert (c.response, c.power_w) == (Response.TOPPED_UP, sh + x)
    # what each commits in total is what it is measured and paid on
    totals = {a: sh + x for a, sh, x in zip(addresses, shares, extras, strict=True)}
    settle(deployment, aggregator, clock, rid, s, {a: w * 3_600 // 3_600 for a, w in totals.items()})
    for a, w in totals.items():
        assert token.balance_of(a) == reference.payment(TARIFF_UP, w, 3_600)
    assert market.result(rid).committed_wh == sum(totals.values())


def test_a_round_split_over_calls_declares_one_total(deployment, aggregator, members, answered):
    market = deployment.market
    rid, _ = answered
    _, rooms, _, extras = expected()
    a, b, c = (m.address for m in members[:3])
    market.top_up(aggregator, rid, sum(rooms), [a])
    with reverts(errors.TopUpRoomChanged, rid, sum(rooms), sum(rooms) - 1):
        market.top_up(aggregator, rid, sum(rooms) - 1, [b, c])
    with reverts(errors.NotToppable, rid, a):
        market.top_up(aggregator, rid, sum(rooms), [b, a])
    receipt = market.top_up(aggregator, rid, sum(rooms), [b, c])
    assert [e["args"]["extraW"] for e in market.events(receipt, "ToppedUp")] == extras[1:]
    assert market.top_up_of(rid).counted == 3


def test_a_wrong_total_room_is_caught(deployment, aggregator, members, answered):
    """Declaring less room than there is would give the first ones more than their part: refused as soon
    as the rooms exceed it. Declaring more would give everyone less: refused when the round completes."""
    market = deployment.market
    rid, _ = answered
    _, rooms, _, _ = expected()
    a, b, c = (m.address for m in members[:3])
    with reverts(errors.TopUpRoomMismatch, rid, 1_000, 1_211):
        market.top_up(aggregator, rid, 1_000, [b])
    with reverts(errors.TopUpRoomMismatch, rid, sum(rooms) + 1, sum(rooms)):
        market.top_up(aggregator, rid, sum(rooms) + 1, [a, b, c])
    assert market.top_up_of(rid).counted == 0


def test_only_accepters_once_by_the_aggregator_between_deadline_and_start(
    deployment, aggregator, clock, members, stranger
):
    market = deployment.market
    rid, s = open_request(deployment, aggregator, clock, POWER)
    accept_all(deployment, members[:2], rid)
    market.decline(members[3], rid, DeclineReason.OUTAGE)
    a = members[0].address
    with reverts(errors.AcceptanceStillOpen, rid, s.deadline):
        market.top_up(aggregator, rid, 1, [a])
    clock.advance_to(s.deadline + 1)
    with reverts(errors.NotAggregator, stranger.address):
        market.top_up(stranger, rid, 1, [a])
    for who in (members[3].address, members[2].address, stranger.address):  # decliner, silent, outsider
        with reverts(errors.NotToppable, rid, who):
            market.top_up(aggregator, rid, 1, [who])
    clock.advance_to(s.start)
    with reverts(errors.AlreadyStarted, rid, s.start):
        market.top_up(aggregator, rid, 1, [a])


def test_a_reputation_request_has_no_top_up(deployment, aggregator, clock, members):
    rid, s = open_request(deployment, aggregator, clock, POWER, strategy=Strategy.REPUTATION)
    clock.advance_to(s.deadline + 1)
    with reverts(errors.WrongStrategy, rid, Strategy.REPUTATION):
        deployment.market.top_up(aggregator, rid, 1, [])


def test_settlement_waits_for_a_round_once_begun_and_not_otherwise(deployment, aggregator, clock, members):
    market = deployment.market
    _, rooms, _, _ = expected()
    rid, s = open_request(deployment, aggregator, clock, POWER)
    accept_all(deployment, members[:3], rid)
    clock.advance_to(s.deadline + 1)
    market.top_up(aggregator, rid, sum(rooms), [members[0].address])
    clock.advance_to(s.end)
    with reverts(errors.TopUpIncomplete, rid, 1, 3):
        market.record_deliveries(aggregator, rid, [members[0].address], [0])
    # without a round at all (no decliner, or no time), the first-round commitments are settled
    clock.advance_to(market.closable_at(rid))
    market.close_request(aggregator, rid)
    rid2, s2 = open_request(deployment, aggregator, clock, POWER)
    accept_all(deployment, members[:3], rid2)
    settle(deployment, aggregator, clock, rid2, s2, {m.address: 0 for m in members[:3]})
    assert market.result(rid2).participants == 3


def test_accept_up_to_limits_the_room(deployment, aggregator, clock, members):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, POWER)
    a, b = members[:2]
    share_a = reference.fair_share(POWER, FLEX[0], TOTAL, 8_000)
    with reverts(errors.LimitBelowShare, rid, share_a, share_a - 1):
        market.accept_up_to(a, rid, share_a - 1)
    market.accept_up_to(a, rid, share_a + 100)
    assert market.commitment_of(rid, a.address).room_w == 100
    market.accept_up_to(b, rid, 10**9)  # a limit above the offer: the offer caps the room
    share_b = reference.fair_share(POWER, FLEX[1], TOTAL, 8_000)
    assert market.commitment_of(rid, b.address).room_w == reference.room(share_b, FLEX[1], 8_000)


def test_an_over_booked_round_re_offers_the_gap_and_the_over_booking(
    deployment, aggregator, clock, members, answered
):
    """Over-booking (aggregator/booking.py): the round aims at `booked` > power, so it re-offers
    `booked - committed`; nobody gets more than its room, and the request stays the power."""
    market = deployment.market
    rid, s = answered
    shares, rooms, _, _ = expected()
    booked = POWER + POWER // 10
    gap = booked - sum(shares)
    extras = [reference.top_up(gap, r, sum(rooms)) for r in rooms]
    addresses = [m.address for m in members[:3]]
    market.top_up(aggregator, rid, sum(rooms), addresses, booked_w=booked)
    round_ = market.top_up_of(rid)
    assert (round_.gap_w, round_.booked_w, round_.extra_w) == (gap, booked, sum(extras))
    assert all(x <= r for x, r in zip(extras, rooms, strict=True))
    committed = sum(shares) + sum(extras)
    assert POWER < committed <= booked
    assert market.request(rid).committed_w == committed
    settle(deployment, aggregator, clock, rid, s, {a: 0 for a in addresses})
    assert market.result(rid).requested_wh == POWER  # one hour: W = Wh; the request is unchanged


def test_a_booking_is_between_the_power_and_a_quarter_more_and_the_same_on_every_call(
    deployment, aggregator, members, answered
):
    market = deployment.market
    rid, _ = answered
    _, rooms, _, _ = expected()
    a, b, c = (m.address for m in members[:3])
    with reverts(errors.BookingOutOfBounds, rid, POWER, POWER - 1):
        market.top_up(aggregator, rid, sum(rooms), [a], booked_w=POWER - 1)
    with reverts(errors.BookingOutOfBounds, rid, POWER, POWER + POWER // 4 + 1):
        market.top_up(aggregator, rid, sum(rooms), [a], booked_w=POWER + POWER // 4 + 1)
    market.top_up(aggregator, rid, sum(rooms), [a], booked_w=POWER + POWER // 4)
    with reverts(errors.BookingOutOfBounds, rid, POWER, POWER):
        market.top_up(aggregator, rid, sum(rooms), [b, c])  # 0: the power, not the round's booking
    market.top_up(aggregator, rid, sum(rooms), [b, c], booked_w=POWER + POWER // 4)
    assert market.top_up_of(rid).booked_w == POWER + POWER // 4
