"""Settlement: the tolerance rule, payments in base units, batches, a batch size under 80 % of 8M gas."""

from __future__ import annotations

import time

import pytest

from contracts.types import Direction, Response
from tests.contracts import reference
from tests.contracts.consent import grant
from tests.contracts.factories import TARIFF_DOWN, TARIFF_UP, funded_senders, make_terms
from tests.contracts.flows import accept_all, finalise_anchored, open_request, register, settle, transact_all

pytestmark = pytest.mark.chain

VOLTA_BLOCK_GAS = 8_000_000
BATCH_GAS_BUDGET = VOLTA_BLOCK_GAS * 8 // 10  # 6,400,000
BATCH = 200


def settle_one(
    deployment, aggregator, clock, prosumer, direction, power_w, duration_s, delivered_wh, **terms
):
    """A single prosumer commits `power_w` for `duration_s` in `direction` and delivers `delivered_wh`."""
    flex = dict(flex_up_w=power_w) if direction == Direction.UP else dict(flex_down_w=power_w)
    register(deployment, clock, [prosumer], make_terms(**(flex | terms)))
    rid, s = open_request(deployment, aggregator, clock, power_w, direction=direction, duration_s=duration_s)
    deployment.market.accept(prosumer, rid)
    assert deployment.market.commitment_of(rid, prosumer.address).power_w == power_w
    recorded, _ = settle(deployment, aggregator, clock, rid, s, {prosumer.address: delivered_wh})
    (event,) = deployment.market.events(recorded, "DeliveryRecorded")
    return rid, event["args"]


# 2000 W for one hour: 2000 Wh committed, the tolerance is 200 Wh either side.
EDGES = [
    pytest.param(2_000, True, id="exact"),
    pytest.param(2_200, True, id="exactly-10pct-over"),
    pytest.param(1_800, True, id="exactly-10pct-under"),
    pytest.param(2_201, False, id="just-over-10pct-over"),
    pytest.param(1_799, False, id="just-over-10pct-under"),
    pytest.param(0, False, id="zero"),
    pytest.param(-2_000, False, id="wrong-way-same-magnitude"),
    pytest.param(-1_900, False, id="wrong-way-within-10pct"),
    pytest.param(-1, False, id="wrong-way-tiny"),
]


@pytest.mark.parametrize("direction", list(Direction), ids=["up", "down"])
@pytest.mark.parametrize(("delivered", "compliant"), EDGES)
def test_tolerance_edges(deployment, aggregator, prosumer, clock, direction, delivered, compliant):
    assert reference.is_compliant(2_000, 3_600, delivered) is compliant
    tariff = TARIFF_UP if direction == Direction.UP else TARIFF_DOWN

    rid, event = settle_one(deployment, aggregator, clock, prosumer, direction, 2_000, 3_600, delivered)

    pay = reference.payment(tariff, 2_000, 3_600) if compliant else 0
    assert dict(event) == dict(
        requestId=rid,
        prosumer=prosumer.address,
        committedW=2_000,
        deliveredWh=delivered,
        compliant=compliant,
        payment=pay,
    )
    assert deployment.token.balance_of(prosumer.address) == pay
    c = deployment.market.commitment_of(rid, prosumer.address)
    assert c.response == (Response.COMPLIANT if compliant else Response.PENALISED)
    expected = (1, 1, 0, 0) if compliant else (0, 1, 0, 1)
    assert deployment.registry.reputation(prosumer.address) == reference.reputation(*expected)
    result = deployment.market.result(rid)
    assert (result.delivered_wh, result.compliant, result.paid) == (delivered, int(compliant), pay)
    assert deployment.market.is_compliant(2_000, 3_600, delivered) is compliant


