"""An experiment's runs: seeds x strategies x settings of any scenario field. Pure.

    --seeds 1-10                 seeds 1 to 10 (also `1,3,5-7`)
    --set population.count=12,40 --set requests.size_max=0.3,0.6
                                 every combination: 2 x 2 settings
    --set requests.size_min+requests.size_max=0.5,1.0
                                 fields joined by + take the same value (2 settings)

A value is read as JSON when it parses (`12`, `0.3`, `true`, `[0.2, 0.5]` in a file) and as text
otherwise. A run is one (setting, seed, strategy); its id names all three, so a finished run is found
again when the experiment is resumed.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from base.errors import ConfigError

STRATEGIES = ("fair", "reputation")
FIELD = r"[a-z_]+(\.[a-z_]+)*(\+[a-z_]+(\.[a-z_]+)*)*"  # fields joined by + take the same value
MAX_RUNS = 10_000


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment."""

    setting: tuple[tuple[str, Any], ...]  # (field, value) pairs, in the order the sweep named them
    seed: int
    strategy: str

    @property
    def setting_id(self) -> str:
        return setting_id(self.setting)

    @property
    def run_id(self) -> str:
        return f"{self.setting_id}__seed{self.seed}__{self.strategy}"

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.setting)


def setting_id(setting: tuple[tuple[str, Any], ...]) -> str:
    """A file-name-safe name of a setting (`base` for the scenario as it is)."""
    if not setting:
        return "base"
    text = "_".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in setting)
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "", text.replace(" ", ""))


def setting_label(setting: tuple[tuple[str, Any], ...]) -> str:
    """A reader's name of a setting (`population.count=12, requests.size_max=0.3`)."""
    return ", ".join(f"{k}={v}" for k, v in setting) or "as in the scenario"


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """`1-10`, `3`, `1,4,7-9` -> the seeds in order, each once."""
    seeds: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise ConfigError(f"{option} {text!r}: use seeds and ranges such as 1-10 or 1,4,7-9")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ConfigError(f"{option} {text!r}: the range {part} runs backwards; write {hi}-{lo}")
        seeds.extend(s for s in range(lo, hi + 1) if s not in seeds)
    if not seeds:
        raise ConfigError(f"{option} {text!r}: no seed")
    return seeds


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_set(items: list[str], option: str = "--set") -> list[tuple[str, list[Any]]]:
    """`field=v1,v2` items -> (field, values) in order; a field named twice is an error."""
    out: list[tuple[str, list[Any]]] = []
    for item in items:
        field, sep, values = item.partition("=")
        field = field.strip()
        if not sep or not re.fullmatch(FIELD, field) or not values.strip():
            raise ConfigError(
                f"{option} {item!r}: write FIELD=VALUE[,VALUE...] with a scenario field such as "
                "population.count=12,40"
            )
        if any(f == field for f, _ in out):
            raise ConfigError(f"{option}: {field} is set twice; give all its values in one --set")
        out.append((field, [parse_value(v.strip()) for v in _split_values(values)]))
    return out


def _split_values(text: str) -> list[str]:
    """Commas split values, except inside brackets (`careless_care=[0.5,0.9],[0.8,1.0]`)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def settings_grid(sets: list[tuple[str, list[Any]]]) -> list[tuple[tuple[str, Any], ...]]:
    """Every combination of the values, the first field varying slowest."""
    fields = [f for f, _ in sets]
    return [tuple(zip(fields, combo, strict=True)) for combo in itertools.product(*(v for _, v in sets))]


def plan_runs(seeds: list[int], strategies: list[str], sets: list[tuple[str, list[Any]]]) -> list[RunSpec]:
    """Every run of the sweep, setting by setting, seed by seed, both strategies of a seed together."""
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise ConfigError(f"--strategies {','.join(strategies)}: use fair, reputation or both")
    runs = [
        RunSpec(setting, seed, strategy)
        for setting in settings_grid(sets)
        for seed in seeds
        for strategy in strategies
    ]
    if len(runs) > MAX_RUNS:
        raise ConfigError(f"the sweep has {len(runs):,} runs, more than {MAX_RUNS:,}: sweep fewer values")
    return runs
