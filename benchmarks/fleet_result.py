"""The shape of `flexsim bench fleet --json` (`docs/schemas/fleet.schema.json`): `FleetResult`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from base.published import Part, Published, absent_when_none
from benchmarks.machine import Machine
from benchmarks.targets import AtLeast, AtMost


class FleetSetup(Part):
    prosumers: int = Field(description="Prosumer processes started.")
    reading_interval_s: float = Field(description="Real seconds between two readings.")
    measured_s: float = Field(description="Measured period, once every prosumer streamed.")
    startup_s: float = Field(description="Seconds until every prosumer streamed.")
    fleet: str = Field(description="How the processes were started.")
    fleet_exit_code: int | None = Field(description="The fleet's exit code after SIGTERM (0: clean).")


class MeanMax(Part):
    mean: float = Field(description="Mean over the prosumer processes (MB).")
    max: float = Field(description="Largest (MB).")


class ParentMemory(Part):
    uss: float = Field(description="The fleet parent's private memory (MB).")
    rss: float = Field(description="Its resident memory (MB).")


class FleetMemory(Part):
    uss: MeanMax = Field(description="Unique set size per process at the end: what one more costs.")
    rss: MeanMax = Field(description="Resident set size per process (mostly shared with the parent).")
    pss: MeanMax = Field(description="Proportional set size per process.")
    uss_at_half_period: MeanMax = Field(description="USS at the middle of the period.")
    fleet_parent: ParentMemory = Field(description="The preloaded parent.")


class FleetCpu(Part):
    prosumers_ms_per_reading: float | None = Field(description="CPU of the prosumers per reading (ms).")
    prosumers_share_of_one_core: float = Field(description="Their CPU as a share of one core.")
    aggregator_ms_per_reading: float | None = absent_when_none(
        "CPU of the aggregator per reading (ms); absent when it does not run on this machine."
    )
    anvil_ms_per_reading: float | None = absent_when_none(
        "CPU of anvil per reading (ms); absent when it does not run on this machine."
    )


class ReadingLatency(Part):
    p50: float | None = Field(description="Median seconds from taken to stored.")
    p99: float | None = Field(description="99th percentile.")
    max: float | None = Field(description="Slowest.")


class FleetReadings(Part):
    taken: int = Field(description="Readings taken in the period.")
    stored: int = Field(description="Of those, stored by the aggregator.")
    within_2s: int = Field(description="Stored within 2 s of being taken.")
    latency_s: ReadingLatency = Field(description="Seconds from taken to stored.")


class FleetTargets(Part):
    prosumer_processes: AtLeast = Field(description="Processes running at the end.")
    uss_mb_max: AtMost = Field(description="Largest private memory of a prosumer process (MB).")
    prosumer_cpu_ms_per_reading: AtMost = Field(
        description="CPU time of the prosumer processes per reading taken (ms)."
    )
    share_within_2s: AtLeast = Field(description="Share of readings stored within 2 s.")


class FleetResult(Published):
    """Memory, CPU and timeliness of a fleet of prosumer processes (`flexsim bench fleet --json`)."""

    benchmark: Literal["fleet"] = Field(description="Which benchmark.")
    machine: Machine = Field(description="The machine it ran on.")
    setup: FleetSetup = Field(description="What was measured.")
    memory_mb: FleetMemory = Field(description="Memory per prosumer process (MB).")
    cpu: FleetCpu = Field(description="CPU per reading.")
    readings: FleetReadings = Field(description="Readings taken in the period and when they were stored.")
    targets: FleetTargets = Field(description="The fleet's targets.")
