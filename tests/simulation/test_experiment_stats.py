"""The experiment's statistics, checked by hand on small examples."""

from __future__ import annotations

import pytest

from simulation.experiment_stats import mean_ci, median_ci, paired_difference


def test_mean_and_95_percent_interval_of_four_values_by_hand() -> None:
    # mean 2.5; s = sqrt((1.5^2 + 0.5^2 + 0.5^2 + 1.5^2) / 3) = sqrt(5/3) = 1.290994;
    # t(0.975, 3) = 3.182446; half width = 3.182446 x 1.290994 / 2 = 2.054260
    e = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert e.n == 4 and e.mean == 2.5
    assert e.ci_low == pytest.approx(0.445740, abs=1e-6)
    assert e.ci_high == pytest.approx(4.554260, abs=1e-6)


def test_missing_values_are_left_out_and_one_value_has_no_interval() -> None:
    assert mean_ci([None, 0.8, None]) == mean_ci([0.8])
    one = mean_ci([0.8])
    assert (one.n, one.mean, one.ci_low, one.ci_high) == (1, 0.8, None, None)
    assert mean_ci([]).mean is None


def test_identical_values_have_a_zero_width_interval() -> None:
    e = mean_ci([0.9, 0.9, 0.9])
    assert e.ci_low == pytest.approx(0.9) and e.ci_high == pytest.approx(0.9)


def test_paired_difference_uses_the_seeds_both_strategies_ran() -> None:
    fair = {1: 0.80, 2: 0.90, 3: 0.70, 4: 0.95}
    reputation = {1: 0.85, 2: 0.95, 3: 0.80, 5: 0.99}  # seed 4 and 5 are not paired
    # differences 0.05, 0.05, 0.10: mean 0.066667, s = 0.028868, t(0.975, 2) = 4.302653,
    # half width = 4.302653 x 0.028868 / sqrt(3) = 0.071711
    e = paired_difference(fair, reputation)
    assert e.n == 3
    assert e.mean == pytest.approx(0.0666667, abs=1e-6)
    assert e.half_width == pytest.approx(0.071711, abs=1e-6)


def test_the_median_interval_is_the_binomial_order_statistics() -> None:
    # 16 values: P(Binomial(16, 1/2) <= 3) = 697/65536 <= 0.025 < P(<= 4), so x(4) and x(13).
    e = median_ci([float(x) for x in range(16, 0, -1)])
    assert (e.n, e.mean, e.ci_low, e.ci_high) == (16, 8.5, 4.0, 13.0)
    # 6 values: only the extremes cover 95 % (1 - 2/64); 5 values have no such interval.
    assert (median_ci([3.0, 1.0, 2.0, 6.0, 5.0, 4.0]).ci_low, median_ci(range(1, 7)).ci_high) == (1.0, 6.0)
    five = median_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert five.mean == 3.0 and five.ci_low is None and five.ci_high is None
    assert median_ci([]).mean is None


def test_the_median_interval_covers_the_median_at_least_as_often_as_it_says() -> None:
    import random

    rng = random.Random(5)
    misses = 0
    for _ in range(2000):
        xs = [rng.gauss(0.97, 0.05) for _ in range(16)]
        e = median_ci(xs)
        assert e.ci_low is not None and e.ci_high is not None
        misses += not (e.ci_low <= 0.97 <= e.ci_high)
    assert misses / 2000 <= 0.05
