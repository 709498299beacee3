"""The aggregator's published wire models: what prosumers, the grid operator and tools send and get.

Units: power in W (**positive = delivered to the grid**: production, battery discharge; negative =
drawn from the grid: consumption, battery charging), energy in Wh, times timezone-aware ISO 8601 (the
simulated clock) unless a field says "epoch s". Addresses are 0x-prefixed hex; the API answers with
checksummed addresses. Flexibility requests and profiles are in `aggregator.wire_market`.

Every input model is strict (`INPUT`): a number is never a string or a boolean, an integer field takes
no fractional or float-typed value (`5.0`), a time is an ISO 8601 string (never epoch seconds), and an
unknown field is an error. Bodies are parsed from JSON bytes (`model_validate_json`), where strict mode
still takes a JSON integer for a float field and a string for a time or an enumeration.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from eth_utils import is_hex_address, to_checksum_address
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from aggregator.clock_bounds import MAX_SPEED, REAL_EPOCH_MAX, SIM_MAX, SIM_MIN

EXAMPLE_ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
EXAMPLE_TIME = "2025-06-01T12:00:05Z"


def _address(value: str) -> str:
    if not is_hex_address(value):
        raise ValueError("not a 0x-prefixed 20-byte hex address")
    return to_checksum_address(value)


Address = Annotated[
    str, AfterValidator(_address), Field(description="Account address", examples=[EXAMPLE_ADDRESS])
]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _input(*examples: dict[str, Any]) -> ConfigDict:
    """The configuration of every input model: strict types, unknown fields refused, no NaN."""
    return ConfigDict(
        strict=True, extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": list(examples)}
    )


class ValidationIssue(BaseModel):
    """One problem of a refused input: pydantic's error type, where it is, and what is wrong."""

    type: str = Field(examples=["missing"])
    loc: list[str] = Field(description="Path to the value: body, query, path or header, then the fields")
    msg: str


class ErrorOut(BaseModel):
    """Every refusal and error: a stable code and a message that says what to do. Validation errors
    (422 `invalid`) add `errors`, one entry per problem."""

    model_config = _examples(
        {"error": "unauthorized", "detail": "bearer token expired: log in again"},
        {
            "error": "invalid",
            "detail": "body.power_w: Input should be a valid number",
            "errors": [
                {"type": "float_type", "loc": ["body", "power_w"], "msg": "Input should be a valid number"}
            ],
        },
    )
    error: str = Field(
        description="Stable code, e.g. unauthorized, forbidden, not_found, invalid, rate_limited"
    )
    detail: str = Field(description="What was wrong and what to do")
    errors: list[ValidationIssue] | None = Field(None, description="Validation errors only: each problem")


# ---------------------------------------------------------------------------------------------- auth


class ChallengeIn(BaseModel):
    model_config = _input({"address": EXAMPLE_ADDRESS})
    address: Address


class ChallengeOut(BaseModel):
    """Sign `message` with EIP-191 `personal_sign` (eth_account: `encode_defunct(text=message)`)."""

    model_config = _examples(
        {
            "address": EXAMPLE_ADDRESS,
            "nonce": "kq3T0d1yX2m4b8sJ",
            "message": "flexsim aggregator login\nAddress: " + EXAMPLE_ADDRESS + "\nNonce: kq3T0d1yX2m4b8sJ"
            "\nIssued At: 2025-06-01T12:00:00Z\nExpiration Time: 2025-06-01T12:05:00Z",
            "expires_at": "2025-06-01T12:05:00Z",
        }
    )
    address: Address
    nonce: str
    message: str
    expires_at: datetime = Field(description="Real (wall-clock) time after which the nonce is refused.")


class LoginIn(BaseModel):
    model_config = _input(
        {"address": EXAMPLE_ADDRESS, "nonce": "kq3T0d1yX2m4b8sJ", "signature": "0x" + "ab" * 65}
    )
    address: Address
    nonce: str = Field(min_length=1, max_length=100)
    signature: str = Field(min_length=2, max_length=200, description="65-byte signature, hex")


class TokenOut(BaseModel):
    model_config = _examples(
        {
            "access_token": "3v9kJ0qf3mX5pQ8c0ZkK1bq0vS7yA2dE4gH6jL8nP0r",
            "token_type": "bearer",
            "expires_at": "2025-06-01T13:00:00Z",
            "address": EXAMPLE_ADDRESS,
        }
    )
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    address: Address


# ------------------------------------------------------------------------------------------ readings


class ReadingStatus(StrEnum):
    OK = "ok"
    OUTAGE = "outage"
    MODULATING = "modulating"


