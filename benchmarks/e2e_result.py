"""The shape of `flexsim bench e2e --json` (`docs/schemas/e2e.schema.json`): `E2eResult`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from base.published import Part, Published
from benchmarks.machine import Machine
from simulation.run_summary import RequestBound, Stages


class E2eChain(Part):
    kind: str = Field(description="The chain the runs used.")
    chain_id: int = Field(description="Its chain id.")
    block_time_s: float = Field(description="Its block time (s).")
    gas_limit: int = Field(description="Its block gas limit.")
    hardfork: str = Field(description="Its EVM rules.")


class E2eSetup(Part):
    strategy: str = Field(description="The requests' strategy.")
    speed: float = Field(description="Simulated seconds per real second.")
    request_lead_time_sim_s: int = Field(description="Notification lead time (simulated s).")
    request_duration_sim_s: int = Field(description="Request window (simulated s).")
    return_to_baseline_sim_s: int = Field(description="Return-to-baseline check (simulated s).")
    reading_interval_s: float = Field(description="Real seconds between readings.")
    prosumer_processes: str = Field(description="How the prosumer processes were started.")
    latency_clock: str = Field(description="Which clocks the latencies are measured with.")
    bound: str = Field(description="Where the lower bound is defined.")


class E2eSize(Part):
    prosumers: int = Field(description="Prosumers of the run.")
    run_wall_s: float = Field(description="Wall time of the whole run (s).")
    requests: dict[str, int] = Field(description="`total`, and the requests per status.")
    requests_measured: int = Field(description="Requests measured at some stage.")
    participations: int = Field(description="Participations in settled requests.")
    stages: Stages = Field(description="Measured against bound, per stage (the run summary's).")
    per_request: list[RequestBound] = Field(description="Per request.")
    gas_limit_read: int | None = Field(description="The block gas limit watched.")
    readings_within_2s: float | None = Field(description="Share of readings stored within 2 s.")


class RatioTarget(Part):
    measured: float | None = Field(description="Mean measured / mean bound; null when not measured.")
    target_max: float = Field(description="The most it should be.")
    met: bool = Field(description="Measured and at most target_max.")


class E2eResult(Published):
    """Request latencies of the whole market against the chain's bound (`flexsim bench e2e --json`)."""

    benchmark: Literal["e2e"] = Field(description="Which benchmark.")
    machine: Machine = Field(description="The machine it ran on.")
    chain: E2eChain = Field(description="The chain.")
    setup: E2eSetup = Field(description="How the market was run.")
    sizes: list[E2eSize] = Field(description="One run per prosumer count.")
    targets: dict[str, RatioTarget] = Field(description="`<prosumers>_<stage>`: its ratio against 1.5.")
