"""What the grid operator follows: the request process of a scenario file, with its seed and clock.

The grid operator reads only the scenario's `seed`, `duration_s`, `speed` and `[requests]`
table (the domain's `RequestProcess`); the rest of the file is the simulation's business.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from base.errors import ConfigError
from base.scenarios import read_scenario
from base.validation import problems
from domain.request_process import RequestProcess


class RequestPlan(BaseModel):
    """The part of a scenario that fixes which requests are sent when (R6, R12)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    seed: int = Field(ge=0, lt=2**63)
    duration_s: float = Field(gt=0, description="Simulated duration of the run.")
    speed: float = Field(60.0, gt=0, le=10_000, description="Simulated seconds per real second.")
    requests: RequestProcess = RequestProcess()


def load_plan(name_or_path: str | Path) -> RequestPlan:
    """The request plan of a shipped scenario (by name) or a scenario file (by path)."""
    path, data = read_scenario(name_or_path)
    try:
        return RequestPlan.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid scenario {path} for the grid operator: {problems(exc)}") from None
