"""The benchmarks' JSON is typed without changing it: what the benchmarks printed before their results
were models (samples/, recorded on this machine) reads into the models and back to the same JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from base.published import Published
from benchmarks.e2e_result import E2eResult
from benchmarks.fleet_result import FleetResult
from benchmarks.gas_result import GasResult
from benchmarks.ingest_result import IngestResult
from benchmarks.machine import machine_info
from benchmarks.targets import AtLeast, AtMost

SAMPLES = Path(__file__).parent / "samples"
MODELS: dict[str, type[Published]] = {
    "gas": GasResult,
    "ingest": IngestResult,
    "fleet": FleetResult,
    "e2e": E2eResult,
}


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return data


@pytest.mark.parametrize("name", list(MODELS))
def test_a_result_printed_before_the_models_reads_back_to_the_same_json(name: str) -> None:
    data = sample(name)
    result = MODELS[name].model_validate(data)
    assert result.to_dict() == data
    assert json.loads(result.to_json()) == data


@pytest.mark.parametrize("name", list(MODELS))
def test_a_renamed_or_missing_key_is_refused(name: str) -> None:
    data = sample(name)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        MODELS[name].model_validate({**data, "targets_": data["targets"]})
    with pytest.raises(ValidationError, match="Field required"):
        MODELS[name].model_validate({k: v for k, v in data.items() if k != "targets"})


def test_ci_reads_the_keys_it_always_read() -> None:
    """.ci/run prints `targets` and `batch` of the gas JSON, `targets` and `integrity` of the ingest JSON."""
    gas, ingest = (
        GasResult.model_validate(sample("gas")).to_dict(),
        IngestResult.model_validate(sample("ingest")).to_dict(),
    )
    assert set(gas["targets"]) == {
        "register",
        "accept",
        "record_delivery_per_prosumer",
        "open_request",
        "relay_answer_per_answer",
        "relay_blocks_for_1000_answers",
        "anchor",
        "dispute_depth16",
    }
    assert set(gas["batch"]) == {"budget_gas", "largest_delivery_batch", "target_min", "met"}
    assert set(ingest["integrity"]) == {"acknowledged_stored", "rows_in_db", "lost"}
    assert all({"measured", "met"} <= set(t) for t in ingest["targets"].values())


def test_the_gas_command_fails_when_a_target_is_missed() -> None:
    data = sample("gas")
    assert GasResult.model_validate(data).met
    data["targets"]["accept"] = {"measured": 70_000, "target_max": 60_000, "met": False}
    assert not GasResult.model_validate(data).met


def test_targets_say_whether_they_are_met_and_keep_integers() -> None:
    assert AtLeast.of(3, 100).to_dict() == {"measured": 3, "target_min": 100, "met": False}
    assert AtMost.of(26.8, 40.0).to_dict() == {"measured": 26.8, "target_max": 40.0, "met": True}


def test_the_machine_leaves_out_what_it_cannot_tell() -> None:
    machine = machine_info()
    assert machine.cpus is None or machine.cpus >= 1
    unknown = machine.model_copy(update={"memory_gib": None, "cpu_model": None})
    assert "memory_gib" not in unknown.to_dict() and "cpu_model" not in unknown.to_dict()
