"""Over-booking's pure logic (aggregator/booking.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from aggregator.booking import BookingPolicy, Settled, booked_w, delivery_ratio, record_of

NO_PRIOR = BookingPolicy(prior_wh=0.0)


def test_without_a_record_the_ratio_is_the_prior() -> None:
    assert delivery_ratio([], BookingPolicy()) == 1.0
    assert delivery_ratio([], BookingPolicy(prior_ratio=0.8, prior_wh=0.0)) == 0.8


def test_the_ratio_is_delivered_over_committed_energy() -> None:
    record = [Settled(1_000, 900), Settled(3_000, 2_700)]
    assert delivery_ratio(record, NO_PRIOR) == pytest.approx(0.9)


def test_the_prior_weighs_as_much_committed_energy_as_it_says() -> None:
    # 1000 Wh committed, 800 delivered, prior 1.0 worth 1000 Wh: (800 + 1000) / 2000
    ratio = delivery_ratio([Settled(1_000, 800)], BookingPolicy(prior_wh=1_000.0))
    assert ratio == pytest.approx(0.9)


def test_only_the_latest_requests_count_and_empty_ones_weigh_nothing() -> None:
    record = [Settled(1_000, 0), Settled(0, 0), Settled(1_000, 950), Settled(1_000, 850)]
    assert delivery_ratio(record, BookingPolicy(window=2, prior_wh=0.0)) == pytest.approx(0.9)


def test_a_negative_delivery_counts_as_nothing() -> None:
    assert delivery_ratio([Settled(1_000, -200), Settled(1_000, 1_000)], NO_PRIOR) == pytest.approx(0.5)


def test_booking_makes_up_for_the_ratio() -> None:
    assert booked_w(9_000, 0.9, BookingPolicy()) == 10_000
    assert booked_w(1_000, 0.95, BookingPolicy()) == 1_053  # rounded up


def test_booking_is_bounded_by_a_quarter_more_than_the_power() -> None:
    assert booked_w(10_000, 0.5, BookingPolicy()) == 12_500
    assert booked_w(10_001, 0.0, BookingPolicy()) == 12_501  # power + power // 4, the contract's bound


def test_a_fleet_that_delivers_what_it_commits_is_not_over_booked() -> None:
    assert booked_w(10_000, 1.0, BookingPolicy()) == 10_000
    assert booked_w(10_000, 1.2, BookingPolicy()) == 10_000


def test_booking_can_be_switched_off() -> None:
    assert booked_w(10_000, 0.8, BookingPolicy(enabled=False)) == 10_000


def test_booking_needs_a_power() -> None:
    with pytest.raises(ValueError, match="positive"):
        booked_w(0, 0.9, BookingPolicy())


@dataclass
class Row:
    strategy: str
    chain_request_id: int | None
    committed_wh: int | None
    delivered_wh: int | None


def test_the_record_is_the_strategys_other_settled_requests_in_order() -> None:
    rows = [Row("fair", 1, 400, 300), Row("reputation", 2, 500, 500), Row("fair", 3, None, None),
            Row("fair", 4, 900, 800)]  # fmt: skip
    assert record_of(rows, "fair", current_chain_id=4) == [Settled(400, 300), Settled(0, 0)]
