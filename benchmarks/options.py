"""What each benchmark runs with: one model per benchmark, each field a command-line option of
`flexsim bench NAME` (the description is its help, an alias its option name).

Kept apart from the benchmarks themselves, which import web3, numpy and the services: the CLI builds
its parser from these models without importing any of that (`flexsim --help` stays fast).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class GasOptions(BaseModel):
    """`flexsim bench gas`."""

    prosumers: int = Field(360, description="prosumers registered (>= 250)")


class IngestOptions(BaseModel):
    """`flexsim bench ingest`."""

    prosumers: int = Field(64, description="registered, logged-in clients (single phase)")
    seconds: float = Field(10.0, description="duration of the single-reading phase")
    batch_size: int = Field(1_000, description="readings per batch POST")
    batch_clients: int = Field(4, description="concurrent batch clients")
    batch_readings: int = Field(200_000, description="readings sent in batches")
    database_url: str | None = Field(None, description="default: SQLite in a temporary folder")


class FleetOptions(BaseModel):
    """`flexsim bench fleet` (`interval_s` is `--interval`)."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    prosumers: int = Field(100, description="prosumer processes")
    seconds: float = Field(60.0, description="measured period, once all stream")
    interval_s: float = Field(1.0, alias="interval", description="real seconds between readings")
    seed: int = Field(0, description="population seed")
    rpc_url: str | None = Field(None, description="a running chain (default: start anvil)")
    manifest: Path | None = Field(None, description="its deployment manifest")
    aggregator_url: str | None = Field(None, description="a running aggregator (default: start one)")
    database_url: str | None = Field(None, description="that aggregator's database (for received_at)")
    admin_token: str | None = Field(None, description="that aggregator's admin token (for its clock)")

    @field_validator("rpc_url")
    @classmethod
    def _rpc_url(cls, value: str | None) -> str | None:
        from contracts.chain import check_rpc_url

        return None if value is None else check_rpc_url(value)


class E2eOptions(BaseModel):
    """`flexsim bench e2e`."""

    sizes: list[int] = Field([50, 200], description="prosumer counts, comma-separated")
    requests: int = Field(4, description="requests per size (at most)")
    speed: float = Field(120.0, description="simulated seconds per real second")
    # 21: its Poisson schedule spreads the 4 requests over the run (seeds 20-29 looked at)
    seed: int = Field(21, description="scenario seed (its request schedule)")
    out: Path | None = Field(None, description="keep the runs' folders here (default: a temporary folder)")

    @field_validator("sizes", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return [int(x) for x in value.split(",") if x.strip()]
        except ValueError:
            raise ValueError("give prosumer counts like 50,200") from None


class ConsoleOptions(BaseModel):
    """`flexsim bench console`."""

    speed: float = Field(60.0, description="simulated seconds per real second of the sandbox")
    loaders: int = Field(4, description="accounts posting readings batches in the throughput phases")
    batch_size: int = Field(200, description="readings per batch")
    phase_s: float = Field(5.0, description="real seconds of each throughput phase")
    phases: int = Field(16, description="pairs of phases (page open, none), order alternated")
    probes: int = Field(40, description="probe readings and probe transactions timed for the latency")


class RunOptions(BaseModel):
    """`flexsim bench run`."""

    scenario: str = Field("quick", description="scenario name or .toml path")
    seed: int | None = Field(None, description="override the scenario's seed")
    prosumers: int | None = Field(None, description="override the population (the ramp is scaled)")
    out: Path | None = Field(None, description="keep the run's folder here (default: a temporary folder)")
