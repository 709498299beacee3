"""The shape of `flexsim bench run --json` (`docs/schemas/run.schema.json`): `RunBenchResult`."""

from __future__ import annotations

from pydantic import Field

from base.published import Part, Published
from benchmarks.machine import Machine


class RunWall(Part):
    setup_s: float = Field(description="Wall seconds before the strategies start (scenario, compiling).")
    strategies_s: dict[str, float] = Field(
        description="Wall seconds per strategy: chain, deployment, funding, services, play, collection "
        "(on an embedded chain the strategies play at the same time)."
    )
    report_s: float = Field(description="Wall seconds of the summaries, plots and report.")
    total_s: float = Field(description="Wall seconds of the whole run.")


class RunTarget(Part):
    measured_s: float = Field(description="The whole run's wall seconds.")
    target_max_s: float = Field(description="The target (3 minutes).")
    met: bool = Field(description="measured <= target.")


class RunBenchResult(Published):
    """`flexsim bench run --json`: the wall time of a whole `flexsim run`, phase by phase."""

    scenario: str = Field(description="The scenario run.")
    seed: int = Field(description="Its seed.")
    prosumers: int = Field(description="Its population.")
    speed: float = Field(description="Simulated seconds per real second.")
    simulated_s: float = Field(description="Simulated seconds of the scenario.")
    strategies: list[str] = Field(description="The strategies played.")
    wall: RunWall = Field(description="Wall time per phase.")
    target: RunTarget = Field(description="The issue's target for the quick scenario.")
    load_average: list[float] = Field(description="The 1, 5 and 15 min load averages at the end.")
    machine: Machine = Field(description="The machine it ran on.")
