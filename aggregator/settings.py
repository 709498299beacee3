"""Aggregator settings, read from `AGGREGATOR_*` environment variables (and `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from aggregator.clock_bounds import MAX_SPEED, REAL_EPOCH_MAX, SIM_MAX, SIM_MIN

MIN_CREDENTIAL_CHARS = 32
READING_BODY_BYTES = 400  # room per reading in a batch body: the largest real one is ~250 bytes


class AggregatorSettings(BaseSettings):
    """Everything the aggregator service is configured by. Nothing else in the package reads the env."""

    model_config = SettingsConfigDict(env_prefix="AGGREGATOR_", env_file=".env", extra="ignore")

    # ------------------------------------------------------------------ HTTP
    host: str = Field("127.0.0.1", description="Interface the HTTP server listens on.")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    log_format: Literal["text", "json"] = Field(
        "text", description="`json` writes one JSON object per log line (with prosumer / request id)."
    )

    # ------------------------------------------------------------------ store
    database_url: str = Field(
        "sqlite:///results/aggregator.db",
        description="SQLAlchemy URL. SQLite (WAL) by default, relative to the working directory; "
        "`postgresql://user@host/db` uses psycopg 3.",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description="SQLite `synchronous` pragma. FULL fsyncs the WAL at every commit, so an "
        "acknowledged reading survives a power cut; NORMAL survives only a process crash.",
    )
    writer_batch_rows: int = Field(
        5_000, ge=1, description="Most readings the writer commits in one transaction (group commit)."
    )
    writer_queue_rows: int = Field(
        50_000,
        ge=1,
        description="Readings waiting for the writer at most; beyond that POSTs get 503 + Retry-After.",
    )
    batch_max_items: int = Field(5_000, ge=1, description="Most readings in one POST /readings/batch.")
    max_batch_body_bytes: int | None = Field(
        None,
        ge=1024,
        description="Largest body of POST /readings/batch, in bytes; larger ones get 413 before they are "
        f"read. Default: {READING_BODY_BYTES} bytes per reading of a full batch (2,000,000 for 5,000).",
    )
    max_body_bytes: int = Field(
        65_536,
        ge=1024,
        description="Largest body of every other request, in bytes (413 beyond, before it is read).",
    )
    query_max_rows: int = Field(100_000, ge=1, description="Most rows one readings query returns.")

    # ------------------------------------------------------------------ reading validation
    power_limit_factor: float = Field(
        1.5, gt=0, description="|power_w| above this times the registered capacity is rejected."
    )
    max_future_s: float = Field(
        900.0,
        ge=0,
        description="Readings stamped more than this many simulated seconds after the server's "
        "simulated clock are rejected.",
    )

    # ------------------------------------------------------------------ simulated clock
    sim_start: AwareDatetime | None = Field(
        None,
        ge=SIM_MIN,
        lt=SIM_MAX,
        description="Simulated time at `sim_real_start_epoch` (1970 to 2200); unset: simulated = real "
        "time. The clock can also be set at run time (PUT /admin/clock).",
    )
    sim_speed: float = Field(
        1.0, gt=0, le=MAX_SPEED, description="Simulated seconds per real second (at most 10,000)."
    )
    sim_real_start_epoch: float | None = Field(
        None,
        ge=0,
        lt=REAL_EPOCH_MAX,
        description="Real Unix time at which the simulated clock shows `sim_start` (default: start).",
    )

    # ------------------------------------------------------------------ chain
    rpc_url: str = Field("", description="HTTP RPC URL of the chain holding the registry.")
    manifest: Path = Field(Path("deployment/manifest.json"), description="Deployment manifest path.")
    aggregator_key: SecretStr | None = Field(
        None, description="Private key of the aggregator account (opens and settles requests)."
    )
    registry_cache_ttl_s: float = Field(
        5.0, ge=0, description="How long a registry answer (active, terms) is reused."
    )
    chain_services: bool = Field(
        True, description="Run chain sync and the dispatcher (needs rpc_url, manifest and aggregator_key)."
    )
    sync_poll_s: float = Field(0.5, gt=0, description="How often chain sync polls for new blocks (s).")
    sync_confirmations: int = Field(0, ge=0, description="Blocks chain sync stays behind the head.")
    block_time_s: float | None = Field(
        None, gt=0, description="Chain block time (s); measured from recent blocks when unset."
    )
    acceptance_share: float = Field(
        0.6, gt=0, lt=1, description="Share of a request's lead time during which prosumers answer."
    )
    baseline_margin_s: float = Field(
        900.0, gt=0, description="Simulated seconds before and after a window used for the baseline (R6)."
    )
    settle_batch: int = Field(200, ge=1, le=233, description="Deliveries per settlement transaction.")
    overbook: bool = Field(
        True,
        description="Fair: the top-up round books power / (the fleet's delivered / committed ratio), at "
        "most +25 % (aggregator/booking.py, docs/aggregator.md). false: it aims at the power.",
    )
    overbook_window: int = Field(
        20, ge=1, description="Over-booking: the latest settled requests whose delivery ratio counts."
    )
    overbook_prior_wh: float = Field(
        200.0,
        ge=0,
        description="Over-booking: committed energy (Wh) the prior 'delivers what it commits' weighs "
        "against the record.",
    )
    openadr_min_lead_s: int = Field(
        300,
        ge=0,
        le=7 * 86_400,
        description="Shortest notification lead (simulated s) of a request made from an OpenADR 3 event "
        "interval whose start is nearer or has passed (docs/openadr.md).",
    )
    openadr_client_id: str = Field(
        "grid-operator",
        min_length=1,
        max_length=128,
        description="OpenADR 3 client id of the business-logic client (the grid operator); its secret is "
        "AGGREGATOR_GRID_TOKEN.",
    )
    relay_every_s: float = Field(
        1.0, gt=0, description="How often signed answers (POST /answers) are relayed on chain (s)."
    )
    relay_batch_gas: int = Field(
        6_000_000, ge=100_000, le=30_000_000, description="Most gas one relayAnswers transaction may use."
    )
    relay_max_pending: int = Field(
        5_000, ge=1, description="Most signed answers waiting to be relayed (503 beyond)."
    )

    # ------------------------------------------------------------------ credentials
    grid_token: SecretStr | None = Field(
        None,
        description="Bearer credential of the grid operator (request endpoints): at least 32 printable "
        "ASCII characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`; unset: "
        "those endpoints refuse. `flexsim run` and compose generate it.",
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Bearer credential for admin endpoints (at least 32 characters, as the grid's, and "
        "different from it); unset: those endpoints refuse.",
    )
    token_ttl_s: float = Field(3_600.0, gt=0, description="Lifetime of a prosumer's bearer token (s).")
    nonce_ttl_s: float = Field(300.0, gt=0, description="Lifetime of a login challenge (s).")
    max_pending_challenges: int = Field(
        100_000,
        ge=1,
        description="Pending login challenges in all at most; beyond, 429 (nothing is evicted).",
    )
    challenges_per_client: int = Field(
        256, ge=1, description="Pending login challenges one client (IP address) may hold; beyond, 429."
    )
    challenges_per_address: int = Field(
        4, ge=1, description="Pending login challenges one client may hold for one address; beyond, 429."
    )
    bearer_failures_per_client: int = Field(
        50,
        ge=1,
        description="Failed bearer attempts (unknown token, wrong credential) one client may make per "
        "`bearer_failure_window_s`; beyond, its bearer requests get 429 until the window ends.",
    )
    bearer_failure_window_s: float = Field(
        60.0, gt=0, description="The window of `bearer_failures_per_client`, in seconds."
    )

    # ------------------------------------------------------------------ consent to contracts (R2)
    enrolment_token: SecretStr | None = Field(
        None,
        description=(
            "Credential a prosumer shows to get the aggregator's consent to its contract terms "
            "(POST /consent); unset: no enrolments. Give the same value to the fleet "
            "(PROSUMER_ENROLMENT_TOKEN)."
        ),
    )
    consent_max_capacity_w: dict[str, int] = Field(
        default_factory=lambda: {"solar": 100_000, "wind": 100_000, "consumer": 250_000, "battery": 100_000},
        description='Largest capacity consented to, per kind (W); JSON, e.g. {"solar": 100000, ...}.',
    )
    consent_max_duration_s: int = Field(
        86_400, gt=0, le=7 * 86_400, description="Longest guaranteed duration consented to (s)."
    )
    consent_max_tariff: int = Field(
        10**18, ge=0, le=10**24, description="Highest tariff consented to (token base units per kWh)."
    )
    consent_max_term_s: int = Field(
        366 * 86_400,
        gt=0,
        le=5 * 365 * 86_400,
        description="Longest contract consented to (chain s to expiry).",
    )
    consent_max_prosumers: int = Field(
        10_000, ge=1, description="Most registrations the aggregator consents to."
    )
    consent_valid_s: int = Field(
        3_600, gt=0, le=86_400, description="How long a consent can be used on chain after it is given (s)."
    )

    # ------------------------------------------------------------------ market and profiles
    default_strategy: Literal["fair", "reputation"] = Field(
        "fair", description="Strategy of a flexibility request that does not name one."
    )
    online_window_s: float = Field(
        30.0, gt=0, description="A prosumer is online when its last reading arrived this recently (real s)."
    )
    site_lat: float = Field(51.3, ge=-90, le=90, description="Latitude of the solar forecast's clear sky.")
    site_lon: float = Field(9.5, ge=-180, le=180, description="Longitude of the solar forecast's clear sky.")
    profile_cache_dir: Path | None = Field(
        None, description="Cache of clear-sky profiles (default ~/.cache/flexsim/profiles)."
    )

    @field_validator("grid_token", "admin_token")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value()
        if len(text) < MIN_CREDENTIAL_CHARS:
            raise PydanticCustomError(
                "weak_credential",
                "must be at least {minimum} characters (got {length}): generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
                {"minimum": MIN_CREDENTIAL_CHARS, "length": len(text)},
            )
        if not (text.isascii() and text.isprintable()) or any(c.isspace() for c in text):
            raise PydanticCustomError(
                "weak_credential",
                "must be printable ASCII without spaces (it travels in an HTTP header): generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            )
        return value

    @model_validator(mode="after")
    def _check_bounds(self) -> AggregatorSettings:
        kinds = {"solar", "wind", "consumer", "battery"}
        if set(self.consent_max_capacity_w) != kinds or not all(
            0 < w <= 100_000_000 for w in self.consent_max_capacity_w.values()
        ):
            raise ValueError(
                f"consent_max_capacity_w must give every kind ({', '.join(sorted(kinds))}) a capacity in "
                f"1..100000000 W, got {self.consent_max_capacity_w}"
            )
        if self.batch_max_items > self.writer_queue_rows:
            raise ValueError(
                f"batch_max_items ({self.batch_max_items}) exceeds writer_queue_rows "
                f"({self.writer_queue_rows}): a full batch could never be queued; raise the queue bound"
            )
        if self.grid_token is not None and self.grid_token == self.admin_token:
            raise ValueError(
                "AGGREGATOR_GRID_TOKEN and AGGREGATOR_ADMIN_TOKEN are the same: the grid operator would "
                "be the admin; give each its own credential"
            )
        return self

    @property
    def batch_body_bytes(self) -> int:
        """The body limit of POST /readings/batch (`max_batch_body_bytes`, or sized to a full batch)."""
        if self.max_batch_body_bytes is not None:
            return self.max_batch_body_bytes
        return max(self.max_body_bytes, READING_BODY_BYTES * self.batch_max_items)
