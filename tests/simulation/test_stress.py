"""The stress analysis: where each measure first crosses its threshold as prosumers are added."""

from __future__ import annotations

from simulation.stress import analyse, headline, level_values, levels


def ramp(steps: int, add: int = 20, every: float = 20.0) -> list[tuple[float, int]]:
    """`add` prosumers started at once every `every` seconds, `steps` times."""
    return [(k * every, 1) for k in range(steps) for _ in range(add)]


def samples(per_level: list[float], every: float = 20.0, n: int = 40) -> list[tuple[float, float]]:
    """`n` samples per level, each level's samples all equal to its value."""
    return [(k * every + (j + 0.5) * every / n, v) for k, v in enumerate(per_level) for j in range(n)]


def test_levels_follow_starts_and_removals() -> None:
    lv = levels([(0.0, 1), (0.0, 1), (10.0, 1), (15.0, -1)], end=30.0)
    assert [(x.prosumers, x.start, x.end) for x in lv] == [(2, 0.0, 10.0), (3, 10.0, 15.0), (2, 15.0, 30.0)]
    assert levels([], end=10.0) == []


def test_a_measure_that_degrades_is_reported_at_the_first_level_over_its_threshold() -> None:
    series = {
        "reading_lag_s": samples([0.1, 0.2, 0.3, 2.5, 0.4, 4.0]),  # over 2 s first at the 4th level
        "confirmation_blocks": samples([1, 1, 2, 2, 3, 4]),  # over 2 blocks at the 5th
        "block_gas_share": samples([0.1, 0.3, 0.5, 0.7, 0.79, 0.8]),  # never over 0.8
        "queue_depth_rows": samples([0, 10, 50, 100, 200, 300]),
    }
    result = analyse(ramp(6), end=120.0, series=series)
    m = result["measures"]
    assert m["reading_lag_s"]["degraded_at_prosumers"] == 80 and m["reading_lag_s"]["value_there"] == 2.5
    assert m["confirmation_blocks"]["degraded_at_prosumers"] == 100
    assert m["block_gas_share"]["degraded_at_prosumers"] is None
    assert m["block_gas_share"]["judged_up_to_prosumers"] == 120 and m["block_gas_share"]["worst"] == 0.8
    assert m["queue_depth_rows"]["degraded_at_prosumers"] is None
    assert [lv["prosumers"] for lv in result["levels"]] == [20, 40, 60, 80, 100, 120]
    assert result["max_prosumers"] == 120
    text = headline(result)
    assert "reading_lag_s: degraded at 80 prosumers" in text and "block_gas_share: kept up to 120" in text
    first = result["first_to_give"]
    assert (first["measure"], first["at_prosumers"], first["value"]) == ("reading_lag_s", 80, 2.5)
    assert first["why"].startswith("CPU") and first["others_there"]["confirmation_blocks"] == 2.0
    assert text.splitlines()[0].startswith("first to give way: reading_lag_s at 80 prosumers (p95 2.5 > 2.0)")


def test_a_system_that_keeps_up_reports_no_degradation() -> None:
    flat = {
        "reading_lag_s": samples([0.05] * 5),
        "confirmation_blocks": samples([1.0] * 5),
        "block_gas_share": samples([0.2] * 5),
        "queue_depth_rows": samples([3.0] * 5),
    }
    result = analyse(ramp(5), end=100.0, series=flat)
    assert all(v["degraded_at_prosumers"] is None for v in result["measures"].values())
    assert all(v["judged_up_to_prosumers"] == 100 for v in result["measures"].values())
    assert result["first_to_give"] is None and "first to give way" not in headline(result)


def test_the_p95_ignores_a_few_outliers_but_not_a_tail() -> None:
    lv = levels(ramp(2), end=40.0)
    few = [(t, 10.0 if j % 50 == 0 else 0.1) for j, (t, _) in enumerate(samples([0.0, 0.0], n=100))]
    tail = [(t, 10.0 if j % 10 == 0 else 0.1) for j, (t, _) in enumerate(samples([0.0, 0.0], n=100))]
    assert level_values(lv, few) == [0.1, 0.1]
    assert level_values(lv, tail) == [10.0, 10.0]


def test_short_or_empty_levels_are_not_judged() -> None:
    changes = [(0.0, 1), (2.0, 1), (30.0, 1)]  # the first level lasts 2 s
    lv = levels(changes, end=60.0)
    values = level_values(lv, [(1.0, 9.0), (1.5, 9.0), (1.8, 9.0), (40.0, 0.1)])
    assert values == [None, None, None]  # too short; no samples; one sample only
    result = analyse(changes, 60.0, {"reading_lag_s": [(1.0, 9.0), (1.5, 9.0), (1.8, 9.0)]})
    assert result["measures"]["reading_lag_s"]["degraded_at_prosumers"] is None
    assert result["measures"]["reading_lag_s"]["judged_up_to_prosumers"] is None
    assert "reading_lag_s: no samples" in headline(result)
