"""`flexsim experiment`: a sweep of whole runs over seeds x strategies x scenario settings.

Each run is a `flexsim run` of its own (a child process, its own chain and services) with the scenario
as the setting and seed make it, in `<out>/runs/<run id>/`. `jobs` runs play at once. A finished run
leaves `row.json` beside its results: invoked again on the same folder, the experiment keeps those
and plays only what is missing or failed (resumable). Progress lines give each finished run and an
ETA from the runs played so far. At the end: `results.csv` and `experiment.json` (one row per run with
its settings, the comparison per strategy and setting with 95 % intervals, the paired differences) and
`report.html` (simulation.experiment_report).

Experiments shipped in `experiments/` (TOML: scenario, seeds, strategies, `[set]` fields and values):
`compare` (the two strategies over 10 seeds of the quick scenario), `share` (the requested share toward
100 % of the deliverable flexibility), `day` (a simulated day: compliance and reputation over time).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from base.errors import ConfigError, FlexsimError
from base.validation import problems
from simulation.experiment_compare import compare, failed_row, row_of
from simulation.experiment_report import write_results
from simulation.experiment_result import METRICS, ExperimentResult, RunRow
from simulation.ramp import with_prosumers
from simulation.scenario import Scenario, load_scenario
from simulation.sweep import STRATEGIES, RunSpec, parse_seeds, plan_runs, setting_label

EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent / "experiments"
Progress = Callable[[str], None]


class ExperimentDef(BaseModel):
    """An experiment file (`experiments/NAME.toml`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    scenario: str = Field("quick", description="Scenario name or .toml path.")
    seeds: str = Field("1-10", description="Seeds and ranges, e.g. 1-10.")
    strategies: list[str] = Field(default_factory=lambda: list(STRATEGIES))
    set: dict[str, list[Any]] = Field(default_factory=dict, description="Scenario field -> values.")
    jobs: int | None = Field(None, ge=1, description="Runs at once (default: the machine's cores).")


def load_experiment(name_or_path: str) -> ExperimentDef:
    path = Path(name_or_path)
    if not path.suffix:
        path = EXPERIMENTS_DIR / f"{name_or_path}.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.toml")))
        raise ConfigError(f"no experiment {name_or_path!r}: use one of {shipped} or a .toml path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"experiment {path} is not valid TOML: {exc}") from None
    try:
        return ExperimentDef.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid experiment {path}: {problems(exc, whole='(experiment)')}") from None


def scenario_for(base: Scenario, spec: RunSpec) -> Scenario:
    """The scenario of one run: the setting's fields, its seed and strategy (a population count scales
    the ramp as `--prosumers` does)."""
    overrides = {f: v for k, v in spec.setting for f in k.split("+")}
    count = overrides.pop("population.count", None)
    try:
        changes: dict[str, object] = {"seed": spec.seed, "strategy": spec.strategy, **overrides}
        s = base.changed(changes, f"{base.name} with --set {setting_label(spec.setting)}")
    except (KeyError, TypeError):
        known = ", ".join(sorted(_fields(base.model_dump())))
        raise ConfigError(
            f"--set {setting_label(spec.setting)}: no such scenario field; fields are {known}"
        ) from None
    if count is not None:
        s = with_prosumers(s, int(count), option="--set population.count")
    return s


def _fields(data: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in data.items():
        out.extend(_fields(v, f"{prefix}{k}.") if isinstance(v, dict) and v else [f"{prefix}{k}"])
    return out


class Runner:
    """Plays the runs of a sweep, `jobs` at once, each `flexsim run` in its own child process."""

    def __init__(self, out: Path, jobs: int, progress: Progress) -> None:
        self.out, self.jobs, self.progress = out, jobs, progress
        self._live: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.walls: list[float] = []

    def run_dir(self, spec: RunSpec) -> Path:
        return self.out / "runs" / spec.run_id

    def finished(self, spec: RunSpec) -> RunRow | None:
        """The row a finished run left, or None."""
        try:
            row = RunRow.model_validate_json((self.run_dir(spec) / "row.json").read_text())
        except (OSError, ValueError):
            return None
        return row if row.status == "ok" else None

    def play(
        self, scenarios: dict[str, Scenario], todo: list[RunSpec], total: int, done: int
    ) -> list[RunRow]:
        counter = {"done": done}
        rows: list[RunRow] = []

        def one(spec: RunSpec) -> None:
            if self._stop.is_set():
                return
            row = self._play_one(spec, scenarios[spec.run_id])
            with self._lock:
                rows.append(row)
                counter["done"] += 1
                self.walls.append(row.wall_s)
                self._report(row, counter["done"], total)

        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="run")
        futures = [pool.submit(one, spec) for spec in todo]
        try:
            for f in futures:
                while not f.done():
                    time.sleep(0.5)
                f.result()
        except BaseException:
            self._stop.set()  # Ctrl-C or SIGTERM: each run stops its own processes on SIGTERM
            with self._lock:
                for p in self._live:
                    p.send_signal(signal.SIGTERM)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return rows

    def command(self, spec: RunSpec, scenario_file: Path, out: Path) -> list[str]:
        """The child process of one run: `flexsim run` of its scenario and strategy into `out`."""
        return [sys.executable, "-m", "flexsim.cli", "run", "--scenario", str(scenario_file),
                "--strategy", spec.strategy, "--out", str(out)]  # fmt: skip

    def _play_one(self, spec: RunSpec, scenario: Scenario) -> RunRow:
        folder = self.run_dir(spec)
        folder.mkdir(parents=True, exist_ok=True)
        scenario_file = folder / "scenario.toml"
        scenario_file.write_text(scenario.to_toml())
        cmd = self.command(spec, scenario_file, folder / "run")
        started = time.monotonic()
        with (folder / "run.log").open("wb") as log:
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            with self._lock:
                self._live.add(p)
            code = p.wait()
            with self._lock:
                self._live.discard(p)
        wall = time.monotonic() - started
        summary = folder / "run" / spec.strategy / "summary.json"
        if code == 0 and summary.is_file():
            row = row_of(spec, json.loads(summary.read_text()), wall)
        else:
            tail = (folder / "run.log").read_text(errors="replace").strip().splitlines()[-3:]
            row = failed_row(spec, wall, f"exit {code}: " + " | ".join(tail))
        tmp = folder / "row.json.tmp"
        tmp.write_text(row.model_dump_json(indent=1))
        os.replace(tmp, folder / "row.json")
        return row

    def _report(self, row: RunRow, done: int, total: int) -> None:
        left = total - done
        mean = sum(self.walls) / len(self.walls)
        eta = left * mean / self.jobs
        what = (
            (f"delivered {row.delivered_share:.0%}" if row.delivered_share is not None else row.status)
            if row.status == "ok"
            else f"FAILED ({row.error})"
        )
        self.progress(
            f"[{done}/{total}] {row.run_id}: {what} in {row.wall_s:.0f} s; "
            f"{left} left, ETA {eta / 60:.1f} min"
        )


def run_experiment(
    exp: ExperimentDef,
    out: Path,
    progress: Progress,
    seeds: str | None = None,
    sets: list[tuple[str, list[Any]]] | None = None,
    strategies: list[str] | None = None,
    jobs: int | None = None,
    runner: type[Runner] | None = None,
) -> ExperimentResult:
    """Plays what is missing of the experiment in `out` and writes its results there."""
    t0 = time.monotonic()
    base = load_scenario(exp.scenario)
    seed_list = parse_seeds(seeds or exp.seeds)
    sweep = sets if sets is not None else list(exp.set.items())
    specs = plan_runs(seed_list, strategies or exp.strategies, sweep)
    scenarios = {spec.run_id: scenario_for(base, spec) for spec in specs}  # every setting checked first
    jobs = jobs or exp.jobs or os.cpu_count() or 1
    out.mkdir(parents=True, exist_ok=True)
    players = (runner or Runner)(out, jobs, progress)
    kept = {spec.run_id: row for spec in specs if (row := players.finished(spec)) is not None}
    todo = [spec for spec in specs if spec.run_id not in kept]
    progress(
        f"experiment {exp.name}: {len(specs)} runs ({len(kept)} finished before, {len(todo)} to play), "
        f"{jobs} at once, in {out}"
    )
    played = players.play(scenarios, todo, len(specs), len(kept)) if todo else []
    by_id = {**kept, **{r.run_id: r for r in played}}
    rows = [by_id[s.run_id] for s in specs if s.run_id in by_id]
    groups, paired = compare(rows)
    result = ExperimentResult(
        name=exp.name,
        scenario=exp.scenario,
        seeds=seed_list,
        strategies=list(strategies or exp.strategies),
        sweep={k: list(v) for k, v in sweep},
        jobs=jobs,
        wall_s=round(time.monotonic() - t0, 1),
        runs_total=len(specs),
        runs_played=len(played),
        runs_resumed=len(kept),
        runs_failed=sum(1 for r in rows if r.status != "ok"),
        metrics=METRICS,
        groups=groups,
        paired=paired,
        rows=rows,
    )
    report = write_results(result, out)
    progress(f"results: {out / 'results.csv'}, {out / 'experiment.json'}; report: {report}")
    if result.runs_failed:
        raise FlexsimError(
            f"{result.runs_failed} of {len(specs)} runs failed (their run.log under {out / 'runs'}): "
            "run the same command again to play them again"
        )
    return result
