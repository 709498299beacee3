"""The contract over time (R2, R3): terms from the model, expiry and renewal, random renegotiation."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from contracts.types import SourceKind, Terms
from domain.outages import Outage
from domain.population import sample_entry
from prosumer.contract import (
    after_outage,
    downward,
    event_probability,
    expiry_after,
    needs_renewal,
    renegotiation,
)

MODEL = Terms(SourceKind.SOLAR, 8_000, 20_000, 400, 2_000, 1_800, 2 * 10**17, 10**17)
T = datetime(2025, 6, 1, 12, tzinfo=UTC)


def test_chain_terms_are_the_models_terms() -> None:
    entry = sample_entry(11, 0)
    terms = entry.terms  # one Terms type: the model's are the chain's
    assert terms.kind == SourceKind(int(entry.kind)) == SourceKind.BATTERY
    t = entry.terms
    assert terms.as_tuple()[1:] == (
        t.capacity_w, t.expected_wh_per_day, t.flex_up_w, t.flex_down_w, t.max_duration_s, t.tariff_up,
        t.tariff_down,
    )  # fmt: skip
    assert terms.as_tuple()[0] == int(SourceKind.BATTERY) == 3


def test_expiry_and_renewal_are_in_simulated_time() -> None:
    assert expiry_after(1_000.0, 86_400, 300) == 1_288  # a simulated day at 300x is 288 real s
    assert expiry_after(1_000.5, 10, 1) == 1_011  # rounded up: never earlier than asked
    assert not needs_renewal(1_288, 1_000.0, 3_600, 300)  # 288 s left, renew within 12 s
    assert needs_renewal(1_288, 1_276.0, 3_600, 300)
    assert needs_renewal(1_288, 2_000.0, 0, 300)  # already expired


@pytest.mark.parametrize(
    ("rate", "dt", "expected"),
    [(0.0, 3_600, 0.0), (1.0, 3_600, 1 - math.exp(-1)), (2.0, 1_800, 1 - math.exp(-1)), (5.0, 0, 0.0)],
)
def test_event_probability_is_poisson(rate: float, dt: float, expected: float) -> None:
    assert event_probability(rate, dt) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("outage", "expected"),
    [
        (Outage(T - timedelta(hours=1), T + timedelta(hours=1)), True),  # ongoing
        (Outage(T - timedelta(hours=3), T - timedelta(hours=2)), True),  # ended 2 h ago, window 6 h
        (Outage(T - timedelta(hours=9), T - timedelta(hours=7)), False),  # ended 7 h ago
        (Outage(T + timedelta(hours=1), T + timedelta(hours=2)), False),  # not yet (unforeseen)
    ],
)
def test_after_outage_window(outage: Outage, expected: bool) -> None:
    assert after_outage([outage], T, 6 * 3600) is expected


def test_downward_keeps_half_to_ninety_percent_both_ways() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        new = downward(MODEL, rng)
        assert 0.5 * MODEL.flex_up_w <= new.flex_up_w <= 0.9 * MODEL.flex_up_w
        assert 0.5 * MODEL.flex_down_w <= new.flex_down_w <= 0.9 * MODEL.flex_down_w
        assert replace(new, flex_up_w=MODEL.flex_up_w, flex_down_w=MODEL.flex_down_w) == MODEL


def test_after_an_outage_renegotiations_are_frequent_and_downward() -> None:
    rng = np.random.default_rng(2)
    results = [renegotiation(MODEL, MODEL, 3_600, 0.0, 50.0, True, rng) for _ in range(100)]
    assert all(r is not None for r in results)
    assert all(r.flex_up_w < MODEL.flex_up_w and r.flex_down_w < MODEL.flex_down_w for r in results if r)


def test_without_an_outage_terms_below_the_model_may_come_back_up() -> None:
    rng = np.random.default_rng(3)
    low = replace(MODEL, flex_up_w=200, flex_down_w=1_000)
    results = [renegotiation(low, MODEL, 3_600, 50.0, 0.0, False, rng) for _ in range(200)]
    ups = sum(r == MODEL for r in results)
    downs = sum(r is not None and r.flex_up_w < low.flex_up_w for r in results)
    assert ups + downs == 200 and 70 < ups < 130


def test_the_rate_sets_how_often() -> None:
    rng = np.random.default_rng(4)
    hits = sum(renegotiation(MODEL, MODEL, 60, 6.0, 0.0, False, rng) is not None for _ in range(2_000))
    assert 0.08 < hits / 2_000 < 0.12  # 1 - exp(-6 x 60 / 3600) = 9.5 %


def test_two_draws_are_taken_whatever_happens() -> None:
    """So a seed gives the same later decisions whether or not a renegotiation happened."""
    c, d = np.random.default_rng(5), np.random.default_rng(5)
    assert renegotiation(MODEL, MODEL, 60, 0.0, 0.0, False, c) is None
    d.random(), d.random()
    assert c.random() == d.random()


def test_the_models_codes_are_the_chains() -> None:
    """`domain` stays free of the chain package; its enums must keep the chain's codes."""
    from contracts.types import Direction as ChainDirection
    from domain.vocabulary import Direction

    assert {k.name: k.value for k in SourceKind} == {k.name: k.value for k in SourceKind}
    assert {d.name: d.value for d in Direction} == {d.name: d.value for d in ChainDirection}
