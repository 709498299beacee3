"""Test-session settings shared by every package's tests.

`long`: whole markets of many processes that take a minute or more each. `make test` (the README's
test command) leaves them out to stay near 15 minutes; `make test-long` runs them, and CI runs both."""

from __future__ import annotations

import pytest

LONG = (
    "tests/simulation/test_volta_path.py",
    "tests/simulation/test_run_e2e.py",
    "tests/simulation/test_audit.py",
    "tests/simulation/test_report.py::test_a_settled_run_is_collected_summarised_and_reported",
    "tests/simulation/test_report.py::test_the_summary_compares_direct_and_relayed_answers",
    "tests/aggregator/openadr/test_vtn_chain.py",
    "tests/aggregator/test_evidence_flow.py",
    "tests/prosumer/test_process.py",
    "tests/prosumer/test_relayed.py",
    "tests/prosumer/test_relay_fallback.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(LONG):
            item.add_marker(pytest.mark.long)
