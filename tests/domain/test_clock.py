"""The simulation clock: mapping real seconds to simulated time, and its validation."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.clock import SimClock
from domain.errors import ClockError, DomainError

START = datetime(2025, 6, 1, tzinfo=UTC)


def test_sim_time_runs_speed_times_faster_from_the_real_start() -> None:
    clock = SimClock(START, speed=60.0, real_start_epoch_s=1_000.0)
    assert clock.sim_time(1_000.0) == START
    assert clock.sim_time(1_010.0) == START + timedelta(minutes=10)
    assert clock.sim_time(1_000.0 + 24 * 60) == START + timedelta(days=1)


def test_elapsed_delay_and_inverse_are_consistent() -> None:
    clock = SimClock(START, speed=288.0, real_start_epoch_s=50.0)  # a day in 5 minutes
    assert clock.sim_elapsed(300.0) == pytest.approx(86_400.0)
    assert clock.real_delay(86_400.0) == pytest.approx(300.0)
    t = START + timedelta(hours=7)
    assert clock.sim_time(clock.real_epoch(t)) == t


def test_aware_non_utc_start_is_stored_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    clock = SimClock(datetime(2025, 1, 1, 1, tzinfo=cet))
    assert clock.sim_start == datetime(2025, 1, 1, tzinfo=UTC)
    assert clock.sim_start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sim_start=datetime(2025, 1, 1)),
        dict(sim_start=START, speed=0.0),
        dict(sim_start=START, speed=-2.0),
        dict(sim_start=START, speed=float("inf")),
        dict(sim_start=START, real_start_epoch_s=float("nan")),
    ],
)
def test_invalid_clocks_raise_a_domain_error(kwargs: dict) -> None:
    with pytest.raises(ClockError) as info:
        SimClock(**kwargs)
    assert isinstance(info.value, DomainError) and isinstance(info.value, ValueError)


def test_naive_start_error_says_how_to_fix_it() -> None:
    with pytest.raises(ClockError, match="timezone-aware UTC"):
        SimClock(datetime(2025, 1, 1))


@pytest.mark.parametrize("method", ["sim_elapsed", "real_delay"])
def test_negative_durations_are_rejected(method: str) -> None:
    with pytest.raises(ClockError):
        getattr(SimClock(START), method)(-1.0)
