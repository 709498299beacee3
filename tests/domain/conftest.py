"""Fixtures of the domain tests: one profile cache per test session and a helper to run a pure model.

Helpers are served as fixtures (not imported) because test modules here are imported by basename.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from domain.profiles import Profiles

YEAR = 2025
YEAR_START = datetime(YEAR, 1, 1, tzinfo=UTC)
STEPS_PER_YEAR = 365 * 96

Simulate = Callable[..., tuple[np.ndarray, Any]]


@pytest.fixture(scope="session")
def profile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("profiles")


@pytest.fixture(scope="session")
def profiles(profile_dir: Path) -> Profiles:
    return Profiles(profile_dir, year=YEAR)


def _simulate(
    step_fn: Callable[..., tuple[Any, float]],
    params: Any,
    state: Any,
    rng: np.random.Generator,
    *,
    dt_s: float = 900.0,
    steps: int = STEPS_PER_YEAR,
    start: datetime = YEAR_START,
) -> tuple[np.ndarray, Any]:
    """Step a pure model `steps` times from `start`; return the power series (W) and the final state."""
    out = np.empty(steps)
    for i in range(steps):
        state, out[i] = step_fn(params, state, start + timedelta(seconds=i * dt_s), dt_s, rng)
    return out, state


@pytest.fixture(scope="session")
def simulate() -> Simulate:
    return _simulate