# 1333 W for 900 s: 333.25 Wh committed; compliant from 299.925 to 366.575 Wh.
@pytest.mark.parametrize(("delivered", "compliant"), [(300, True), (299, False), (366, True), (367, False)])
def test_tolerance_on_a_fractional_commitment(deployment, aggregator, prosumer, clock, delivered, compliant):
    tariff = 15 * 10**16 + 7
    _, event = settle_one(
        deployment, aggregator, clock, prosumer, Direction.UP, 1_333, 900, delivered, tariff_up=tariff
    )
    assert event["compliant"] is compliant
    # tariff x 333.25 Wh / 1000, floored to base units
    assert (
        event["payment"]
        == (tariff * 1_333 * 900 // 3_600_000 if compliant else 0)
        == (49_987_500_000_000_002 if compliant else 0)
    )


def compliance_cases(committed_w: int, duration_s: int) -> list[int]:
    committed_wh = committed_w * duration_s // 3600
    around = {0, 1, -1, committed_wh, -committed_wh, 2**63 - 1, -(2**63)}
    for edge in (
        committed_w * duration_s * 9 // 36_000,
        committed_w * duration_s * 11 // 36_000,
        committed_wh,
    ):
        around.update(edge + k for k in (-2, -1, 0, 1, 2))
    return sorted(around)


@pytest.mark.parametrize("committed_w", [1, 3, 7, 999, 1_333, 2_000, 65_535, 2**32 - 1])
def test_is_compliant_agrees_with_the_reference(market, committed_w):
    checked = 0
    for duration_s in (1, 7, 60, 900, 3_600, 5_400, 86_400):
        for delivered in compliance_cases(committed_w, duration_s):
            expected = reference.is_compliant(committed_w, duration_s, delivered)
            assert market.is_compliant(committed_w, duration_s, delivered) is expected, (
                committed_w,
                duration_s,
                delivered,
            )
            checked += expected
    assert checked > 0  # the grid holds compliant cases, not only failures


def test_tolerance_constants(market):
    assert market.contract.functions.TOLERANCE_DIVISOR().call() == 10
    assert market.contract.functions.MAX_SHARE_DIVISOR().call() == reference.MAX_SHARE_DIVISOR


def test_energy_follows_the_contracted_duration_not_the_window(deployment, aggregator, prosumer, clock):
    register(deployment, clock, [prosumer], make_terms(max_duration_s=7_200))
    rid, s = open_request(deployment, aggregator, clock, 2_000, duration_s=7_200, window_s=600)
    deployment.market.accept(prosumer, rid)
    settle(deployment, aggregator, clock, rid, s, {prosumer.address: 4_000})
    result = deployment.market.result(rid)
    assert (result.requested_wh, result.committed_wh, result.compliant) == (4_000, 4_000, 1)
    assert result.paid == reference.payment(TARIFF_UP, 2_000, 7_200) == 8 * 10**17


@pytest.mark.parametrize("direction", list(Direction), ids=["up", "down"])
def test_recording_in_batches_accumulates(deployment, aggregator, prosumers, clock, direction):
    market, token = deployment.market, deployment.token
    register(deployment, clock, prosumers)  # 7 x 2 kW in both directions
    rid, s = open_request(deployment, aggregator, clock, 7_000, direction=direction, duration_s=1_800)
    accept_all(deployment, prosumers, rid)
    share = reference.fair_share(7_000, 2_000, 14_000, 8_000)
    assert share == 1_000
    tariff = TARIFF_UP if direction == Direction.UP else TARIFF_DOWN
    delivered = [500, 450, 550, 449, 551, -500, 0]  # committed 500 Wh each
    batches = [(0, 3), (3, 5), (5, 7)]
    clock.advance_to(s.end)

    for lo, hi in batches:
        market.record_deliveries(aggregator, rid, [p.address for p in prosumers[lo:hi]], delivered[lo:hi])
        assert market.request(rid).recorded == hi
        assert market.result(rid).delivered_wh == sum(delivered[:hi])
    finalise_anchored(
        deployment, aggregator, rid, {p.address: wh for p, wh in zip(prosumers, delivered, strict=True)}
    )

    flags = [reference.is_compliant(share, 1_800, wh) for wh in delivered]
    assert flags == [True, True, True, False, False, False, False]
    pay = reference.payment(tariff, share, 1_800)
    result = market.result(rid)
    assert (result.requested_wh, result.committed_wh) == (3_500, 3_500)
    assert (result.delivered_wh, result.participants, result.compliant) == (sum(delivered), 7, 3)
    assert result.paid == 3 * pay == token.total_supply()
    for p, ok in zip(prosumers, flags, strict=True):
        assert token.balance_of(p.address) == (pay if ok else 0)


@pytest.mark.slow
def test_a_batch_of_200_deliveries_fits_80_percent_of_an_8m_block(
    deployment, aggregator, owner, clock, chain
):
    """The worst case: every participant compliant, so each one is also paid (minted)."""
    started = time.monotonic()
    crowd = funded_senders(chain, owner, BATCH, wei=10**17)
    register(deployment, clock, crowd)
    power = BATCH * 1_000
    rid, s = open_request(
        deployment, aggregator, clock, power, duration_s=3_600, deadline_in=600, start_in=700
    )
    accept_all(deployment, crowd, rid)
    assert deployment.market.request(rid).joined == BATCH
    clock.advance_to(s.end)

    receipt = deployment.market.record_deliveries(
        aggregator, rid, [p.address for p in crowd], [1_000] * BATCH
    )

    assert receipt.gas_used <= BATCH_GAS_BUDGET, f"{receipt.gas_used} gas for {BATCH} deliveries"
    assert len(deployment.market.events(receipt, "DeliveryRecorded")) == BATCH
    assert len(deployment.token.events(receipt, "Transfer")) == BATCH
    finalise_anchored(deployment, aggregator, rid, {p.address: 1_000 for p in crowd})
    result = deployment.market.result(rid)
    assert (result.participants, result.compliant) == (BATCH, BATCH)
    assert result.paid == BATCH * reference.payment(TARIFF_UP, 1_000, 3_600)
    assert time.monotonic() - started < 60


def test_transact_all_keeps_order(deployment, prosumers, clock):
    """The helper the batch test relies on returns receipts in the order of its calls."""
    expiry = clock.now() + 1_000
    fn = deployment.registry.contract.functions.register
    terms = [make_terms(flex_up_w=i + 1) for i in range(len(prosumers))]
    receipts = transact_all(
        (p, fn(t.as_tuple(), expiry, grant(deployment.registry, p.address, t, expiry).as_tuple()))
        for t, p in zip(terms, prosumers, strict=True)
    )
    ups = [deployment.registry.events(r, "Registered")[0]["args"]["terms"]["flexUpW"] for r in receipts]
    assert ups == list(range(1, len(prosumers) + 1))
