"""The market's rules in Python (`domain/market_rules.py`) compute what the contract computes."""

from __future__ import annotations

import random

import pytest

from domain.market_rules import fair_share_w, is_compliant, offer_w, payment
from tests.contracts.factories import make_terms
from tests.contracts.flows import open_request, register

pytestmark = pytest.mark.chain


def test_compliance_agrees_with_the_contract_on_random_and_edge_inputs(market) -> None:
    rng = random.Random(10)
    cases = [(1_000, 3_600, d) for d in (-1, 0, 899, 900, 1_000, 1_100, 1_101, 2**63 - 1)]
    for _ in range(300):
        committed, duration = rng.randint(1, 25_000_000), rng.choice([1, 60, 900, 3_600, 604_800])
        wh = committed * duration // 3600
        cases.append((committed, duration, wh + rng.randint(-(wh // 5) - 2, wh // 5 + 2)))
    for committed, duration, delivered in cases:
        assert is_compliant(committed, duration, delivered) == market.is_compliant(
            committed, duration, delivered
        )


def test_shares_offers_and_payments_are_the_contracts(deployment, aggregator, clock, prosumers) -> None:
    flex = [3_000, 1_700, 650, 1]
    terms = [make_terms(capacity_w=9_000, flex_up_w=f, tariff_up=10**17 + i) for i, f in enumerate(flex)]
    register(deployment, clock, prosumers[:4], terms)
    total = sum(flex)
    power, duration = 4_321, 3_600
    rid, s = open_request(deployment, aggregator, clock, power, duration_s=duration)
    for p, t in zip(prosumers[:4], terms, strict=True):
        share = fair_share_w(power, t.flex_up_w, total, t.capacity_w)
        if share == 0:
            continue
        deployment.market.accept(p, rid)
        assert deployment.market.commitment_of(rid, p.address).power_w == share
    assert offer_w(3_000, 9_000) == 2_250 and offer_w(650, 9_000) == 650
    clock.advance_to(s.end)
    first = prosumers[0].address
    committed = deployment.market.commitment_of(rid, first).power_w
    receipt = deployment.market.record_deliveries(aggregator, rid, [first], [committed])
    (event,) = deployment.market.events(receipt, "DeliveryRecorded")
    assert event["args"]["payment"] == payment(terms[0].tariff_up, committed, duration)
