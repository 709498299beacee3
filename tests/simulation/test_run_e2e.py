"""`flexsim run` end to end on anvil with a tiny population: both strategies settle, the report's
totals equal the chain's, and no process outlives the run, also when the run fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from base.errors import FlexsimError
from simulation.orchestrator import run_scenario
from simulation.scenario import Scenario, load_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chain]

CHILD_MODULES = ("prosumer", "aggregator", "grid_operator")


def tiny(**changes: object):  # type: ignore[no-untyped-def]
    """Four batteries (they deliver exactly), two requests, 1.5 simulated hours at 300x (18 s)."""
    base = {
        "duration_s": 5_400.0,
        "speed": 300.0,
        "population.count": 4,
        "population.mix": (0.0, 0.0, 0.0, 1.0),
        "ramp.initial": 3,
        "ramp.add": 1,
        "ramp.every_s": 600.0,
        "requests.rate_per_hour": 6.0,
        "requests.first_after_s": 300.0,
        "requests.max_count": 2,
        "requests.duration_s": 600,
        "incidents.outage_rate_per_hour": 0.0,
        "incidents.renegotiation_rate_per_hour": 0.0,
    }
    return load_scenario("quick").with_overrides(**{**base, **changes})


def run_json(scenario: Scenario, out: Path) -> dict[str, dict[str, Any]]:
    """`run_scenario`, its summaries as each strategy's summary.json holds them."""
    return {k: v.to_dict() for k, v in run_scenario(scenario, out, progress=lambda _m: None).items()}


def children_of_this_process() -> list[psutil.Process]:
    me = psutil.Process(os.getpid())
    out = []
    for p in me.children(recursive=True):
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if "anvil" in cmd or any(f"-m {m}" in cmd for m in CHILD_MODULES):
            out.append(p)
    return out


def left_behind(before: list[psutil.Process]) -> list[psutil.Process]:
    """Chain and service processes started by the run that still exist (other tests' anvils excluded)."""
    known = {p.pid for p in before}
    return [p for p in children_of_this_process() if p.pid not in known]


def test_both_strategies_settle_and_the_report_matches_the_chain(tmp_path: Path) -> None:
    before = children_of_this_process()
    summaries = run_json(tiny(), tmp_path)
    assert set(summaries) == {"fair", "reputation"}
    for strategy, s in summaries.items():
        assert s["requests"].get("settled", 0) >= 1, (strategy, s["requests"])
        assert s["cross_check"]["matches"], s["cross_check"]
        assert s["participations"] >= 1
        assert (tmp_path / strategy / "power.png").is_file()
    report = (tmp_path / "report.html").read_text()
    assert "fair/power.png" in report and "reputation/power.png" in report
    assert json.loads((tmp_path / "run.json").read_text())["seed"] == 7
    assert not left_behind(before)
    # tamper evidence (issue 16): every settled request anchored, every leaf consistent with the chain and
    # the signed readings, by flexsim's own check during the run and by the independent script after it
    for strategy, s in summaries.items():
        v = json.loads((tmp_path / strategy / "verification.json").read_text())
        assert v["ok"], v["problems"]
        assert v["requests_anchored"] == v["requests_settled"] == s["requests"]["settled"]
        assert v["leaves_checked"] == s["participations"] and v["signed_roots_checked"] >= 1
    assert report.count("tamper evidence (flexsim verify)") == 1 and "ok: " in report
    script = Path(__file__).resolve().parents[2] / "scripts" / "verify_independent.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["ok"] for r in json.loads(done.stdout)] == [True, True]


def test_no_process_is_left_behind_when_the_run_fails(tmp_path: Path) -> None:
    """The aggregator is killed mid-run: the run fails with a clear error and stops everything else."""

    def kill_the_aggregator() -> None:
        deadline = time.time() + 120
        while time.time() < deadline:
            for p in left_behind(before):
                if "-m aggregator" in " ".join(p.cmdline()):
                    time.sleep(3)
                    p.send_signal(signal.SIGKILL)
                    return
            time.sleep(0.2)

    before = children_of_this_process()
    killer = threading.Thread(target=kill_the_aggregator, daemon=True)
    killer.start()
    with pytest.raises(FlexsimError, match="aggregator"):
        run_scenario(tiny(strategy="fair"), tmp_path, progress=lambda _m: None)
    killer.join(timeout=5)
    time.sleep(0.5)
    assert not left_behind(before)


def test_injected_removals_reach_the_chain_and_the_summary(tmp_path: Path) -> None:
    """Half of the prosumers are removed at seeded times: each got SIGUSR1 in its own forked process,
    removed its DER contract on chain and stopped; the summary counts them."""
    before = children_of_this_process()
    summaries = run_json(tiny(strategy="fair", **{"incidents.removal_share": 0.5}), tmp_path)
    removals = summaries["fair"]["removals"]
    assert removals["injected"] == 2
    assert removals["removed_on_chain"] == 2 and removals["injected_and_on_chain"] == 2
    assert summaries["fair"]["prosumers_started"] == 4
    pids = json.loads((tmp_path / "fair" / "fleet-pids.json").read_text())
    assert len({r["pid"] for r in pids.values()}) == 4  # each prosumer its own process
    assert all(r["exit"] == 0 for r in pids.values())
    assert (tmp_path / "fair" / "logs" / "prosumer-0000.log").is_file()
    assert not left_behind(before)
