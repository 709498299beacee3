"""Outages: Poisson counts, exponential durations, lookup."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from domain.errors import ParameterError
from domain.outages import Outage, OutageModel, in_outage, next_change, sample_outages

T0 = datetime(2025, 1, 1, tzinfo=UTC)
MODEL = OutageModel(rate_per_hour=0.02, mean_duration_s=1800.0)


def test_count_and_durations_match_the_configured_process() -> None:
    rng = np.random.default_rng(12)
    horizon_s = 1000 * 3600.0
    runs = [sample_outages(MODEL, T0, horizon_s, rng) for _ in range(400)]
    counts = np.array([len(r) for r in runs])
    assert counts.mean() == pytest.approx(MODEL.rate_per_hour * 1000, rel=0.05)
    assert counts.var() == pytest.approx(counts.mean(), rel=0.25)  # Poisson: variance = mean
    durations = np.array([(o.end - o.start).total_seconds() for r in runs for o in r])
    assert durations.mean() == pytest.approx(MODEL.mean_duration_s, rel=0.05)
    assert np.median(durations) == pytest.approx(MODEL.mean_duration_s * np.log(2), rel=0.1)  # exponential


def test_schedule_is_sorted_inside_the_horizon_and_reproducible() -> None:
    a = sample_outages(MODEL, T0, 5000 * 3600.0, np.random.default_rng(1))
    b = sample_outages(MODEL, T0, 5000 * 3600.0, np.random.default_rng(1))
    assert a == b and len(a) > 10
    assert [o.start for o in a] == sorted(o.start for o in a)
    assert all(T0 <= o.start < T0 + timedelta(hours=5000) and o.end > o.start for o in a)


def test_in_outage_handles_overlaps_and_edges() -> None:
    h = timedelta(hours=1)
    schedule = [Outage(T0, T0 + 5 * h), Outage(T0 + h, T0 + 2 * h), Outage(T0 + 8 * h, T0 + 9 * h)]
    assert in_outage(schedule, T0)
    assert in_outage(schedule, T0 + 3 * h)  # covered by the first, long outage only
    assert not in_outage(schedule, T0 + 5 * h)  # end is exclusive
    assert not in_outage(schedule, T0 - h)
    assert in_outage(schedule, T0 + 8.5 * h)
    assert not in_outage([], T0)
    assert next_change(schedule, T0 + 5.5 * h) == T0 + 8 * h
    assert next_change(schedule, T0 + 10 * h) is None


def test_zero_rate_gives_no_outage() -> None:
    assert sample_outages(OutageModel(0.0, 60.0), T0, 1e6, np.random.default_rng(0)) == []


@pytest.mark.parametrize(("rate", "duration"), [(-1.0, 60.0), (1.0, 0.0), (float("nan"), 60.0)])
def test_invalid_models_are_rejected(rate: float, duration: float) -> None:
    with pytest.raises(ParameterError):
        OutageModel(rate, duration)
