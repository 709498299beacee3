"""`flexsim experiment`'s runner: finished runs are kept and skipped, failed ones played again, and the
results table and report are written. Each run here is a real child process that leaves a run's
summary.json (the sample one, its delivered energy set from the seed) instead of playing a market:
what is under test is the experiment's bookkeeping, not the market (tests/simulation/test_run_e2e.py)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from base.errors import FlexsimError
from simulation.experiment import ExperimentDef, Runner, run_experiment
from simulation.experiment_result import ExperimentResult
from simulation.sweep import RunSpec

SAMPLE = Path(__file__).parent / "samples" / "summary.json"
WRITE_SUMMARY = """
import json, sys, pathlib
sample, out, strategy, seed, fail = sys.argv[1:6]
if fail == "1":
    print("the market broke"); sys.exit(2)
s = json.loads(pathlib.Path(sample).read_text())
s["strategy"] = strategy
s["energy_wh"]["delivered"] = 100 * int(seed) + (10 if strategy == "reputation" else 0)
folder = pathlib.Path(out) / strategy
folder.mkdir(parents=True, exist_ok=True)
(folder / "summary.json").write_text(json.dumps(s))
"""


class SummaryWriter(Runner):
    fail_seeds: set[int] = set()
    played: list[str] = []

    def command(self, spec: RunSpec, scenario_file: Path, out: Path) -> list[str]:
        assert scenario_file.is_file()
        SummaryWriter.played.append(spec.run_id)
        fail = "1" if spec.seed in self.fail_seeds else "0"
        return [
            sys.executable,
            "-c",
            WRITE_SUMMARY,
            str(SAMPLE),
            str(out),
            spec.strategy,
            str(spec.seed),
            fail,
        ]


EXP = ExperimentDef(name="t", scenario="quick", seeds="1-3", strategies=["fair", "reputation"], jobs=2)


def play(out: Path, **kw: object) -> ExperimentResult:
    SummaryWriter.played = []
    return run_experiment(EXP, out, lambda _m: None, runner=SummaryWriter, **kw)  # type: ignore[arg-type]


def test_finished_runs_are_kept_and_skipped_when_the_experiment_is_resumed(tmp_path: Path) -> None:
    first = play(tmp_path)
    assert (first.runs_played, first.runs_resumed, first.runs_total) == (6, 0, 6)
    assert sorted(SummaryWriter.played) == sorted(r.run_id for r in first.rows)
    again = play(tmp_path)
    assert (again.runs_played, again.runs_resumed) == (0, 6) and SummaryWriter.played == []
    assert [r.model_dump() for r in again.rows] == [r.model_dump() for r in first.rows]
    (tmp_path / "runs" / "base__seed2__fair" / "row.json").unlink()  # as if stopped mid-run
    third = play(tmp_path)
    assert (third.runs_played, third.runs_resumed) == (1, 5)
    assert SummaryWriter.played == ["base__seed2__fair"]


def test_results_table_json_and_report_hold_one_row_per_run_with_its_settings(tmp_path: Path) -> None:
    result = play(tmp_path, seeds="1-2", sets=[("requests.size_max", [0.3, 0.6])])
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 2 * 2 * 2
    assert {r["set.requests.size_max"] for r in rows} == {"0.3", "0.6"}
    assert {(r["seed"], r["strategy"]) for r in rows} == {
        (s, t) for s in "12" for t in ("fair", "reputation")
    }
    saved = ExperimentResult.model_validate_json((tmp_path / "experiment.json").read_text())
    assert saved.runs_total == 8 and len(saved.groups) == 4 and len(saved.paired) == 2
    # delivered 100 x seed Wh (+10 for reputation): the same gas buys more kWh under reputation
    fair = next(g for g in saved.groups if g.strategy == "fair" and g.setting == {"requests.size_max": 0.3})
    assert fair.metrics["tokens_per_kwh"].n == 2
    paired = saved.paired[0].metrics["gas_per_delivered_kwh"]
    assert paired.n == 2 and paired.mean is not None and paired.mean < 0  # more delivered: less gas per kWh
    assert "Reputation − fair" in (tmp_path / "report.html").read_text()
    assert result.wall_s > 0


def test_a_failed_run_is_reported_and_played_again_on_resume(tmp_path: Path) -> None:
    SummaryWriter.fail_seeds = {3}
    try:
        with pytest.raises(FlexsimError, match="2 of 6 runs failed .* run the same command again"):
            play(tmp_path)
    finally:
        SummaryWriter.fail_seeds = set()
    failed = json.loads((tmp_path / "runs" / "base__seed3__fair" / "row.json").read_text())
    assert failed["status"] == "failed" and "the market broke" in failed["error"]
    again = play(tmp_path)
    assert (again.runs_played, again.runs_resumed, again.runs_failed) == (2, 4, 0)
    assert sorted(SummaryWriter.played) == ["base__seed3__fair", "base__seed3__reputation"]
