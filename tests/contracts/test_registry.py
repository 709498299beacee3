"""Registry: the prosumer life cycle, totals, expiry and reputation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts import errors
from contracts.types import Counters, Direction, Registration, SourceKind, Terms
from tests.contracts import reference
from tests.contracts.consent import grant
from tests.contracts.consent import register as consented_register
from tests.contracts.consent import renegotiate as consented_renegotiate
from tests.contracts.factories import DAY_S, make_terms
from tests.contracts.flows import register, run_fair_request
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain


def eligibility(registry, address: str, direction: Direction) -> tuple:
    return tuple(registry.chain.call(registry.contract.functions.eligibility(address, int(direction))))


def terms_from_event(struct) -> Terms:
    """Events decode a struct into a dict (field name -> value); `Terms.from_tuple` wants a tuple."""
    return Terms.from_tuple(tuple(struct.values()))


def totals_of(terms: list[Terms]) -> tuple[int, int, int]:
    return sum(t.flex_up_w for t in terms), sum(t.flex_down_w for t in terms), len(terms)


# ---------------------------------------------------------------- register


def test_register_stores_the_terms_and_emits_registered(registry, prosumer, clock):
    terms = make_terms(
        kind=SourceKind.WIND,
        capacity_w=10_000,
        expected_wh_per_day=-5_000,
        flex_up_w=2_500,
        flex_down_w=1_000,
        max_duration_s=1_800,
        tariff_up=123,
        tariff_down=456,
    )
    expiry = clock.now() + DAY_S

    receipt = consented_register(registry, prosumer, terms, expiry)

    (event,) = registry.events(receipt, "Registered")
    assert event["args"]["prosumer"] == prosumer.address
    assert terms_from_event(event["args"]["terms"]) == terms
    assert event["args"]["expiry"] == expiry
    assert registry.registration_of(prosumer.address) == Registration(
        terms, expiry, receipt.block_number, True
    )
    assert registry.is_active(prosumer.address)
    assert registry.totals() == (2_500, 1_000, 1)
    assert registry.counters(prosumer.address) == Counters(0, 0, 0, 0)
    assert registry.reputation(prosumer.address) == reference.REPUTATION_BASE
    # (active, terms block, capacity, flexibility, tariff, longest duration) in each direction
    up, down = (eligibility(registry, prosumer.address, d) for d in Direction)
    assert up == (True, receipt.block_number, 10_000, 2_500, 123, 1_800)
    assert down == (True, receipt.block_number, 10_000, 1_000, 456, 1_800)


def test_an_unknown_account_is_inactive_with_empty_terms(registry, stranger):
    assert not registry.is_active(stranger.address)
    assert registry.registration_of(stranger.address) == Registration(
        make_terms(
            kind=SourceKind.SOLAR,
            capacity_w=0,
            expected_wh_per_day=0,
            flex_up_w=0,
            flex_down_w=0,
            max_duration_s=0,
            tariff_up=0,
            tariff_down=0,
        ),
        0,
        0,
        False,
    )
    assert eligibility(registry, stranger.address, Direction.UP) == (False, 0, 0, 0, 0, 0)
    assert registry.reputation(stranger.address) == 500


TERMS_REVERTS = [
    pytest.param(dict(capacity_w=0, flex_up_w=0, flex_down_w=0), errors.ZeroCapacity, (), id="zero-capacity"),
    pytest.param(
        dict(capacity_w=1_000, flex_up_w=1_001, flex_down_w=0),
        errors.FlexibilityExceedsCapacity,
        (1_001, 1_000),
        id="flex-up-over-capacity",
    ),
    pytest.param(
        dict(capacity_w=1_000, flex_up_w=1_000, flex_down_w=1_001),
        errors.FlexibilityExceedsCapacity,
        (1_001, 1_000),
        id="flex-down-over-capacity",
    ),
]


@pytest.mark.parametrize(("overrides", "error", "args"), TERMS_REVERTS)
def test_register_rejects_bad_terms(registry, prosumer, clock, overrides, error, args):
    with reverts(error, *args):
        consented_register(registry, prosumer, make_terms(**overrides), clock.now() + DAY_S)
    assert registry.totals() == (0, 0, 0)


@pytest.mark.parametrize(("overrides", "error", "args"), TERMS_REVERTS)
def test_renegotiate_rejects_bad_terms(deployment, prosumer, clock, overrides, error, args):
    register(deployment, clock, [prosumer])
    with reverts(error, *args):
        consented_renegotiate(deployment.registry, prosumer, make_terms(**overrides), clock.now() + DAY_S)
    assert deployment.registry.totals() == (2_000, 2_000, 1)


@pytest.mark.parametrize("offset", [0, -1, -DAY_S], ids=["now", "one-second-ago", "yesterday"])
@pytest.mark.parametrize("action", ["register", "renegotiate"])
def test_expiry_must_lie_in_the_future(registry, prosumer, clock, offset, action):
    if action == "renegotiate":
        consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)
    now = clock.now()
    consent = grant(registry, prosumer.address, make_terms(), now + offset)
    with pytest.raises(errors.ExpiryNotInFuture) as info:
        getattr(registry, action)(prosumer, make_terms(), now + offset, consent)
    expiry, now_ts = info.value.error_args
    assert expiry == now + offset
    assert now <= now_ts <= now + 5  # the block time the node used for the estimate


def test_one_active_registration_per_account(registry, prosumer, clock):
    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)
    with reverts(errors.AlreadyRegistered, prosumer.address):
        consented_register(registry, prosumer, make_terms(flex_up_w=100), clock.now() + 2 * DAY_S)
    assert registry.totals() == (2_000, 2_000, 1)


# ---------------------------------------------------------------- renegotiate

RENEGOTIATIONS = [
    pytest.param({}, dict(flex_up_w=1_999), True, id="flex-up-lower"),
    pytest.param({}, dict(flex_down_w=1_999), True, id="flex-down-lower"),
    pytest.param({}, dict(expected_wh_per_day=19_999), True, id="expected-energy-lower"),
    pytest.param(
        dict(expected_wh_per_day=-20_000),
        dict(expected_wh_per_day=-19_999),
        True,
        id="consumption-magnitude-lower",
    ),
    pytest.param({}, dict(flex_up_w=2_500, flex_down_w=1_500), True, id="one-up-one-down"),
    pytest.param({}, {}, False, id="renewal-same-terms"),
    pytest.param({}, dict(flex_up_w=2_001, flex_down_w=2_001), False, id="flexibility-higher"),
    pytest.param({}, dict(expected_wh_per_day=-20_000), False, id="sign-flip-same-magnitude"),
    pytest.param(
        dict(expected_wh_per_day=-20_000),
        dict(expected_wh_per_day=-30_000),
        False,
        id="consumption-magnitude-higher",
    ),
    pytest.param({}, dict(capacity_w=4_000), False, id="capacity-lower-flex-kept"),
    pytest.param(
        {},
        dict(tariff_up=10**18, kind=SourceKind.BATTERY, max_duration_s=60),
        False,
        id="tariff-kind-duration",
    ),
]


@pytest.mark.parametrize(("old_overrides", "new_overrides", "downward"), RENEGOTIATIONS)
def test_renegotiate_detects_downward_revisions(
    registry, prosumer, clock, old_overrides, new_overrides, downward
):
    old = make_terms(**old_overrides)
    new = replace(old, **new_overrides)
    assert reference.is_downward(old, new) is downward
    consented_register(registry, prosumer, old, clock.now() + DAY_S)
    expiry = clock.now() + 2 * DAY_S

    receipt = consented_renegotiate(registry, prosumer, new, expiry)

    (event,) = registry.events(receipt, "Renegotiated")
    assert event["args"]["prosumer"] == prosumer.address
    assert terms_from_event(event["args"]["terms"]) == new
    assert event["args"]["expiry"] == expiry
    assert event["args"]["downward"] is downward
    assert registry.registration_of(prosumer.address) == Registration(new, expiry, receipt.block_number, True)
    assert registry.totals() == totals_of([new])
    assert registry.counters(prosumer.address).down_renegotiations == int(downward)
    assert registry.reputation(prosumer.address) == reference.reputation(down_renegotiations=int(downward))


def test_renegotiate_needs_a_registration(registry, stranger, clock):
    with reverts(errors.NotRegistered, stranger.address):
        consented_renegotiate(registry, stranger, make_terms(), clock.now() + DAY_S)


def test_renegotiate_renews_an_expired_registration(registry, prosumer, clock):
    consented_register(registry, prosumer, make_terms(), clock.now() + 100)
    clock.advance(200)
    assert not registry.is_active(prosumer.address)
    new = make_terms(flex_up_w=3_000)
    expiry = clock.now() + DAY_S

    consented_renegotiate(registry, prosumer, new, expiry)

    assert registry.is_active(prosumer.address)
    assert registry.registration_of(prosumer.address).expiry == expiry
    assert registry.totals() == totals_of([new])


# ---------------------------------------------------------------- remove, terminate, expire


def test_remove_ends_the_registration(registry, prosumers, clock):
    a, b = prosumers[:2]
    ta, tb = make_terms(flex_up_w=1_000, flex_down_w=300), make_terms(flex_up_w=700, flex_down_w=1_200)
    consented_register(registry, a, ta, clock.now() + DAY_S)
    consented_register(registry, b, tb, clock.now() + DAY_S)

    receipt = registry.remove(a)

    (event,) = registry.events(receipt, "Removed")
    assert event["args"]["prosumer"] == a.address
    assert not registry.is_active(a.address)
    assert registry.registration_of(a.address).terms.capacity_w == 0
    assert registry.totals() == totals_of([tb])
    with reverts(errors.NotRegistered, a.address):
        registry.remove(a)


def test_terminate_by_the_aggregator(registry, prosumers, aggregator, clock):
    a, b = prosumers[:2]
    consented_register(registry, a, make_terms(flex_up_w=1_000), clock.now() + DAY_S)
    consented_register(registry, b, make_terms(flex_up_w=700), clock.now() + DAY_S)

    receipt = registry.terminate(aggregator, a.address)

    (event,) = registry.events(receipt, "Terminated")
    assert (event["args"]["prosumer"], event["args"]["by"]) == (a.address, aggregator.address)
    assert not registry.is_active(a.address)
    assert registry.totals() == (700, 2_000, 1)


@pytest.mark.parametrize("caller", ["stranger", "owner", "prosumer"])
def test_only_the_aggregator_terminates(registry, prosumer, clock, request, caller):
    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)
    sender = request.getfixturevalue(caller)
    with reverts(errors.NotAggregator, sender.address):
        registry.terminate(sender, prosumer.address)
    assert registry.is_active(prosumer.address)


def test_terminate_needs_a_registration(registry, aggregator, stranger):
    with reverts(errors.NotRegistered, stranger.address):
        registry.terminate(aggregator, stranger.address)


def test_expiry_makes_inactive_before_expire_is_called(registry, prosumer, clock):
    expiry = clock.now() + 1_000
    consented_register(registry, prosumer, make_terms(), expiry)

    clock.advance_to(expiry - 1)
    assert registry.is_active(prosumer.address)
    assert eligibility(registry, prosumer.address, Direction.UP)[0] is True

    clock.advance_to(expiry)
    assert not registry.is_active(prosumer.address)
    assert registry.registration_of(prosumer.address).active is False
    assert eligibility(registry, prosumer.address, Direction.UP)[0] is False
    assert eligibility(registry, prosumer.address, Direction.DOWN)[0] is False
    # Documented: the totals drop a lapsed registration only when `expire` (or a new register) runs.
    assert registry.totals() == (2_000, 2_000, 1)


def test_expire_drops_only_lapsed_registrations(registry, prosumers, stranger, clock):
    short_a, short_b, long_c = prosumers[:3]
    now = clock.now()
    consented_register(registry, short_a, make_terms(flex_up_w=100, flex_down_w=10), now + 500)
    consented_register(registry, short_b, make_terms(flex_up_w=200, flex_down_w=20), now + 600)
    consented_register(registry, long_c, make_terms(flex_up_w=400, flex_down_w=40), now + DAY_S)
    batch = [short_a.address, stranger.address, long_c.address, short_b.address, short_a.address]

    assert registry.contract.functions.expire(batch).call() == 0  # nothing has lapsed yet
    clock.advance(1_000)
    assert registry.contract.functions.expire(batch).call() == 2

    receipt = registry.expire(stranger, batch)  # anyone may call it

    assert [e["args"]["prosumer"] for e in registry.events(receipt, "Expired")] == [
        short_a.address,
        short_b.address,
    ]
    assert registry.totals() == (400, 40, 1)
    assert registry.registration_of(short_a.address).terms.capacity_w == 0
    again = registry.expire(stranger, batch)
    assert registry.events(again, "Expired") == []
    assert registry.totals() == (400, 40, 1)


def test_register_again_after_expiry(registry, prosumer, clock):
    consented_register(registry, prosumer, make_terms(flex_up_w=1_000, flex_down_w=1_000), clock.now() + 100)
    clock.advance(200)
    new = make_terms(flex_up_w=1_500, flex_down_w=500)
    expiry = clock.now() + DAY_S

    receipt = consented_register(registry, prosumer, new, expiry)

    assert [e["args"]["prosumer"] for e in registry.events(receipt, "Expired")] == [prosumer.address]
    assert len(registry.events(receipt, "Registered")) == 1
    assert registry.registration_of(prosumer.address) == Registration(new, expiry, receipt.block_number, True)
    assert registry.totals() == totals_of([new])


@pytest.mark.parametrize("how", ["remove", "terminate"])
def test_register_again_after_leaving(registry, prosumer, aggregator, clock, how):
    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)
    if how == "remove":
        registry.remove(prosumer)
    else:
        registry.terminate(aggregator, prosumer.address)
    consented_register(registry, prosumer, make_terms(flex_up_w=10), clock.now() + DAY_S)
    assert registry.totals() == (10, 2_000, 1)


def test_totals_stay_exact_through_the_life_cycle(registry, prosumers, aggregator, stranger, clock):
    """A Python model of the active set, compared with the chain after every step."""
    a, b, c, d, e = prosumers[:5]
    live: dict[str, Terms] = {}

    def check() -> None:
        assert registry.totals() == totals_of(list(live.values()))

    now = clock.now()
    for i, (p, expiry) in enumerate([(a, DAY_S), (b, DAY_S), (c, DAY_S), (d, 300), (e, DAY_S)]):
        t = make_terms(flex_up_w=100 * (i + 1), flex_down_w=1_000 - 100 * i)
        consented_register(registry, p, t, now + expiry)
        live[p.address] = t
        check()
    live[a.address] = make_terms(flex_up_w=50, flex_down_w=1_950)
    consented_renegotiate(registry, a, live[a.address], now + DAY_S)
    check()
    registry.remove(b)
    del live[b.address]
    check()
    registry.terminate(aggregator, c.address)
    del live[c.address]
    check()
    clock.advance(400)
    registry.expire(stranger, [d.address, e.address])
    del live[d.address]
    check()
    live[b.address] = make_terms(flex_up_w=7, flex_down_w=9)
    consented_register(registry, b, live[b.address], clock.now() + DAY_S)
    check()
    assert registry.totals()[2] == 3


# ---------------------------------------------------------------- reputation


def test_reputation_constants_match_the_documented_formula(registry):
    fns = registry.contract.functions
    assert fns.REPUTATION_BASE().call() == reference.REPUTATION_BASE
    assert fns.REPUTATION_MAX().call() == reference.REPUTATION_MAX
    assert fns.WEIGHT_COMPLIANT().call() == reference.WEIGHT_COMPLIANT
    assert fns.WEIGHT_PARTICIPATION().call() == reference.WEIGHT_PARTICIPATION
    assert fns.WEIGHT_DOWN_RENEGOTIATION().call() == reference.WEIGHT_DOWN_RENEGOTIATION
    assert fns.WEIGHT_PENALTY().call() == reference.WEIGHT_PENALTY


def test_reputation_is_clamped_at_zero(registry, prosumer, clock):
    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)
    for n in range(1, 22):
        consented_renegotiate(registry, prosumer, make_terms(flex_up_w=2_000 - n), clock.now() + DAY_S)
        assert registry.counters(prosumer.address) == Counters(0, 0, n, 0)
        assert registry.reputation(prosumer.address) == reference.reputation(down_renegotiations=n)
    assert registry.reputation(prosumer.address) == 0


def test_reputation_persists_across_remove_and_register(registry, prosumer, clock):
    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)
    consented_renegotiate(registry, prosumer, make_terms(flex_up_w=1_000), clock.now() + DAY_S)
    consented_renegotiate(registry, prosumer, make_terms(flex_up_w=500), clock.now() + DAY_S)
    registry.remove(prosumer)
    assert registry.reputation(prosumer.address) == 450

    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)

    assert registry.counters(prosumer.address) == Counters(0, 0, 2, 0)
    assert registry.reputation(prosumer.address) == 450


def test_reputation_follows_the_formula_through_settled_requests(deployment, aggregator, prosumer, clock):
    """Compliant and penalised deliveries (moved only by the market) and a downward renegotiation."""
    d, registry = deployment, deployment.registry
    register(d, clock, [prosumer])
    expected = Counters(0, 0, 0, 0)
    # The sole participant commits 2000 W for an hour: 2000 Wh; 1000 Wh is far outside the tolerance.
    for delivered, compliant in [(2_000, True), (1_000, False), (1_900, True), (0, False), (2_150, True)]:
        run_fair_request(d, aggregator, clock, [prosumer], {prosumer.address: delivered})
        expected = Counters(
            expected.compliant + compliant,
            expected.participations + 1,
            expected.down_renegotiations,
            expected.penalties + (not compliant),
        )
        assert registry.counters(prosumer.address) == expected
        assert registry.reputation(prosumer.address) == reference.reputation(**vars(expected))
    consented_renegotiate(registry, prosumer, make_terms(expected_wh_per_day=1), clock.now() + DAY_S)
    assert (
        registry.reputation(prosumer.address) == reference.reputation(3, 5, 1, 2) == 500 + 60 + 25 - 25 - 80
    )


@pytest.mark.slow
def test_reputation_is_clamped_at_the_maximum(deployment, aggregator, prosumer, clock):
    d = deployment
    register(d, clock, [prosumer])
    for n in range(1, 22):
        run_fair_request(d, aggregator, clock, [prosumer])
        assert d.registry.reputation(prosumer.address) == reference.reputation(compliant=n, participations=n)
    assert d.registry.reputation(prosumer.address) == reference.REPUTATION_MAX
    assert d.registry.counters(prosumer.address) == Counters(21, 21, 0, 0)


@pytest.mark.parametrize("caller", ["stranger", "aggregator", "owner"])
def test_only_the_market_records_outcomes(registry, prosumer, request, caller):
    sender = request.getfixturevalue(caller)
    with reverts(errors.NotMarket, sender.address):
        sender.transact(registry.contract.functions.recordOutcomes([prosumer.address], [True]))
    assert registry.counters(prosumer.address) == Counters(0, 0, 0, 0)
