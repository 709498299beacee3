"""`flexsim bench gas | ingest | fleet | e2e | run`: benchmarks that print JSON (package `benchmarks`).

Each benchmark's options are the fields of its `Options` model (`benchmarks/options.py`, help text
included), so an option is declared once; they are read when the benchmark is chosen. `--json` prints
the result model (`docs/schemas/<name>.schema.json`), otherwise a few lines of it.
"""

from __future__ import annotations

import argparse

from flexsim.cli.options import (
    JSON,
    MANIFEST,
    OUT,
    RPC_URL,
    SEED,
    Group,
    Option,
    add_all,
    model_from,
    model_options,
)
from flexsim.cli.progress import progress

group = Group("bench", help="benchmarks that print JSON")


def gas_options() -> tuple[Option, ...]:
    from benchmarks.options import GasOptions

    return model_options(GasOptions)


def ingest_options() -> tuple[Option, ...]:
    from benchmarks.options import IngestOptions

    return model_options(IngestOptions)


def fleet_options() -> tuple[Option, ...]:
    from benchmarks.options import FleetOptions

    return model_options(FleetOptions, rpc_url=RPC_URL, manifest=MANIFEST, seed=SEED)


def console_options() -> tuple[Option, ...]:
    from benchmarks.options import ConsoleOptions

    return model_options(ConsoleOptions)


def e2e_options() -> tuple[Option, ...]:
    from benchmarks.options import E2eOptions

    return model_options(E2eOptions, out=OUT, seed=SEED)


@group.command(
    "gas", "gas per contract operation on a fresh London anvil", JSON, configure=add_all(gas_options)
)
def bench_gas(args: argparse.Namespace) -> int:
    from benchmarks import gas
    from benchmarks.options import GasOptions

    results = gas.run(model_from(args, GasOptions, gas_options()), progress=progress)
    if args.json:
        print(results.to_json())
    else:
        for name, value in results.gas.to_dict().items():
            print(f"{name:45} {value}")
        for name, t in results.targets.to_dict().items():
            print(f"target {name}: {t['measured']} <= {t['target_max']}: {'met' if t['met'] else 'MISSED'}")
    return 0 if results.met else 3


@group.command(
    "ingest", "readings ingest through the real aggregator service", JSON, configure=add_all(ingest_options)
)
def bench_ingest(args: argparse.Namespace) -> int:
    from benchmarks import ingest
    from benchmarks.options import IngestOptions

    results = ingest.run(model_from(args, IngestOptions, ingest_options()), progress=progress)
    if args.json:
        print(results.to_json())
    else:
        s, b, r = results.single, results.batch, results.raw_store
        print(f"single: {s.readings_per_s} readings/s, p50 {s.latency_ms.p50} ms, p99 {s.latency_ms.p99} ms")
        print(f"batch:  {b.readings_per_s} readings/s (raw store ceiling {r.readings_per_s} rows/s)")
        for name, t in results.targets:
            print(f"target {name}: {t.measured}: {'met' if t.met else 'MISSED'}")
    return 0


@group.command(
    "fleet",
    "memory, CPU and on-time readings of N prosumer processes",
    JSON,
    configure=add_all(fleet_options),
)
def bench_fleet(args: argparse.Namespace) -> int:
    from benchmarks import fleet
    from benchmarks.options import FleetOptions

    results = fleet.run(model_from(args, FleetOptions, fleet_options()), progress=progress)
    if args.json:
        print(results.to_json())
    else:
        m, c, r = results.memory_mb, results.cpu, results.readings
        print(f"USS {m.uss.mean} MB mean, {m.uss.max} MB max; RSS {m.rss.mean} MB mean")
        print(f"CPU {c.prosumers_ms_per_reading} ms per reading; {r.within_2s}/{r.taken} within 2 s")
        for name, t in results.targets:
            print(f"target {name}: {t.measured}: {'met' if t.met else 'MISSED'}")
    return 0


def run_options() -> tuple[Option, ...]:
    from benchmarks.options import RunOptions

    return model_options(RunOptions, out=OUT, seed=SEED)


@group.command(
    "run",
    "wall time of a whole run (the quick scenario): setup, each strategy, report",
    JSON,
    configure=add_all(run_options),
)
def bench_run(args: argparse.Namespace) -> int:
    from benchmarks import run
    from benchmarks.options import RunOptions

    results = run.run(model_from(args, RunOptions, run_options()), progress=progress)
    if args.json:
        print(results.to_json())
    else:
        w = results.wall
        print(f"setup {w.setup_s} s, " + ", ".join(f"{k} {v} s" for k, v in w.strategies_s.items())
              + f", report {w.report_s} s; total {w.total_s} s (target <= {results.target.target_max_s} s: "
              + ("met" if results.target.met else "MISSED") + ")")  # fmt: skip
    return 0


@group.command(
    "e2e",
    "request latencies of the whole market against the chain's bound",
    JSON,
    configure=add_all(e2e_options),
)
def bench_e2e(args: argparse.Namespace) -> int:
    from benchmarks import e2e
    from benchmarks.options import E2eOptions

    results = e2e.run(model_from(args, E2eOptions, e2e_options()), progress=progress)
    if args.json:
        print(results.to_json())
    else:
        for size in results.sizes:
            for stage, v in size.stages:
                print(
                    f"{size.prosumers:4d} prosumers {stage:22} measured {v.measured_mean_s} s, "
                    f"bound {v.bound_mean_s} s, ratio {v.ratio}"
                )
    return 0


@group.command(
    "console",
    "the live console in a browser: event-to-page latency, ingest with a page open vs none",
    JSON,
    configure=add_all(console_options),
)
def bench_console(args: argparse.Namespace) -> int:
    from benchmarks import console
    from benchmarks.options import ConsoleOptions

    results = console.run(model_from(args, ConsoleOptions, console_options()), progress=progress)
    if args.json:
        print(results.to_json())
    else:
        lat, t = results.latency_s, results.throughput
        for name, v in lat:
            print(f"{name:18} p50 {v.p50} s, p95 {v.p95} s ({v.samples} timed, {v.missed} missed)")
        with_page, without = t.with_page_readings_per_s, t.without_page_readings_per_s
        print(f"ingest: {with_page} readings/s with a page, {without} without")
        for name, target in results.targets:
            print(f"target {name}: {target.measured}: {'met' if target.met else 'MISSED'}")
    return 0 if all(target.met for _, target in results.targets) else 3
