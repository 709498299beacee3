"""`flexsim run --prosumers N`: a count the run cannot give is one line naming the option."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("count", ["0", "5001"])
def test_prosumers_out_of_range_is_one_line_naming_the_option(count: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flexsim.cli", "run", "--prosumers", count],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"flexsim: error: --prosumers {count}: a run has 1 to 5,000 prosumers"]
