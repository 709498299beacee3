"""`flexsim bench run`: the wall time of a whole `flexsim run` (the quick scenario by default), phase by
phase: setup, each strategy (chain, deployment, funding, services, play, collection) and the report.
Target: both strategies of the quick scenario within 3 minutes. Other jobs on the machine slow it:
the JSON carries the load averages."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.machine import machine_info
from benchmarks.options import RunOptions
from benchmarks.run_result import RunBenchResult, RunTarget, RunWall
from simulation.orchestrator import run_scenario
from simulation.ramp import with_prosumers
from simulation.scenario import load_scenario

TARGET_S = 180.0


def run(options: RunOptions, progress: Callable[[str], None]) -> RunBenchResult:
    t0 = time.monotonic()
    scenario = load_scenario(options.scenario).with_overrides(seed=options.seed)
    if options.prosumers is not None:
        scenario = with_prosumers(scenario, options.prosumers)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="flexsim-bench-run-") as tmp:
        out = Path(options.out) if options.out else Path(tmp)
        run_scenario(scenario, out, progress, timings=timings)
    total = round(time.monotonic() - t0, 1)
    return RunBenchResult(
        scenario=scenario.name,
        seed=scenario.seed,
        prosumers=scenario.population.count,
        speed=scenario.speed,
        simulated_s=scenario.duration_s,
        strategies=scenario.strategies,
        wall=RunWall(
            setup_s=timings.get("setup", 0.0),
            strategies_s={s: timings.get(s, 0.0) for s in scenario.strategies},
            report_s=timings.get("report", 0.0),
            total_s=total,
        ),
        target=RunTarget(measured_s=total, target_max_s=TARGET_S, met=total <= TARGET_S),
        load_average=[round(x, 2) for x in os.getloadavg()],
        machine=machine_info(),
    )
