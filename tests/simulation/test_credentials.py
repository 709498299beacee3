"""A run's aggregator gets fresh, strong grid and admin credentials (issue 10, item 14)."""

from __future__ import annotations

from aggregator.settings import AggregatorSettings
from simulation.orchestrator import service_credentials


def test_a_run_generates_strong_distinct_credentials_the_aggregator_accepts() -> None:
    grid, admin = service_credentials()
    assert grid != admin and len(grid) >= 43 and len(admin) >= 43
    assert service_credentials() != (grid, admin)  # fresh per run
    settings = AggregatorSettings(_env_file=None, grid_token=grid, admin_token=admin)  # type: ignore[call-arg]
    assert settings.grid_token is not None and settings.grid_token.get_secret_value() == grid
