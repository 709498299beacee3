"""YearProfile lookups: interpolation, hold, wrap-around, validation; holidays for the load profiles."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from domain.errors import ProfileError
from domain.holidays import easter_sunday, german_public_holidays
from domain.year_profile import YearProfile

N = 365 * 96


def ramp(hold: bool) -> YearProfile:
    return YearProfile(np.arange(N, dtype=float), 2025, 900.0, hold=hold)


def test_linear_profile_interpolates_between_samples() -> None:
    p = ramp(hold=False)
    t = datetime(2025, 1, 1, 0, 22, 30, tzinfo=UTC)  # 1.5 steps
    assert p.at(t) == pytest.approx(1.5)


def test_hold_profile_keeps_the_slot_value() -> None:
    p = ramp(hold=True)
    assert p.at(datetime(2025, 1, 1, 0, 29, 59, tzinfo=UTC)) == 1.0


def test_times_outside_the_year_wrap_around() -> None:
    p = ramp(hold=True)
    inside = datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert p.at(inside + timedelta(days=365)) == p.at(inside)
    assert p.at(inside - timedelta(days=365)) == p.at(inside)
    assert ramp(hold=False).at(datetime(2025, 12, 31, 23, 52, 30, tzinfo=UTC)) == pytest.approx((N - 1) / 2)


def test_wrong_length_or_values_are_rejected() -> None:
    with pytest.raises(ProfileError, match="35136"):
        YearProfile(np.zeros(N), 2024)  # leap year needs 366 days
    with pytest.raises(ProfileError):
        YearProfile(np.full(N, np.nan), 2025)


def test_values_are_read_only() -> None:
    with pytest.raises(ValueError):
        ramp(hold=True).values[0] = 5.0


@pytest.mark.parametrize(
    ("year", "easter"), [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5))]
)
def test_easter_dates(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_german_holidays_2025() -> None:
    days = german_public_holidays(2025)
    assert len(days) == 9
    assert date(2025, 4, 18) in days and date(2025, 5, 29) in days and date(2025, 6, 9) in days
    assert date(2025, 10, 3) in days and days == sorted(days)
