"""Prosumer settings, read from `PROSUMER_*` environment variables (and `.env`).

Times are real seconds unless a field says *simulated*. The simulated clock (`sim_*`) must be the
aggregator's (`AGGREGATOR_SIM_*`): a reading's timestamp and a request's window mean the same on both.
Chain settings (fees, retries, receipt timeout) come from `CHAIN_*` (`contracts.settings.ChainSettings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.population import PopulationConfig
from domain.realism import Realism
from prosumer.decision import MAX_RISK_SHARE

DAY_S = 86_400.0


def default_state_dir() -> Path:
    """`~/.local/share/flexsim/prosumers`."""
    return Path.home() / ".local" / "share" / "flexsim" / "prosumers"


class ProsumerSettings(BaseSettings):
    """Everything one prosumer process is configured by. Nothing else in the package reads the env."""

    model_config = SettingsConfigDict(env_prefix="PROSUMER_", env_file=".env", extra="ignore")

    # ------------------------------------------------------------------ identity and model
    key: SecretStr | None = Field(
        None,
        description="Private key (hex) of the prosumer's account. Unset: read from `key_file`, or "
        "generated and saved there, so a restart keeps the account.",
    )
    key_file: Path | None = Field(
        None,
        description="Where the generated key is kept (mode 0600); default "
        "`<state_dir>/prosumer-<seed>-<index>.key`.",
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Folder of the key file and the meter state (energy counter) of each prosumer.",
    )
    seed: int = Field(0, ge=0, description="Population seed (the scenario's seed).")
    population_mix: tuple[float, float, float, float] = Field(
        (0.35, 0.10, 0.40, 0.15),
        description="Weights of solar, wind, consumer and battery the population's kinds are drawn from "
        "(the scenario's `population.mix`; JSON list).",
    )
    site_lat: float = Field(51.3, ge=-90, le=90, description="Latitude of the population's site (degrees).")
    site_lon: float = Field(9.5, ge=-180, le=180, description="Longitude of the population's site (degrees).")
    index: int | None = Field(
        None,
        ge=0,
        description="Which prosumer of the population this process is. Unset: derived from the account "
        "address (replicas of `docker compose --scale prosumer=N` each make their own key).",
    )
    funder_key: SecretStr | None = Field(
        None,
        description="When set, an account that cannot pay for gas is funded from this key at start (R14): "
        "how docker compose replicas get their native tokens.",
    )
    enrolment_token: SecretStr | None = Field(
        None,
        description="The aggregator's enrolment credential (its AGGREGATOR_ENROLMENT_TOKEN): shown to get "
        "the aggregator's consent to this prosumer's contract terms before registering them (R2). "
        "`flexsim run` and compose set it.",
    )
    fund_amount: float = Field(
        0.5, gt=0, description="Native tokens a funder sends (ETH locally, VT on Volta)."
    )
    profile_cache_dir: Path | None = Field(
        None, description="Cache of the yearly PV and load profiles (default ~/.cache/flexsim/profiles)."
    )

    # ------------------------------------------------------------------ where the others are
    aggregator_url: str = Field("http://127.0.0.1:8000", description="Base URL of the aggregator service.")
    rpc_url: str = Field(
        "http://127.0.0.1:8545", description="HTTP RPC URL of the chain (its own connection)."
    )
    manifest: Path = Field(Path("deployment/manifest.json"), description="Deployment manifest path.")

    # ------------------------------------------------------------------ readings and uplink
    reading_interval_s: float = Field(1.0, gt=0, description="Real seconds between two readings.")
    uplink_buffer: int = Field(
        3_600,
        ge=1,
        description="Readings kept at most while the aggregator cannot be reached; beyond that the "
        "OLDEST are dropped (and the count is logged).",
    )
    uplink_batch: int = Field(500, ge=1, le=5_000, description="Readings per POST at most.")
    uplink_every: int = Field(
        2,
        ge=1,
        le=5_000,
        description="Readings sent together in normal operation: the uplink posts once this many wait "
        "(1: every reading on its own). With 1 s readings, 2 halves the requests and no reading waits "
        "more than about a second.",
    )
    uplink_hold_s: float = Field(
        1.5,
        ge=0,
        description="...or once the oldest reading waiting is this old (real s), however few wait.",
    )
    http_timeout_s: float = Field(10.0, gt=0, description="Timeout of one HTTP call to the aggregator.")
    availability_every_s: float = Field(
        5.0,
        ge=0,
        description="How often (real s) it tells the aggregator what it can deliver now (PUT /availability); "
        "0: never.",
    )
    availability_refresh_s: float = Field(
        20.0,
        gt=0,
        description="An unchanged availability is declared again this often (real s); keep it under twice "
        "the aggregator's online window (AGGREGATOR_ONLINE_WINDOW_S, 30 s), after which a declaration "
        "no longer counts.",
    )
    availability_tolerance: float = Field(
        0.02,
        ge=0,
        description="Between refreshes, a new availability is declared only when a direction moved by more "
        "than this share of what was declared last (0: any change).",
    )
    flush_timeout_s: float = Field(
        5.0, ge=0, description="On shutdown, how long to keep sending buffered readings."
    )

    # ------------------------------------------------------------------ simulated clock
    sim_start: AwareDatetime | None = Field(
        None,
        description="Simulated time at `sim_real_start_epoch`; unset means simulated = real time. The "
        "simulated clock must be the aggregator's (`AGGREGATOR_SIM_*`).",
    )
    sim_speed: float = Field(1.0, gt=0, description="Simulated seconds per real second.")
    sim_real_start_epoch: float | None = Field(
        None, description="Real Unix time at which the simulated clock shows `sim_start` (default: start)."
    )

    # ------------------------------------------------------------------ contract (R2, R3)
    contract_horizon_s: float = Field(
        30 * DAY_S, gt=0, description="Simulated seconds from registration (or renewal) to expiry."
    )
    renew: bool = Field(True, description="Renew the contract (same terms, new expiry) before it expires.")
    renew_before_s: float = Field(
        DAY_S, ge=0, description="Renew when the contract expires within this many simulated seconds."
    )
    renegotiation_rate_per_hour: float = Field(
        0.01, ge=0, description="Random renegotiations per simulated hour (up or down)."
    )
    renegotiation_after_outage_rate_per_hour: float = Field(
        0.2,
        ge=0,
        description="Renegotiation rate per simulated hour after an outage; these go downwards (R3).",
    )
    after_outage_window_s: float = Field(
        6 * 3600.0,
        ge=0,
        description="Simulated seconds after an outage during which that higher rate applies.",
    )

    # ------------------------------------------------------------------ behaviour (R7, R8, R12)
    willingness: float = Field(
        0.95, ge=0, le=1, description="Probability of taking part in a request it can serve."
    )
    max_risk_share: float = Field(
        MAX_RISK_SHARE,
        ge=0,
        description=(
            "Accept only when the settlement baseline's expected error is at most this share of the "
            "commitment (prosumer.decision); higher values take more risk of penalties."
        ),
    )
    realism: Realism = Field(
        default_factory=Realism,
        description="The scenario's `[realism]` table as JSON: what makes its deliveries miss "
        "(domain.realism, docs/realism.md); default: an ideal prosumer.",
    )
    outage_rate_per_hour: float = Field(0.02, ge=0, description="Outages per simulated hour (Poisson, R12).")
    outage_mean_duration_s: float = Field(
        1_800.0, gt=0, description="Mean outage duration, simulated seconds (exponential)."
    )

    # ------------------------------------------------------------------ answers (docs/relayed-answers.md)
    answers: Literal["direct", "relayed"] = Field(
        "direct",
        description=(
            "How it answers requests: its own transaction (direct), or an EIP-712 signed answer the "
            "aggregator relays in a batch (relayed; falls back to a transaction near the deadline)."
        ),
    )
    relay_fallback_s: float = Field(
        6.0,
        ge=0,
        description="Relayed: answer with its own transaction when the relayed answer is not on chain "
        "this many seconds before the deadline.",
    )
    # ------------------------------------------------------------------ tamper evidence
    readings_root_margin_s: float = Field(
        960.0,
        gt=0,
        description="Simulated seconds before a request's window and after it that the prosumer's signed "
        "readings root covers (docs/tamper-evidence.md): at least the aggregator's baseline margin.",
    )

    # ------------------------------------------------------------------ chain following
    ws_url: str | None = Field(
        None,
        description="WebSocket RPC URL of the chain (anvil: ws://host:port, its HTTP port): when set, the "
        "market's events are pushed over one subscription of the process's own instead of polled every "
        "`event_poll_s`. Unset: `CHAIN_WS_URL`; neither: polled.",
    )
    event_poll_s: float = Field(1.0, gt=0, description="How often the chain is polled for new blocks.")
    upkeep_every_s: float = Field(
        5.0,
        gt=0,
        description="With pushed events: how often (real s) the contract upkeep runs (renewal, random "
        "renegotiation) between events. Polled, it runs every poll.",
    )
    log_range_blocks: int = Field(1_000, ge=1, description="Most blocks asked for in one eth_getLogs call.")

    def population(self) -> PopulationConfig:
        """The population this prosumer is drawn from (with `seed` and `index`): the scenario's mix and
        site."""
        return PopulationConfig(site_lat=self.site_lat, site_lon=self.site_lon, mix=self.population_mix)

    def resolved_key_file(self) -> Path:
        """The key file: `key_file`, or `<state_dir>/prosumer-<seed>-<index>.key` (index `auto` if unset)."""
        name = "auto" if self.index is None else str(self.index)
        return self.key_file or self.state_dir / f"prosumer-{self.seed}-{name}.key"

    def commands_file(self) -> Path:
        """Where a driver (the console) appends commands for this prosumer (`prosumer.commands`)."""
        return self.resolved_key_file().with_suffix(".commands.jsonl")

    def meter_file(self) -> Path:
        """Where the meter's energy counter survives a restart."""
        return self.resolved_key_file().with_suffix(".meter.json")
