"""Flexibility rules: the 25 % rule, direction semantics per kind, producer headroom, battery both ways."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import FlexibilityError
from domain.flexibility import (
    Commitment,
    apply_commitment,
    battery_envelope,
    consumer_envelope,
    curtailed_baseline_w,
    decline_reason,
    feasible_w,
    max_modulation_w,
    modulated_power,
    producer_envelope,
)
from domain.vocabulary import Direction

UP, DOWN = Direction.UP, Direction.DOWN
T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("capacity", "contracted", "expected"),
    [
        (10_000, 1_000, 1_000),
        (10_000, 2_500, 2_500),
        (10_000, 4_000, 2_500),
        (4_000, 4_000, 1_000),
        (5_000, 0, 0),
    ],
)
def test_max_modulation_is_the_smaller_of_contract_and_a_quarter_of_capacity(
    capacity: float, contracted: float, expected: float
) -> None:
    assert max_modulation_w(capacity, contracted) == expected


def test_producer_up_releases_headroom_and_down_curtails() -> None:
    available, headroom = 6_000.0, 1_000.0
    baseline = curtailed_baseline_w(available, headroom)
    assert baseline == 5_000.0  # runs curtailed by its headroom
    env = producer_envelope(available)
    assert modulated_power(baseline, UP, 800.0, env) == 5_800.0  # produces more
    assert modulated_power(baseline, UP, 1_500.0, env) == 6_000.0  # never above what the weather gives
    assert modulated_power(baseline, DOWN, 2_000.0, env) == 3_000.0  # produces less
    assert modulated_power(baseline, DOWN, 9_000.0, env) == 0.0  # never consumes


def test_producer_without_sun_has_no_room_up() -> None:
    baseline = curtailed_baseline_w(0.0, 1_000.0)
    assert baseline == 0.0
    assert feasible_w(UP, baseline, producer_envelope(0.0), limit_w=1_000.0) == 0.0
    assert decline_reason(500.0, 0.0, in_outage=False) is not None


def test_consumer_up_draws_less_and_down_draws_more() -> None:
    baseline, env = -2_000.0, consumer_envelope(5_000.0)
    assert modulated_power(baseline, UP, 500.0, env) == -1_500.0
    assert modulated_power(baseline, UP, 3_000.0, env) == 0.0  # cannot produce
    assert modulated_power(baseline, DOWN, 500.0, env) == -2_500.0
    assert modulated_power(baseline, DOWN, 9_000.0, env) == -5_000.0  # capped at its capacity
    assert feasible_w(UP, baseline, env, limit_w=10_000.0) == 2_000.0
    assert feasible_w(DOWN, baseline, env, limit_w=10_000.0) == 3_000.0


def test_battery_moves_both_ways_within_its_limits() -> None:
    env = battery_envelope(max_charge_w=3_000.0, max_discharge_w=2_000.0)
    assert modulated_power(0.0, UP, 1_500.0, env) == 1_500.0  # discharges
    assert modulated_power(0.0, DOWN, 1_500.0, env) == -1_500.0  # charges
    assert modulated_power(0.0, UP, 5_000.0, env) == 2_000.0
    assert modulated_power(0.0, DOWN, 5_000.0, env) == -3_000.0
    assert feasible_w(UP, 0.0, env, limit_w=2_500.0) == 2_000.0
    assert feasible_w(DOWN, 0.0, env, limit_w=2_500.0) == 2_500.0  # capped by the 25 % rule


def test_power_returns_to_baseline_after_the_window() -> None:
    c = Commitment(UP, 700.0, T0, T0 + timedelta(minutes=15))
    env = producer_envelope(5_000.0)
    assert apply_commitment(c, T0 - timedelta(seconds=1), 4_000.0, env) == 4_000.0
    assert apply_commitment(c, T0, 4_000.0, env) == 4_700.0
    assert apply_commitment(c, T0 + timedelta(minutes=14, seconds=59), 4_000.0, env) == 4_700.0
    assert apply_commitment(c, T0 + timedelta(minutes=15), 4_000.0, env) == 4_000.0
    assert apply_commitment(None, T0, 4_000.0, env) == 4_000.0


def test_decline_reasons() -> None:
    assert decline_reason(1_000.0, 1_000.0, in_outage=False) is None
    assert "outage" in (decline_reason(1_000.0, 1_000.0, in_outage=True) or "")
    assert "insufficient" in (decline_reason(1_000.0, 600.0, in_outage=False) or "")
    assert decline_reason(1_000.0, 950.0, in_outage=False, tolerance=0.1) is None


@pytest.mark.parametrize(
    ("committed", "start", "end"),
    [
        (0.0, T0, T0 + timedelta(minutes=1)),
        (100.0, T0, T0),
        (100.0, T0.replace(tzinfo=None), T0 + timedelta(1)),
    ],
)
def test_malformed_commitments_are_rejected(committed: float, start: datetime, end: datetime) -> None:
    with pytest.raises(FlexibilityError):
        Commitment(UP, committed, start, end)
