"""The shape of `flexsim bench ingest --json` (`docs/schemas/ingest.schema.json`): `IngestResult`.

CI reads `targets` and `integrity` (`.ci/run`). Timings vary from run to run; nothing fails on them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from base.published import Part, Published
from benchmarks.machine import Machine
from benchmarks.targets import AtLeast, AtMost


class Service(Part):
    server: str = Field(description="How the aggregator was served.")
    database: str = Field(description="Its database (the URL's scheme).")
    auth: str = Field(description="How the clients were authenticated.")
    durability: str = Field(description="What an acknowledgement guarantees.")


class LatencyMs(Part):
    p50: float = Field(description="Median latency of an acknowledged POST (ms).")
    p90: float = Field(description="90th percentile (ms).")
    p99: float = Field(description="99th percentile (ms).")
    max: float = Field(description="Slowest (ms).")


class SinglePhase(Part):
    clients: int = Field(description="Concurrent clients, one reading per POST.")
    seconds: float = Field(description="Measured period (after a 1 s warm-up).")
    acknowledged: int = Field(description="Readings acknowledged in the period.")
    acknowledged_with_warmup: int = Field(description="Readings acknowledged, warm-up included.")
    errors: dict[str, int] = Field(description="Refusals in the period, by HTTP status.")
    readings_per_s: float = Field(description="Acknowledged readings per second.")
    latency_ms: LatencyMs = Field(description="Latency of an acknowledged POST.")


class BatchPhase(Part):
    clients: int = Field(description="Concurrent batch clients.")
    batch_size: int = Field(description="Readings per POST /readings/batch.")
    batches: int = Field(description="Batches sent.")
    stored: int = Field(description="Readings the service said it stored.")
    seconds: float = Field(description="Wall time of the phase.")
    readings_per_s: float = Field(description="Stored readings per second.")
    batch_latency_ms_p50: float = Field(description="Median latency of one batch POST (ms).")


class RawStore(Part):
    rows: int = Field(description="Rows inserted straight into a scratch readings table.")
    transaction_rows: int = Field(description="Rows per transaction.")
    seconds: float = Field(description="Wall time.")
    readings_per_s: float = Field(description="Rows per second: the store's ceiling.")


class Writer(Part):
    commits: float = Field(description="Group commits of the service's writer (from /metrics).")
    mean_rows_per_commit: float = Field(description="Mean readings per commit.")


class Integrity(Part):
    acknowledged_stored: int = Field(description="Readings acknowledged to the clients.")
    rows_in_db: int = Field(description="Readings found in the database afterwards.")
    lost: int = Field(description="Acknowledged but missing (must be 0).")


class Ratios(Part):
    single_vs_bare: float = Field(
        description="Single readings/s as a share of the bare framework's (same clients, same server)."
    )
    batch_vs_raw: float = Field(description="Batched readings/s as a share of the raw store's rows/s.")


class IngestTargets(Part):
    single_vs_bare: AtLeast = Field(description="Single readings as a share of the bare framework's.")
    batch_vs_raw: AtLeast = Field(description="Batch throughput as a share of the store's ceiling.")
    lost: AtMost = Field(description="Acknowledged readings missing from the database.")


class IngestResult(Published):
    """Readings ingest through the real aggregator service (`flexsim bench ingest --json`)."""

    benchmark: Literal["ingest"] = Field(description="Which benchmark.")
    machine: Machine = Field(description="The machine it ran on (service and load generator).")
    service: Service = Field(description="The service measured.")
    single: SinglePhase = Field(description="One reading per POST from every prosumer.")
    batch: BatchPhase = Field(description="Batches of readings.")
    bare_framework: SinglePhase = Field(
        description="The framework's ceiling: the single phase's load against a FastAPI app served the "
        "same way whose routes do no work (`benchmarks.bare`)."
    )
    raw_store: RawStore = Field(description="The store's ceiling without the service.")
    writer: Writer = Field(description="The writer's group commits.")
    integrity: Integrity = Field(description="Every acknowledged reading in the database.")
    ratios: Ratios = Field(description="The service against the ceilings measured in the same run.")
    targets: IngestTargets = Field(description="The targets: shares of the ceilings, nothing lost.")