STATUS_CODES = {ReadingStatus.OK: 0, ReadingStatus.OUTAGE: 1, ReadingStatus.MODULATING: 2}
STATUS_NAMES = {code: status for status, code in STATUS_CODES.items()}

READING_EXAMPLE: dict[str, Any] = {
    "seq": 1042,
    "timestamp": EXAMPLE_TIME,
    "power_w": 5230.5,
    "energy_wh": 18250.0,
    "soc": None,
    "status": "ok",
}


class ReadingIn(BaseModel):
    """One meter reading. `(prosumer, seq)` identifies it: sending it again is acknowledged, not stored."""

    model_config = _input(READING_EXAMPLE)
    seq: int = Field(ge=0, lt=2**63, description="Per-prosumer sequence number")
    timestamp: AwareDatetime = Field(description="Simulated time of the measurement, timezone-aware")
    power_w: float = Field(description="W, positive = delivered to the grid, negative = drawn from it")
    energy_wh: float = Field(description="Meter counter: net energy delivered to the grid since start, Wh")
    soc: float | None = Field(None, ge=0.0, le=1.0, description="State of charge 0..1 (batteries only)")
    status: ReadingStatus = ReadingStatus.OK
    available_w: float | None = Field(
        None,
        ge=0.0,
        description=(
            "Producers only: the power the weather allowed over the same span (the inverter's or turbine "
            "controller's available active power), W; a producer's delivery is measured against it"
        ),
    )


class ReadingAck(BaseModel):
    """2xx means committed to the store: `stored` now, or `duplicate` of one stored before."""

    model_config = _examples({"seq": 1042, "status": "stored"})
    seq: int
    status: Literal["stored", "duplicate"]


class ReadingBatchIn(BaseModel):
    """Up to `batch_max_items` readings of the authenticated prosumer; each is answered on its own (a
    malformed item is rejected alone, so the server also accepts items that do not fit `ReadingIn`)."""

    model_config = _input({"readings": [READING_EXAMPLE, {**READING_EXAMPLE, "seq": 1043}]})
    readings: list[ReadingIn] = Field(min_length=1)


class BatchItemAck(BaseModel):
    index: int = Field(description="Position in the batch")
    seq: int | None
    status: Literal["stored", "duplicate", "rejected"]
    reason: str | None = None


class BatchAck(BaseModel):
    """Always 200 once the valid items are committed; rejected items carry the reason and are not stored."""

    model_config = _examples(
        {
            "stored": 1,
            "duplicates": 0,
            "rejected": 1,
            "items": [
                {"index": 0, "seq": 1042, "status": "stored", "reason": None},
                {"index": 1, "seq": 1043, "status": "rejected", "reason": "soc: must be <= 1"},
            ],
        }
    )
    stored: int
    duplicates: int
    rejected: int
    items: list[BatchItemAck]


READING_OUT_EXAMPLE = {"prosumer": EXAMPLE_ADDRESS, "kind": "solar", **READING_EXAMPLE}


class ReadingOut(BaseModel):
    model_config = _examples(READING_OUT_EXAMPLE)
    prosumer: Address
    kind: str
    seq: int
    timestamp: datetime
    power_w: float
    energy_wh: float
    soc: float | None
    status: ReadingStatus
    available_w: float | None = None


class BucketOut(BaseModel):
    """Mean of the readings of one prosumer in [start, start + resolution)."""

    model_config = _examples(
        {
            "prosumer": EXAMPLE_ADDRESS,
            "kind": "solar",
            "start": "2025-06-01T12:00:00Z",
            "power_w": 5120.3,
            "soc": None,
            "samples": 180,
            "incidents": 0,
        }
    )
    prosumer: Address
    kind: str
    start: datetime
    power_w: float
    soc: float | None
    samples: int
    incidents: int = Field(description="Readings in the bucket whose status is not ok")


class ReadingsOut(BaseModel):
    """Raw `readings` when no resolution is asked for, else `buckets`; `truncated` at the row limit."""

    model_config = _examples(
        {
            "resolution_s": None,
            "count": 1,
            "truncated": False,
            "readings": [READING_OUT_EXAMPLE],
            "buckets": [],
        }
    )
    resolution_s: int | None
    count: int
    truncated: bool
    readings: list[ReadingOut] = []
    buckets: list[BucketOut] = []


class KindOverview(BaseModel):
    online: int
    power_w: float


