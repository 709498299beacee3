"""FlexibilityMarket, fair strategy: open, accept or decline, modify, cancel, settle, finalise."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts import errors
from contracts.types import (
    Commitment,
    DeclineReason,
    Direction,
    RequestInfo,
    RequestResult,
    RequestStatus,
    Response,
    Strategy,
)
from tests.contracts import reference
from tests.contracts.consent import register as consented_register
from tests.contracts.consent import renegotiate as consented_renegotiate
from tests.contracts.factories import DAY_S, TARIFF_DOWN, TARIFF_UP, make_schedule, make_terms
from tests.contracts.flows import accept_all, finalise_anchored, open_request, register
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain

# Flexibility up / down of four prosumers (capacity 8 kW each, so at most 2 kW committed).
FLEX = [(4_000, 1_000), (2_000, 3_000), (1_000, 500), (600, 0)]
TOTAL_UP, TOTAL_DOWN = sum(u for u, _ in FLEX), sum(d for _, d in FLEX)


@pytest.fixture
def members(deployment, prosumers, clock):
    """Four registered prosumers with the flexibility in FLEX."""
    members = prosumers[:4]
    register(deployment, clock, members, [make_terms(flex_up_w=u, flex_down_w=d) for u, d in FLEX])
    return members


@pytest.fixture
def newcomer(prosumers):
    """A prosumer that is not one of the members."""
    return prosumers[4]


@pytest.fixture
def fair(deployment, aggregator, clock, members):
    """An open fair UP request for 3 kW, one hour; returns (request id, schedule)."""
    return open_request(deployment, aggregator, clock, 3_000)


# ---------------------------------------------------------------- open


def test_open_request_snapshots_the_totals(deployment, aggregator, clock, members):
    market = deployment.market
    s = make_schedule(clock.now(), deadline_in=100, start_in=300, duration_s=1_800, window_s=900)

    rid, receipt = market.open_request(
        aggregator, Direction.DOWN, 2_500, s.duration_s, s.start, s.end, s.deadline, Strategy.FAIR
    )

    (event,) = market.events(receipt, "FlexibilityRequested")
    assert dict(event["args"]) == dict(
        requestId=rid,
        direction=Direction.DOWN,
        strategy=Strategy.FAIR,
        powerW=2_500,
        durationS=1_800,
        start=s.start,
        end=s.end,
        deadline=s.deadline,
        totalFlexW=TOTAL_DOWN,
    )
    assert market.request(rid) == RequestInfo(
        request_id=rid,
        status=RequestStatus.OPEN,
        strategy=Strategy.FAIR,
        direction=Direction.DOWN,
        power_w=2_500,
        deadline=s.deadline,
        opened_block=receipt.block_number,
        total_flex_w=TOTAL_DOWN,
        joined=0,
        committed_w=0,
        start=s.start,
        end=s.end,
        duration_s=1_800,
        participants=0,
        ranked=0,
        recorded=0,
        compliant=0,
    )
    assert market.current_request_id() == rid == market.request_count() == 1


def schedule_args(now: int, **overrides) -> dict:
    s = make_schedule(now)
    args = dict(power_w=1_000, duration_s=s.duration_s, start=s.start, end=s.end, deadline=s.deadline)
    args.update({k: (now + v if k in ("start", "end", "deadline") else v) for k, v in overrides.items()})
    return args


OPEN_REVERTS = [
    pytest.param(dict(power_w=0), errors.ZeroPower, None, id="zero-power"),
    pytest.param(dict(duration_s=0), errors.ZeroDuration, None, id="zero-duration"),
    pytest.param(dict(deadline=-1), errors.InvalidSchedule, "schedule", id="deadline-past"),
    pytest.param(
        dict(deadline=100, start=99, end=200), errors.InvalidSchedule, "schedule", id="start-before-deadline"
    ),
    pytest.param(
        dict(deadline=100, start=150, end=150), errors.InvalidSchedule, "schedule", id="empty-window"
    ),
    pytest.param(
        dict(deadline=100, start=150, end=149), errors.InvalidSchedule, "schedule", id="end-before-start"
    ),
]


@pytest.mark.parametrize(("overrides", "error", "kind"), OPEN_REVERTS)
def test_open_request_rejects_bad_schedules(market, aggregator, clock, members, overrides, error, kind):
    now = clock.now()
    a = schedule_args(now, **overrides)
    with pytest.raises(error) as info:
        market.open_request(
            aggregator,
            Direction.UP,
            a["power_w"],
            a["duration_s"],
            a["start"],
            a["end"],
            a["deadline"],
            Strategy.FAIR,
        )
    assert type(info.value) is error
    if kind == "schedule":
        now_ts, deadline, start, end = info.value.error_args
        assert (deadline, start, end) == (a["deadline"], a["start"], a["end"])
        assert now <= now_ts <= now + 5
    else:
        assert info.value.error_args == ()
    assert market.request_count() == 0


def test_a_schedule_may_start_at_its_deadline(market, aggregator, clock, members):
    now = clock.now()
    rid, _ = market.open_request(aggregator, Direction.UP, 1, 1, now + 60, now + 61, now + 60, Strategy.FAIR)
    assert market.request(rid).start == market.request(rid).deadline


@pytest.mark.parametrize("direction", list(Direction))
def test_open_request_needs_flexibility(deployment, aggregator, prosumer, clock, direction):
    market = deployment.market
    s = make_schedule(clock.now())
    args = (direction, 1_000, s.duration_s, s.start, s.end, s.deadline, Strategy.FAIR)
    with reverts(errors.NoFlexibilityAvailable, direction):
        market.open_request(aggregator, *args)
    other = {Direction.UP: dict(flex_up_w=0), Direction.DOWN: dict(flex_down_w=0)}[direction]
    register(deployment, clock, [prosumer], make_terms(**other))
    with reverts(errors.NoFlexibilityAvailable, direction):
        market.open_request(aggregator, *args)


def test_only_the_aggregator_opens(market, stranger, owner, clock, members):
    s = make_schedule(clock.now())
    for sender in (stranger, owner, members[0]):
        with reverts(errors.NotAggregator, sender.address):
            market.open_request(
                sender, Direction.UP, 1, s.duration_s, s.start, s.end, s.deadline, Strategy.FAIR
            )


def test_one_open_request_at_a_time(deployment, aggregator, clock, fair):
    rid, _ = fair
    for strategy in Strategy:
        with reverts(errors.RequestStillOpen, rid):
            open_request(deployment, aggregator, clock, 1_000, strategy=strategy)
    assert deployment.market.request_count() == 1


# ---------------------------------------------------------------- accept and decline


@pytest.mark.parametrize("direction", list(Direction))
def test_accept_commits_the_fair_share(deployment, aggregator, clock, members, direction):
    market = deployment.market
    power = 5_000
    rid, _ = open_request(deployment, aggregator, clock, power, direction=direction)
    total = TOTAL_UP if direction == Direction.UP else TOTAL_DOWN
    tariff = TARIFF_UP if direction == Direction.UP else TARIFF_DOWN
    joining = [(m, f[direction]) for m, f in zip(members, FLEX, strict=True) if f[direction] > 0]

    receipts = accept_all(deployment, [m for m, _ in joining], rid)

    expected = {m.address: reference.fair_share(power, flex, total, 8_000) for m, flex in joining}
    assert 2_000 in expected.values()  # one share is capped at 25 % of capacity
    for (m, _), receipt in zip(joining, receipts, strict=True):
        (event,) = market.events(receipt, "Accepted")
        assert dict(event["args"]) == dict(requestId=rid, prosumer=m.address, powerW=expected[m.address])
        c = market.commitment_of(rid, m.address)
        flex = dict(joining)[m]
        room = reference.room(expected[m.address], flex, 8_000)
        assert c == Commitment(Response.ACCEPTED, expected[m.address], tariff, 0, 0, room)
    info = market.request(rid)
    assert info.joined == len(joining)
    assert info.committed_w == sum(expected.values())
    assert info.total_flex_w == total


def test_the_share_is_capped_at_a_quarter_of_capacity(deployment, aggregator, prosumers, clock):
    big, small = prosumers[:2]
    register(
        deployment,
        clock,
        [big, small],
        [make_terms(capacity_w=10_000, flex_up_w=9_000), make_terms(capacity_w=10_000, flex_up_w=1_000)],
    )
    rid, _ = open_request(deployment, aggregator, clock, 10_000)
    accept_all(deployment, [big, small], rid)
    assert deployment.market.commitment_of(rid, big.address).power_w == 2_500  # not 9_000
    assert deployment.market.commitment_of(rid, small.address).power_w == 1_000
    assert deployment.market.request(rid).committed_w == 3_500


def test_registered_after_the_request_opened(deployment, newcomer, clock, members, fair):
    rid, _ = fair
    late = newcomer
    receipt = consented_register(deployment.registry, late, make_terms(), clock.now() + DAY_S)
    opened = deployment.market.request(rid).opened_block
    with reverts(errors.RegisteredAfterOpen, late.address, receipt.block_number, opened):
        deployment.market.accept(late, rid)
    assert deployment.market.request(rid).total_flex_w == TOTAL_UP  # the snapshot did not move


def test_expire_before_opening_keeps_lapsed_flexibility_out_of_the_snapshot(
    deployment, aggregator, prosumers, stranger, clock
):
    active, lapsed = prosumers[:2]
    consented_register(deployment.registry, active, make_terms(flex_up_w=2_000), clock.now() + DAY_S)
    consented_register(deployment.registry, lapsed, make_terms(flex_up_w=2_000), clock.now() + 100)
    clock.advance(200)
    deployment.registry.expire(stranger, [lapsed.address])
    rid, _ = open_request(deployment, aggregator, clock, 1_000)
    assert deployment.market.request(rid).total_flex_w == 2_000
    deployment.market.accept(active, rid)
    assert deployment.market.commitment_of(rid, active.address).power_w == 1_000


def test_opening_with_the_lapsed_list_counts_only_active_flexibility(
    deployment, aggregator, prosumers, clock
):
    active, lapsed = prosumers[:2]
    consented_register(deployment.registry, active, make_terms(flex_up_w=2_000), clock.now() + DAY_S)
    consented_register(deployment.registry, lapsed, make_terms(flex_up_w=2_000), clock.now() + 100)
    clock.advance(200)  # `lapsed` is no longer active; nobody called `expire`
    assert not deployment.registry.is_active(lapsed.address)
    assert deployment.registry.totals()[0] == 4_000
    s = make_schedule(clock.now())
    rid, receipt = deployment.market.open_request(
        aggregator, Direction.UP, 1_000, s.duration_s, s.start, s.end, s.deadline, Strategy.FAIR,
        lapsed=[lapsed.address, active.address],
    )  # fmt: skip
    (expired,) = deployment.registry.events(receipt, "Expired")  # the active one is skipped
    assert expired["args"]["prosumer"] == lapsed.address
    assert deployment.registry.totals() == (2_000, 2_000, 1)
    deployment.market.accept(active, rid)
    assert deployment.market.request(rid).total_flex_w == 2_000
    assert deployment.market.commitment_of(rid, active.address).power_w == 1_000


def test_renegotiated_after_the_request_opened(deployment, members, clock, fair):
    rid, _ = fair
    m = members[0]
    receipt = consented_renegotiate(deployment.registry, m, make_terms(flex_up_w=8_000), clock.now() + DAY_S)
    with reverts(
        errors.RegisteredAfterOpen,
        m.address,
        receipt.block_number,
        deployment.market.request(rid).opened_block,
    ):
        deployment.market.accept(m, rid)


def test_accept_reverts(deployment, aggregator, prosumers, stranger, clock, members, fair):
    market = deployment.market
    rid, s = fair
    a, b, c = members[:3]
    market.accept(a, rid)
    market.decline(b, rid, DeclineReason.OUTAGE)
    with reverts(errors.AlreadyResponded, rid, a.address, Response.ACCEPTED):
        market.accept(a, rid)
    with reverts(errors.AlreadyResponded, rid, b.address, Response.DECLINED):
        market.accept(b, rid)
    with reverts(errors.NotActive, stranger.address):
        market.accept(stranger, rid)
    with reverts(errors.UnknownRequest, 99):
        market.accept(c, 99)
    with reverts(errors.WrongStrategy, rid, Strategy.FAIR):
        market.apply_for(c, rid)
    clock.advance_to(s.deadline + 1)
    with reverts(errors.AcceptanceClosed, rid, s.deadline):
        market.accept(c, rid)
    assert market.request(rid).joined == 1


def test_accept_at_the_deadline(deployment, members, clock, fair):
    rid, s = fair
    clock.rpc("evm_setNextBlockTimestamp", s.deadline)
    receipt = deployment.market.accept(members[0], rid)
    assert deployment.market.chain.w3.eth.get_block(receipt.block_number)["timestamp"] == s.deadline


@pytest.mark.parametrize("how", ["expired", "removed", "terminated"])
def test_an_inactive_prosumer_cannot_accept(deployment, aggregator, newcomer, clock, members, how):
    prosumer = newcomer
    registry, market = deployment.registry, deployment.market
    consented_register(registry, prosumer, make_terms(), clock.now() + 30)
    rid, s = open_request(deployment, aggregator, clock, 1_000, deadline_in=100)
    if how == "expired":
        clock.advance(40)
    elif how == "removed":
        registry.remove(prosumer)
    else:
        registry.terminate(aggregator, prosumer.address)
    with reverts(errors.NotActive, prosumer.address):
        market.accept(prosumer, rid)


@pytest.mark.parametrize(
    "terms",
    [make_terms(flex_up_w=0), make_terms(capacity_w=3, flex_up_w=3, flex_down_w=3, expected_wh_per_day=72)],
    ids=["no-flex-in-direction", "capacity-below-4-watt"],
)
def test_nothing_to_commit(deployment, aggregator, newcomer, clock, members, terms):
    prosumer = newcomer
    register(deployment, clock, [prosumer], terms)
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    with reverts(errors.NothingToCommit, prosumer.address):
        deployment.market.accept(prosumer, rid)


def test_a_rounded_down_share_of_zero_is_nothing_to_commit(deployment, aggregator, prosumers, clock):
    tiny, big = prosumers[:2]
    register(deployment, clock, [tiny, big], [make_terms(flex_up_w=1), make_terms(flex_up_w=2_000)])
    rid, _ = open_request(deployment, aggregator, clock, 1_000)  # 1000 * 1 / 2001 rounds to 0
    with reverts(errors.NothingToCommit, tiny.address):
        deployment.market.accept(tiny, rid)


def test_decline_with_a_reason(deployment, members, stranger, fair):
    market = deployment.market
    rid, _ = fair
    receipt = market.decline(members[0], rid, DeclineReason.STATE_OF_CHARGE)

    (event,) = market.events(receipt, "Declined")
    assert dict(event["args"]) == dict(requestId=rid, prosumer=members[0].address, reason=3)
    assert market.commitment_of(rid, members[0].address).response == Response.DECLINED
    assert market.request(rid).joined == 0
    # The codes are those of DeclineReason; any other is refused.
    (event,) = market.events(market.decline(members[1], rid, max(DeclineReason)), "Declined")
    assert event["args"]["reason"] == DeclineReason.UNWILLING == 5
    for code in (6, 255):
        with reverts(errors.UnknownDeclineReason, code):
            market.decline(members[2], rid, code)
    with reverts(errors.NotActive, stranger.address):  # outsiders cannot skew the answers
        market.decline(stranger, rid, DeclineReason.UNWILLING)


def test_decline_reverts(deployment, members, clock, fair):
    market = deployment.market
    rid, s = fair
    market.accept(members[0], rid)
    with reverts(errors.AlreadyResponded, rid, members[0].address, Response.ACCEPTED):
        market.decline(members[0], rid, 1)
    with reverts(errors.UnknownRequest, 99):
        market.decline(members[1], 99, 1)
    clock.advance_to(s.deadline + 1)
    with reverts(errors.AcceptanceClosed, rid, s.deadline):
        market.decline(members[1], rid, 1)


# ---------------------------------------------------------------- cancel and modify


def test_cancel_before_start(deployment, aggregator, clock, members, fair):
    market = deployment.market
    rid, _ = fair
    market.accept(members[0], rid)

    receipt = market.cancel_request(aggregator, rid)

    (event,) = market.events(receipt, "RequestCancelled")
    assert event["args"]["requestId"] == rid
    assert market.request(rid).status == RequestStatus.CANCELLED
    assert market.current_request_id() == 0
    with reverts(errors.RequestNotOpen, rid, RequestStatus.CANCELLED):
        market.accept(members[1], rid)
    with reverts(errors.RequestNotOpen, rid, RequestStatus.CANCELLED):
        market.cancel_request(aggregator, rid)
    rid2, _ = open_request(deployment, aggregator, clock, 1_000)
    assert rid2 == rid + 1 == market.current_request_id()


def test_cancel_reverts(deployment, aggregator, stranger, clock, fair):
    market = deployment.market
    rid, s = fair
    with reverts(errors.NotAggregator, stranger.address):
        market.cancel_request(stranger, rid)
    with reverts(errors.UnknownRequest, 99):
        market.cancel_request(aggregator, 99)
    clock.advance_to(s.start)
    with reverts(errors.AlreadyStarted, rid, s.start):
        market.cancel_request(aggregator, rid)
    assert market.request(rid).status == RequestStatus.OPEN


def test_modify_before_start(deployment, aggregator, clock, fair):
    market = deployment.market
    rid, _ = fair
    before = market.request(rid)
    s = make_schedule(clock.now(), deadline_in=200, start_in=400, duration_s=900, window_s=1_200)

    receipt = market.modify_request(aggregator, rid, 4_000, s.duration_s, s.start, s.end, s.deadline)

    (event,) = market.events(receipt, "RequestModified")
    assert dict(event["args"]) == dict(
        requestId=rid, powerW=4_000, durationS=900, start=s.start, end=s.end, deadline=s.deadline
    )
    assert market.request(rid) == replace(
        before, power_w=4_000, duration_s=900, start=s.start, end=s.end, deadline=s.deadline
    )


def test_modify_after_a_join_keeps_the_power(deployment, aggregator, clock, members, fair):
    market = deployment.market
    rid, s = fair
    market.accept(members[0], rid)
    with reverts(errors.TermsChangeAfterJoin, rid, 1):
        market.modify_request(aggregator, rid, 3_001, *s.args())
    with reverts(errors.TermsChangeAfterJoin, rid, 1):
        market.modify_request(aggregator, rid, 3_000, s.duration_s + 60, s.start, s.end, s.deadline)
    later = make_schedule(clock.now(), deadline_in=300, start_in=600)
    market.modify_request(aggregator, rid, 3_000, *later.args())  # timing may still move
    assert market.request(rid).deadline == later.deadline
    assert market.request(rid).joined == 1


MODIFY_REVERTS = [
    pytest.param(dict(power_w=0), errors.ZeroPower, id="zero-power"),
    pytest.param(dict(duration_s=0), errors.ZeroDuration, id="zero-duration"),
    pytest.param(dict(deadline=-1), errors.InvalidSchedule, id="deadline-past"),
    pytest.param(dict(deadline=100, start=50, end=200), errors.InvalidSchedule, id="start-before-deadline"),
]


@pytest.mark.parametrize(("overrides", "error"), MODIFY_REVERTS)
def test_modify_rejects_bad_schedules(market, aggregator, clock, fair, overrides, error):
    rid, s = fair
    a = schedule_args(clock.now(), **overrides)
    with pytest.raises(error):
        market.modify_request(
            aggregator, rid, a["power_w"], a["duration_s"], a["start"], a["end"], a["deadline"]
        )
    assert market.request(rid).deadline == s.deadline


def test_modify_reverts(deployment, aggregator, stranger, clock, fair):
    market = deployment.market
    rid, s = fair
    with reverts(errors.NotAggregator, stranger.address):
        market.modify_request(stranger, rid, 3_000, *s.args())
    with reverts(errors.UnknownRequest, 99):
        market.modify_request(aggregator, 99, 3_000, *s.args())
    clock.advance_to(s.deadline + 1)  # once answers are closed, ranking may begin: nothing changes
    later = make_schedule(clock.now())
    with reverts(errors.AcceptanceClosed, rid, s.deadline):
        market.modify_request(aggregator, rid, 3_000, *later.args())
    clock.advance_to(s.start)
    with reverts(errors.AcceptanceClosed, rid, s.deadline):
        market.modify_request(aggregator, rid, 3_000, *make_schedule(clock.now()).args())


# ---------------------------------------------------------------- the whole flow


def test_fair_flow_from_open_to_finalise(deployment, aggregator, clock, members):
    d, market, token, registry = deployment, deployment.market, deployment.token, deployment.registry
    power, duration = 3_000, 3_600
    rid, s = open_request(d, aggregator, clock, power, duration_s=duration)
    a, b, c, e = members
    accept_all(d, [a, b, c], rid)
    market.decline(e, rid, DeclineReason.UNWILLING)
    shares = {
        m.address: reference.fair_share(power, f[0], TOTAL_UP, 8_000)
        for m, f in zip(members[:3], FLEX, strict=False)
    }
    assert list(shares.values()) == [1_578, 789, 394]
    committed_wh = {p: w * duration // 3600 for p, w in shares.items()}
    delivered = {
        a.address: committed_wh[a.address],  # exact
        b.address: committed_wh[b.address] * 95 // 100,  # 5 % short: compliant
        c.address: committed_wh[c.address] // 2,  # half: penalised
    }

    with reverts(errors.WindowNotOver, rid, s.end):
        market.record_deliveries(aggregator, rid, list(delivered), list(delivered.values()))
    clock.advance_to(s.end)
    receipt = market.record_deliveries(aggregator, rid, list(delivered), list(delivered.values()))

    pay = {
        p: reference.payment(TARIFF_UP, shares[p], duration)
        if reference.is_compliant(shares[p], duration, wh)
        else 0
        for p, wh in delivered.items()
    }
    assert [v > 0 for v in pay.values()] == [True, True, False]
    records = [dict(ev["args"]) for ev in market.events(receipt, "DeliveryRecorded")]
    assert records == [
        dict(
            requestId=rid,
            prosumer=p,
            committedW=shares[p],
            deliveredWh=delivered[p],
            compliant=pay[p] > 0,
            payment=pay[p],
        )
        for p in delivered
    ]
    mints = [(ev["args"]["to"], ev["args"]["value"]) for ev in token.events(receipt, "Transfer")]
    assert mints == [(p, v) for p, v in pay.items() if v]
    for p, v in pay.items():
        assert token.balance_of(p) == v
        response = Response.COMPLIANT if v else Response.PENALISED
        flex = dict(zip((m.address for m in members), (f[0] for f in FLEX), strict=True))[p]
        room = reference.room(shares[p], flex, 8_000)
        assert market.commitment_of(rid, p) == Commitment(
            response, shares[p], TARIFF_UP, delivered[p], 0, room
        )
        counters = (1, 1, 0, 0) if v else (0, 1, 0, 1)  # compliant, participations, down, penalties
        assert registry.reputation(p) == reference.reputation(*counters)
    assert registry.reputation(e.address) == 500  # declining costs nothing
    assert token.balance_of(e.address) == 0

    with reverts(errors.AnchorRequired, rid, 3):  # settled deliveries are anchored (issue 16)
        market.finalise(aggregator, rid)
    final = finalise_anchored(d, aggregator, rid, delivered)

    (settled,) = market.events(final, "RequestSettled")
    result = market.result(rid)
    assert result.requested_wh == power * duration // 3600
    assert result.committed_wh == sum(shares.values()) * duration // 3600
    assert result.delivered_wh == sum(delivered.values())
    assert (result.participants, result.compliant, result.paid) == (3, 2, sum(pay.values()))
    assert dict(settled["args"]) == dict(
        requestId=rid,
        requestedWh=result.requested_wh,
        committedWh=result.committed_wh,
        deliveredWh=result.delivered_wh,
        participants=3,
        compliant=2,
        paid=result.paid,
    )
    assert token.total_supply() == result.paid
    info = market.request(rid)
    assert (info.status, info.recorded, info.compliant) == (RequestStatus.SETTLED, 3, 2)
    assert market.current_request_id() == 0
    with reverts(errors.RequestNotOpen, rid, RequestStatus.SETTLED):
        market.record_deliveries(aggregator, rid, [a.address], [1])
    with reverts(errors.RequestNotOpen, rid, RequestStatus.SETTLED):
        market.finalise(aggregator, rid)
    assert open_request(d, aggregator, clock, 1_000)[0] == rid + 1


def test_a_request_nobody_accepted_finalises_empty(deployment, aggregator, clock, members, fair):
    market = deployment.market
    rid, s = fair
    market.decline(members[0], rid, DeclineReason.OUTAGE)
    with reverts(errors.WindowNotOver, rid, s.end):
        market.finalise(aggregator, rid)
    clock.advance_to(s.end)
    market.finalise(aggregator, rid)
    assert market.result(rid) == RequestResult(3_000, 0, 0, 0, 0, 0)


def test_settlement_reverts(deployment, aggregator, stranger, clock, members, fair):
    market = deployment.market
    rid, s = fair
    a, b, c = members[:3]
    accept_all(deployment, [a, b], rid)
    market.decline(c, rid, DeclineReason.OUTAGE)
    clock.advance_to(s.end)
    with reverts(errors.NotAggregator, stranger.address):
        market.record_deliveries(stranger, rid, [a.address], [1])
    with reverts(errors.NotAggregator, stranger.address):
        market.finalise(stranger, rid)
    with reverts(errors.LengthMismatch, 2, 1):
        market.record_deliveries(aggregator, rid, [a.address, b.address], [1])
    with reverts(errors.UnknownRequest, 99):
        market.record_deliveries(aggregator, 99, [a.address], [1])
    for outsider in (stranger, c):  # never joined; declined
        with reverts(errors.NotAParticipant, rid, outsider.address):
            market.record_deliveries(aggregator, rid, [outsider.address], [1])
    with reverts(errors.NotAParticipant, rid, a.address):  # the same participant twice in one batch
        market.record_deliveries(aggregator, rid, [a.address, a.address], [1, 1])
    with reverts(errors.UnsettledParticipants, rid, 0, 2):
        market.finalise(aggregator, rid)
    market.record_deliveries(aggregator, rid, [a.address], [1])
    with reverts(errors.NotAParticipant, rid, a.address):  # and again in a later batch
        market.record_deliveries(aggregator, rid, [a.address], [1])
    with reverts(errors.UnsettledParticipants, rid, 1, 2):
        market.finalise(aggregator, rid)
    market.record_deliveries(aggregator, rid, [b.address], [1])
    finalise_anchored(deployment, aggregator, rid, {a.address: 1, b.address: 1})
    assert market.result(rid).participants == 2
