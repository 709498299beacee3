"""Chain settings, read from `CHAIN_*` environment variables (and `.env`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_cache_dir() -> Path:
    """`~/.cache/flexsim`."""
    return Path.home() / ".cache" / "flexsim"


class ChainSettings(BaseSettings):
    """How flexsim reaches a chain and pays for transactions."""

    model_config = SettingsConfigDict(env_prefix="CHAIN_", env_file=".env", extra="ignore")

    rpc_url: str = Field(
        "",
        description="HTTP RPC URL; empty means the embedded anvil chain. When set, `flexsim run` runs on "
        "that chain whatever the scenario says.",
    )
    ws_url: str | None = Field(
        None,
        description="WebSocket RPC URL: prosumers subscribe to the market's events over it (one "
        "subscription each, instead of polling over HTTP); `PROSUMER_WS_URL` overrides it. `flexsim run` "
        "on the embedded anvil uses anvil's own.",
    )
    chain_id: int | None = Field(None, description="Expected chain id (73799 for Volta); checked on connect.")
    deployer_key: SecretStr | None = Field(
        None, description="Key that deploys the contracts; anvil's first dev key on a local chain."
    )
    funder_key: SecretStr | None = Field(
        None,
        description="Key that funds prosumer accounts with native tokens for gas (VT on Volta, R14); "
        "unset: the deployer's, on a local anvil only.",
    )
    aggregator_key: SecretStr | None = Field(
        None,
        description="Key holding the aggregator role of the deployment a run uses (checked against the "
        "chain); the deployer's key when unset (`flexsim deploy` makes the deployer the aggregator "
        "unless told otherwise).",
    )
    manifest: Path | None = Field(
        None, description="`flexsim run` on an external chain: reuse this deployment manifest."
    )
    redeploy: bool = Field(
        False, description="`flexsim run` on an external chain: deploy anew instead of reusing one."
    )
    deployments_dir: Path = Field(
        Path("deployment"),
        description="Where `flexsim run` keeps each external chain's deployment "
        "(<dir>/chain-<id>/manifest.json), reused by later runs on that chain.",
    )
    fee_mode: Literal["eip1559", "legacy"] = Field(
        "eip1559", description="Transaction type to send: `eip1559` or `legacy`."
    )
    priority_fee_gwei: Decimal = Field(
        Decimal("0.1"), ge=0, description="EIP-1559 tip; web3's default of 1-1.5 gwei overpays on EW chains."
    )
    max_fee_multiplier: Decimal = Field(
        Decimal("2"),
        ge=1,
        description="EIP-1559 max fee = base fee x this + tip (headroom for base fee rises).",
    )
    gas_price_gwei: Decimal | None = Field(
        None, ge=0, description="Legacy gas price; the node's eth_gasPrice when unset."
    )
    gas_margin: Decimal = Field(
        Decimal("1.2"),
        ge=1,
        description="Gas limit = estimate x this margin (capped at the block gas limit).",
    )
    receipt_timeout_s: float = Field(120.0, gt=0, description="How long to wait for a receipt.")
    receipt_poll_s: float = Field(
        0.1,
        gt=0,
        le=60,
        description=(
            "How often a pending transaction's receipt is asked for. A tenth of the block time is plenty "
            "(0.5 s on Volta); hundreds of processes polling every 0.1 s load the node and the CPU. "
            "`flexsim run` gives its processes a tenth of the block time unless this is set."
        ),
    )
    rpc_retries: int = Field(5, ge=0, description="Retries of a failing RPC call, with exponential backoff.")
    solc_binary: Path | None = Field(None, description="A native solc to use instead of the resolved one.")
    anvil_binary: Path | None = Field(
        None, description="The anvil binary; node_modules/.bin/anvil by default."
    )
    node_modules: Path | None = Field(None, description="Where `npm ci` installed solc and anvil.")
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Compiled artifacts cache (`<dir>/artifacts/<key>.json`).",
    )