class OverviewOut(BaseModel):
    """Live state from the latest reading of every online prosumer."""

    model_config = _examples(
        {
            "at": EXAMPLE_TIME,
            "production_w": 52300.0,
            "consumption_w": 18150.0,
            "net_w": 34150.0,
            "flex_up_w": 12000,
            "flex_down_w": 9500,
            "prosumers_online": 12,
            "incidents": 1,
            "by_kind": {
                "solar": {"online": 8, "power_w": 52300.0},
                "consumer": {"online": 4, "power_w": -18150.0},
            },
        }
    )
    at: datetime = Field(description="Simulated time of the overview")
    production_w: float = Field(description="Sum of positive powers (delivered to the grid)")
    consumption_w: float = Field(description="Sum of the magnitudes of negative powers")
    net_w: float = Field(description="production - consumption")
    flex_up_w: int = Field(description="Contracted flexibility up of the online prosumers not in outage")
    flex_down_w: int = Field(description="Contracted flexibility down of the online prosumers not in outage")
    deliverable_up_w: int = Field(
        0,
        description="What the online prosumers say they can deliver up now (their declared availability, "
        "each capped at its contracted offer): what a request should be sized against",
    )
    deliverable_down_w: int = Field(0, description="The same, down")
    prosumers_online: int
    incidents: int = Field(description="Online prosumers whose latest reading is not ok")
    by_kind: dict[str, KindOverview]


class LatestReadingOut(BaseModel):
    """The latest stored reading of one prosumer (from the live overview, in memory)."""

    prosumer: Address
    kind: str
    seq: int
    timestamp: datetime = Field(description="Simulated time of the measurement")
    power_w: float
    status: ReadingStatus
    received_at: datetime = Field(description="Real time the reading arrived")
    online: bool = Field(description="It arrived within the online window (AGGREGATOR_ONLINE_WINDOW_S)")


class LatestReadingsOut(BaseModel):
    """The latest stored reading of every prosumer seen since the service started."""

    model_config = _examples(
        {
            "prosumers": [
                {
                    "prosumer": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                    "kind": "solar",
                    "seq": 1042,
                    "timestamp": EXAMPLE_TIME,
                    "power_w": 5230.5,
                    "status": "ok",
                    "received_at": "2026-11-30T12:00:05Z",
                    "online": True,
                }
            ]
        }
    )
    prosumers: list[LatestReadingOut]


class AvailabilityIn(BaseModel):
    """What a prosumer can deliver right now if asked, per direction (W): its contracted offer limited by
    its state (outage, state of charge, the weather's headroom) and its delivery risk."""

    model_config = _input({"up_w": 1200, "down_w": 0})
    up_w: int = Field(ge=0, lt=2**32, description="W it would commit up now")
    down_w: int = Field(ge=0, lt=2**32, description="W it would commit down now")


class AvailabilityAck(BaseModel):
    """What the aggregator counts of the declaration: capped at the prosumer's contracted offer."""

    model_config = _examples({"up_w": 1200, "down_w": 0})
    up_w: int
    down_w: int


# ---------------------------------------------------------------------------------------------- ops


class HealthOut(BaseModel):
    model_config = _examples(
        {"status": "ok", "database": True, "writer_alive": True, "queue_rows": 0, "services": {}}
    )
    status: Literal["ok", "degraded"]
    database: bool
    writer_alive: bool
    queue_rows: int
    services: dict[str, bool] = Field(description="Background services and whether each still runs")


class ClockIn(BaseModel):
    """A new simulated clock. It must show a time in [1970, 2200) now (see `aggregator.simclock`)."""

    model_config = _input({"sim_start": "2025-06-01T00:00:00Z", "speed": 60.0, "real_start_epoch": None})
    sim_start: AwareDatetime = Field(ge=SIM_MIN, lt=SIM_MAX, description="Simulated time at real_start_epoch")
    speed: float = Field(1.0, gt=0, le=MAX_SPEED, description="Simulated seconds per real second")
    real_start_epoch: float | None = Field(
        None,
        ge=0,
        lt=REAL_EPOCH_MAX,
        description="Real Unix time of sim_start, 1970 to 2100 (default: now)",
    )


class ClockOut(BaseModel):
    model_config = _examples(
        {
            "sim_now": "2025-06-01T02:00:00Z",
            "sim_start": "2025-06-01T00:00:00Z",
            "speed": 60.0,
            "real_start_epoch": 1748736000.0,
        }
    )
    sim_now: datetime
    sim_start: datetime
    speed: float
    real_start_epoch: float


class RevokeIn(BaseModel):
    model_config = _input({"address": EXAMPLE_ADDRESS})
    address: Address


class RevokeOut(BaseModel):
    model_config = _examples({"address": EXAMPLE_ADDRESS, "revoked": 1})
    address: Address
    revoked: int = Field(description="Bearer tokens revoked")
