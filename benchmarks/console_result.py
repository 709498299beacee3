"""The shape of `flexsim bench console --json` (`docs/schemas/console.schema.json`): `ConsoleResult`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from base.published import Part, Published
from benchmarks.machine import Machine
from benchmarks.targets import AtLeast, AtMost


class ConsoleSetup(Part):
    speed: float = Field(description="Simulated seconds per real second of the sandbox.")
    poll_s: float = Field(description="How often the console reads the aggregator and the chain (s).")
    loaders: int = Field(
        description="Registered accounts posting readings batches during the throughput phases."
    )
    batch_size: int = Field(description="Readings per batch of a loader.")
    phase_s: float = Field(description="Real seconds of each throughput phase.")
    phases: int = Field(
        description="Pairs of phases (one with the page open, one with none), order alternated."
    )
    browser: str = Field(description="The browser that showed the page.")


class Latency(Part):
    samples: int = Field(description="Events timed.")
    missed: int = Field(description="Events never seen on the page before the benchmark ended.")
    p50: float | None = Field(description="Median seconds from the event to its appearance in the page.")
    p95: float | None = Field(description="95th percentile (s).")
    max: float | None = Field(description="Slowest (s).")


class ConsoleLatency(Part):
    reading_stored: Latency = Field(
        description="From a reading's POST answered `stored` (committed) to the page showing its sequence "
        "number (the bench's own probe prosumer, a reading every 0.5 s)."
    )
    chain_event_mined: Latency = Field(
        description="From a transaction's receipt (mined) to the page showing its block or a later one."
    )


class Throughput(Part):
    with_page_readings_per_s: float = Field(description="Mean ingest rate with one console page open.")
    without_page_readings_per_s: float = Field(description="Mean ingest rate with no page open.")
    pair_ratios: list[float] = Field(
        description="Per pair of adjacent phases (one with the page, one without, order alternated): with / "
        "without. Pairs cancel the drift of a shared machine's load."
    )
    ratio: float = Field(description="The median of pair_ratios.")
    ratio_ci95: list[float] | None = Field(
        None,
        description="Distribution-free 95 % confidence interval of that median (order statistics of the "
        "pairs; none below 6 pairs): how far one run's figure can move from the page's true cost.",
    )
    console_cpu_share: float = Field(
        description="CPU of the console's process (its server and poller; the loaders run elsewhere) per "
        "real second of the phases with the page open, in cores."
    )
    browser_cpu_share: float = Field(
        description="CPU of the browser's processes per real second of the phases with the page open, in "
        "cores: on a machine with few cores, what the aggregator loses to the page is mostly this."
    )


class ConsoleTargets(Part):
    latency_p95_s: AtMost = Field(description="p95 of both latencies together (s).")
    throughput_ratio: AtLeast = Field(description="Ingest with a page open / with none.")


class ConsoleResult(Published):
    """How live the console is, and what one open page costs the aggregator (`flexsim bench console`)."""

    benchmark: Literal["console"] = Field(description="Which benchmark.")
    machine: Machine = Field(description="The machine it ran on.")
    setup: ConsoleSetup = Field(description="What was measured.")
    latency_s: ConsoleLatency = Field(description="From an event to its appearance in the page.")
    throughput: Throughput = Field(description="The aggregator's readings ingest, page open vs none.")
    targets: ConsoleTargets = Field(description="The console's targets.")
