"""What a run knows of its prosumers besides the chain: each one's traits (`domain.realism`) and outage
schedule, reproduced from the scenario seed exactly as the prosumer process drew them, by address."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from eth_account import Account

from domain.population import Stream, sample_entry
from domain.realism import draw_traits
from prosumer.agent import outage_schedule
from simulation.scenario import Scenario
from simulation.shortfall import Prosumer


def known_prosumers(scenario: Scenario, keys: list[str]) -> dict[str, Prosumer]:
    """Address (lower case) -> traits and outages of prosumer i, whose key is `keys[i]`."""
    out = {}
    inc = scenario.incidents
    for i, key in enumerate(keys):
        entry = sample_entry(scenario.seed, i, scenario.population.config())
        traits = draw_traits(scenario.realism, entry.kind, entry.terms.capacity_w, entry.rng(Stream.TRAITS))
        outages = outage_schedule(
            entry, inc.outage_rate_per_hour, inc.outage_mean_duration_s, scenario.sim_start
        )
        out[Account.from_key(key).address.lower()] = Prosumer(traits, tuple(outages))
    return out


def lookup(scenario: Scenario, keys_file: Path) -> Callable[[str], Prosumer]:
    """`known_prosumers` of a run folder's fleet keys; an unknown address is an ideal prosumer."""
    try:
        keys = json.loads(keys_file.read_text())
    except (OSError, ValueError):
        keys = []
    table = known_prosumers(scenario, keys)
    return lambda address: table.get(address.lower(), Prosumer())
