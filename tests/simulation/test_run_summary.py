"""summary.json is typed without changing it: a summary written before it was a model (samples/, a run
of four batteries with two removals, watched, with a stress verdict) reads into `RunSummary` and back
to the same JSON; the headline `flexsim run` prints is a part of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from simulation.run_summary import RunSummary

SAMPLE = Path(__file__).parent / "samples" / "summary.json"


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text())
    return data


def test_a_summary_written_before_the_model_reads_back_to_the_same_json() -> None:
    data = sample()
    summary = RunSummary.model_validate(data)
    assert summary.to_dict() == data
    assert json.loads(summary.to_json()) == data
    assert summary.latency_bound is not None and summary.latency_bound.stages.settlement_final.requests == 2
    assert summary.removals.injected == 2 and summary.stress is not None


def test_a_run_without_stress_analysis_has_no_stress_key() -> None:
    data = sample()
    del data["stress"]
    summary = RunSummary.model_validate(data)
    assert summary.stress is None and "stress" not in summary.to_dict()


def test_a_renamed_key_is_refused() -> None:
    data = sample()
    data["cross_check"]["matched"] = data["cross_check"].pop("matches")
    with pytest.raises(ValidationError, match="cross_check.matched"):
        RunSummary.model_validate(data)


def test_the_headline_is_part_of_the_summary() -> None:
    headline = RunSummary.model_validate(sample()).headline()
    assert list(headline) == [
        "requests",
        "energy_wh",
        "success_rate",
        "compliant_share",
        "tokens_paid",
        "latency_s",
    ]
    assert headline["requests"] == sample()["requests"] and headline["latency_s"] == sample()["latency_s"]
