"""Grid operator settings, read from `GRID_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GridSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRID_", env_file=".env", extra="ignore")

    aggregator_url: str = Field("http://127.0.0.1:8000", description="Base URL of the aggregator.")
    token: SecretStr = Field(description="The grid operator's bearer credential (AGGREGATOR_GRID_TOKEN).")
    scenario: str = Field("quick", description="Scenario name or TOML path: the request schedule.")
    rpc_url: str = Field("", description="Chain RPC URL, to read each request's result from the chain.")
    manifest: Path = Field(Path("deployment/manifest.json"), description="Deployment manifest.")
    out: Path = Field(Path("results/grid_operator.json"), description="Where the requests and results go.")
    sim_real_start_epoch: float | None = Field(
        None, description="Real Unix time of the scenario's simulated start (default: when it starts)."
    )
    settle_timeout_s: float = Field(600.0, gt=0, description="Real seconds to wait for the last settlement.")
    flex_wait_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Real seconds a request waits for deliverable flexibility (a fleet still registering) "
        "before it is skipped.",
    )
