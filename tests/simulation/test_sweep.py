"""The experiment's sweep: seeds, --set fields and values, and the runs they make."""

from __future__ import annotations

import pytest

from base.errors import ConfigError
from simulation.experiment import scenario_for
from simulation.ramp import started_within
from simulation.scenario import load_scenario
from simulation.sweep import RunSpec, parse_seeds, parse_set, plan_runs, settings_grid


def test_seeds_take_ranges_and_lists_in_order_each_once() -> None:
    assert parse_seeds("1-10") == list(range(1, 11))
    assert parse_seeds("3") == [3]
    assert parse_seeds("1,4,7-9,4") == [1, 4, 7, 8, 9]
    assert parse_seeds(" 2 - 3 ") == [2, 3]


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "no seed|use seeds"), ("a-3", "use seeds and ranges"), ("5-2", "runs backwards; write 2-5"),
     ("1;2", "use seeds and ranges")],
)  # fmt: skip
def test_bad_seeds_are_one_line_naming_the_option(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=f"^--seeds .*({says})"):
        parse_seeds(text)


def test_set_reads_fields_and_typed_values() -> None:
    sets = parse_set(["population.count=12,40", "requests.size_max=0.3,0.6", "strategy=fair"])
    assert sets == [("population.count", [12, 40]), ("requests.size_max", [0.3, 0.6]), ("strategy", ["fair"])]
    assert parse_set(["realism.careless_care=[0.5,0.9],[0.8,1.0]"]) == [
        ("realism.careless_care", [[0.5, 0.9], [0.8, 1.0]])
    ]
    assert parse_set(["requests.size_min+requests.size_max=0.5,1.0"]) == [
        ("requests.size_min+requests.size_max", [0.5, 1.0])
    ]


@pytest.mark.parametrize(
    ("items", "says"),
    [(["population.count"], "write FIELD=VALUE"), (["=3"], "write FIELD=VALUE"),
     (["Population.Count=3"], "write FIELD=VALUE"), (["a=1", "a=2"], "a is set twice")],
)  # fmt: skip
def test_bad_set_items_say_how_to_write_them(items: list[str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_set(items)


def test_the_sweep_is_every_combination_of_settings_seeds_and_strategies() -> None:
    sets = parse_set(["population.count=12,40", "requests.size_max=0.3,0.6"])
    assert settings_grid(sets) == [
        (("population.count", 12), ("requests.size_max", 0.3)),
        (("population.count", 12), ("requests.size_max", 0.6)),
        (("population.count", 40), ("requests.size_max", 0.3)),
        (("population.count", 40), ("requests.size_max", 0.6)),
    ]
    runs = plan_runs(parse_seeds("1-10"), ["fair", "reputation"], sets)
    assert len(runs) == 4 * 10 * 2
    assert len({r.run_id for r in runs}) == len(runs)
    assert runs[0].run_id == "population.count=12_requests.size_max=0.3__seed1__fair"
    assert plan_runs([1], ["fair"], [])[0].run_id == "base__seed1__fair"
    with pytest.raises(ConfigError, match="use fair, reputation or both"):
        plan_runs([1], ["greedy"], [])


def test_a_run_scenario_carries_its_setting_seed_and_strategy() -> None:
    base = load_scenario("quick")
    s = scenario_for(base, RunSpec((("population.count", 40), ("requests.size_max", 0.3)), 4, "reputation"))
    assert (s.seed, s.strategy, s.requests.size_max, s.population.count) == (4, "reputation", 0.3, 40)
    assert started_within(s.ramp, 40, s.duration_s) == 40  # the ramp reaches the count, as --prosumers
    both = scenario_for(base, RunSpec((("requests.size_min+requests.size_max", 0.8),), 1, "fair"))
    assert (both.requests.size_min, both.requests.size_max) == (0.8, 0.8)


def test_a_setting_the_scenario_refuses_is_an_error_before_any_run() -> None:
    base = load_scenario("quick")
    with pytest.raises(ConfigError, match=r"--set population.size=3: population.size: Extra inputs"):
        scenario_for(base, RunSpec((("population.size", 3),), 1, "fair"))
    with pytest.raises(ConfigError, match="no such scenario field; fields are .*requests.size_max"):
        scenario_for(base, RunSpec((("nothing.here", 3),), 1, "fair"))
    with pytest.raises(ConfigError, match="size_min .* must not exceed size_max"):
        scenario_for(base, RunSpec((("requests.size_min", 0.9),), 1, "fair"))
