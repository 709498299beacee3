"""Console settings, read from `CONSOLE_*` environment variables (and `.env`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """How the console serves its page. Its credentials for the aggregator come from the run."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", env_file=".env", extra="ignore")

    host: str = Field(
        "127.0.0.1",
        description="Interface the console listens on. It controls the fleet: keep it on loopback unless "
        "the network is yours (`0.0.0.0` in a container).",
    )
    port: int = Field(8090, ge=0, le=65535, description="HTTP port of the console (0 picks a free one).")
    token: SecretStr | None = Field(
        None,
        description="The console's access token (at least 32 characters); unset: a fresh one per run, "
        "printed with the URL at start.",
    )
    poll_s: float = Field(
        0.5,
        gt=0,
        le=10,
        description="How often the console reads the latest readings and the chain while a page is open "
        "(real s). Half a second keeps the page's latency well under a second while an open page costs "
        "the aggregator's machine little (docs/console.md).",
    )
    history_s: float = Field(600.0, gt=0, description="Real seconds of aggregate power kept for the chart.")
