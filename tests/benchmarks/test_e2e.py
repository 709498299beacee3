"""`flexsim bench e2e`: the scenario it runs per size (the run itself is the e2e tests' `flexsim run`)."""

from __future__ import annotations

import pytest

from benchmarks.e2e import Options, scenario_for
from domain.request_process import plan_requests
from flexsim.cli import main


@pytest.mark.parametrize("prosumers", [50, 200])
def test_each_size_runs_a_volta_like_fair_scenario_with_its_requests(prosumers: int) -> None:
    s = scenario_for(prosumers, Options())
    assert (s.chain.mode, s.chain.block_time_s, s.chain.gas_limit) == ("embedded", 5.0, 8_000_000)
    assert s.population.count == s.ramp.initial == prosumers and s.ramp.add == 0
    assert s.strategy == "fair" and s.incidents.outage_rate_per_hour == 0
    planned = plan_requests(s)
    assert len(planned) == Options().requests
    assert planned[0].at_s >= s.requests.first_after_s
    assert s.real_duration_s < 400  # the wall time of the bench stays bounded


def test_bad_sizes_are_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "e2e", "--sizes", "fifty"]) == 1
    assert capsys.readouterr().err.startswith("flexsim: error: --sizes 'fifty'")
