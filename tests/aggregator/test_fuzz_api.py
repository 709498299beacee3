"""The API fuzz inside `make test`: schemathesis against the real service's own `/openapi.json`, as the
prosumer, the grid operator and the admin, with a few examples per operation (`make fuzz-api` runs
more). Zero server errors, zero answers that contradict the document."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aggregator.fuzz_api import CHECKS, fuzz

pytestmark = pytest.mark.slow


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(tmp_path: Path) -> None:
    summary = fuzz(max_examples=20, seed=10, out=tmp_path)
    logs = {role: (tmp_path / f"{role}.log").read_text()[-3000:] for role in summary["runs"]}
    assert summary["failures"] == 0 and summary["errors"] == 0, logs
    assert summary["server_errors"] == 0
    assert summary["operations"] >= 18 and summary["test_cases"] > 2000
    assert set(summary["runs"]) == {"prosumer", "grid", "admin"}
    assert {"not_a_server_error", "status_code_conformance", "response_schema_conformance"} <= set(CHECKS)
