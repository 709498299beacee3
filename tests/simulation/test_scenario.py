"""Scenarios: the shipped ones load, invalid ones fail before anything starts with field and reason."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from base.errors import ConfigError
from base.scenarios import SCENARIOS_DIR
from simulation.scenario import load_scenario, validate


@pytest.mark.parametrize("name", ["quick", "day", "stress", "volta"])
def test_shipped_scenarios_load(name: str) -> None:
    s = load_scenario(name)
    assert s.name == name
    assert s.ramp.initial <= s.population.count


def test_quick_is_the_short_default_with_both_strategies() -> None:
    s = load_scenario("quick")
    assert s.strategies == ["fair", "reputation"]
    assert s.real_duration_s <= 180


def test_volta_runs_in_real_time_on_chain_73799() -> None:
    s = load_scenario("volta")
    assert (s.speed, s.chain.mode, s.chain.chain_id) == (1, "rpc", 73799)


def test_round_trip_through_toml() -> None:
    s = load_scenario("day")
    assert validate(tomllib.loads(s.to_toml()), "round trip") == s


def test_overrides_are_validated() -> None:
    s = load_scenario("quick").with_overrides(seed=99, **{"population.count": 30})
    assert (s.seed, s.population.count) == (99, 30)
    with pytest.raises(ConfigError, match=r"population.count"):
        load_scenario("quick").with_overrides(**{"population.count": 0})


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"seed": -1}, "seed"),
        ({"speed": 0}, "speed"),
        ({"strategy": "greedy"}, "strategy"),
        ({"requests": {"size_min": 0.9, "size_max": 0.1}}, "requests"),
        ({"chain": {"mode": "rpc"}}, "chain"),
        ({"ramp": {"initial": 50}}, "(scenario)"),
        ({"population": {"mix": [0, 0, 0, 0]}}, "population"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_scenarios_name_the_field(patch: dict[str, object], field: str, tmp_path: Path) -> None:
    data = tomllib.loads((SCENARIOS_DIR / "quick.toml").read_text())
    for key, value in patch.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and key in data else value
    with pytest.raises(ConfigError) as info:
        validate(data, "test")
    assert field in str(info.value)


def test_unknown_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ConfigError, match="quick"):
        load_scenario("nope")


def test_bad_toml_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)
