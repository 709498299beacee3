"""Scenarios: typed, validated TOML files that fix everything a run depends on, seed included.

`load_scenario("quick")` reads `scenarios/quick.toml`; a path reads that file. An invalid scenario
fails before anything starts, with the field and the reason. The scenario as run is written next to
every run's results, so any result can be reproduced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from base.errors import ConfigError
from base.scenarios import read_scenario
from base.validation import problems
from domain.population import PopulationConfig
from domain.realism import Realism
from domain.request_process import RequestProcess


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Population(_Strict):
    count: int = Field(12, ge=1, le=5_000, description="Prosumers at the end of the ramp (`--prosumers`).")
    mix: tuple[float, float, float, float] = Field(
        (0.35, 0.10, 0.40, 0.15),
        description="Weights of solar, wind, consumer and battery in the population (normalised; each "
        "prosumer's kind is drawn from them with the seed).",
    )
    site_lat: float = Field(
        51.3, ge=-90, le=90, description="Latitude of the site (degrees): sun and weather."
    )
    site_lon: float = Field(9.5, ge=-180, le=180, description="Longitude of the site (degrees).")

    def config(self) -> PopulationConfig:
        """The population model's configuration: this mix and site (what every prosumer is drawn from)."""
        return PopulationConfig(site_lat=self.site_lat, site_lon=self.site_lon, mix=self.mix)

    @model_validator(mode="after")
    def _mix(self) -> Population:
        if min(self.mix) < 0 or sum(self.mix) <= 0:
            raise ValueError(
                "mix needs four weights >= 0 with a positive sum (solar, wind, consumer, battery)"
            )
        return self


class Ramp(_Strict):
    """Start `initial` prosumers `delay_ms` apart, then add `add` every `every_s` until `until` (R13)."""

    initial: int = Field(10, ge=1, description="Prosumers started first.")
    delay_ms: int = Field(200, ge=0, le=60_000, description="Real milliseconds between two starts.")
    add: int = Field(0, ge=0, description="Prosumers added at each step of the ramp (DER arrivals).")
    every_s: float = Field(1_800.0, gt=0, description="Simulated seconds between additions.")
    until: int | None = Field(
        None, ge=1, description="Stop adding at this many prosumers (unset: population.count)."
    )


class Incidents(_Strict):
    outage_rate_per_hour: float = Field(0.02, ge=0, description="Outages per prosumer per simulated hour.")
    outage_mean_duration_s: float = Field(1_800.0, gt=0, description="Mean outage length, simulated seconds.")
    renegotiation_rate_per_hour: float = Field(
        0.01, ge=0, description="Renegotiations per prosumer per simulated hour (R3)."
    )
    renegotiation_after_outage_rate_per_hour: float = Field(
        0.2, ge=0, description="Renegotiations per prosumer per simulated hour just after an outage (R3)."
    )
    removal_share: float = Field(0.0, ge=0, le=1, description="Share of prosumers that leave during the run.")


class Chain(_Strict):
    mode: Literal["embedded", "rpc"] = Field("embedded", description="embedded anvil, or an RPC URL.")
    rpc_url: str = Field("", description="For mode = rpc (Volta: https://volta-rpc.energyweb.org).")
    chain_id: int | None = Field(None, description="Expected chain id (73799 for Volta).")
    block_time_s: float = Field(
        0.0, ge=0, description="Embedded: seconds per block; 0 mines per transaction."
    )
    gas_limit: int = Field(8_000_000, ge=1_000_000, description="Embedded: block gas limit (Volta's ~8M).")
    manifest: str = Field("", description="Reuse this deployment manifest instead of deploying.")

    @model_validator(mode="after")
    def _rpc(self) -> Chain:
        if self.mode == "rpc" and not self.rpc_url:
            raise ValueError("mode = 'rpc' needs rpc_url")
        return self


class Scenario(_Strict):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+$", description="Name of the scenario (results folder prefix)."
    )
    description: str = Field("", description="One line on what it is.")
    seed: int = Field(
        ge=0, lt=2**63, description="Seed of everything drawn: population, requests, incidents."
    )
    duration_s: float = Field(gt=0, description="Simulated duration of the run (s).")
    speed: float = Field(60.0, gt=0, le=10_000, description="Simulated seconds per real second.")
    sim_start: AwareDatetime = Field(
        datetime(2025, 6, 21, 6, tzinfo=UTC),
        description="Simulated start time (ISO 8601 with a timezone): sun, load profiles.",
    )
    strategy: Literal["fair", "reputation", "both"] = Field(
        "both", description="fair, reputation, or both one after the other on the same population."
    )
    reading_interval_s: float = Field(
        1.0, gt=0, le=60, description="Real seconds between two readings of a prosumer."
    )
    answers: Literal["direct", "relayed"] = Field(
        "direct",
        description="How prosumers answer requests: their own transactions (direct), or EIP-712 signed "
        "answers the aggregator relays in batches (relayed; docs/relayed-answers.md).",
    )
    population: Population = Population()
    ramp: Ramp = Ramp()
    requests: RequestProcess = RequestProcess()  # the domain's request process (R12)
    incidents: Incidents = Incidents()
    realism: Realism = Realism()  # what makes deliveries miss (domain.realism); default: ideal
    chain: Chain = Chain()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        until = self.ramp.until or self.population.count
        if self.ramp.initial > self.population.count or until > self.population.count:
            raise ValueError(
                f"ramp (initial {self.ramp.initial}, until {until}) exceeds population.count "
                f"({self.population.count})"
            )
        return self

    @property
    def strategies(self) -> list[str]:
        return ["fair", "reputation"] if self.strategy == "both" else [self.strategy]

    @property
    def real_duration_s(self) -> float:
        return self.duration_s / self.speed

    def with_overrides(self, **changes: object) -> Scenario:
        """A copy with top-level or dotted changes (`population.count=50`), validated again."""
        return self.changed(changes)

    def changed(self, changes: dict[str, object], source: str | None = None) -> Scenario:
        """`with_overrides` of a dict; an invalid result is a ConfigError naming `source` (default: the
        changes)."""
        data = self.model_dump()
        for key, value in changes.items():
            if value is None:
                continue
            target = data
            *path, last = key.split(".")
            for part in path:
                target = target[part]
            target[last] = value
        given = ", ".join(f"{k}={v}" for k, v in changes.items() if v is not None)
        return validate(data, source or f"{self.name} with {given}")

    def to_toml(self) -> str:
        return _to_toml(self.model_dump(mode="json"))


def validate(data: dict[str, object], source: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid scenario {source}: {problems(exc, whole='(scenario)')}") from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (scenarios/NAME.toml) or a TOML file by path."""
    path, data = read_scenario(name_or_path)
    return validate(data, str(path))


def _to_toml(data: dict[str, object], prefix: str = "") -> str:
    """A small TOML writer for the scenario's own shape (scalars, lists, nested tables)."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    out = "\n".join(lines) + "\n"
    for key, value in tables:
        name = f"{prefix}{key}"
        out += f"\n[{name}]\n" + _to_toml(value, prefix=f"{name}.")
    return out


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
