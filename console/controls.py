"""What the console may do to a run, and the record of what it did.

`Controls` is implemented by the simulation (`simulation.console_fleet`) with the paths the scenario's
own events use: a new DER is a new prosumer process with its own funded account, registered on chain
with the aggregator's consent; a removal is SIGUSR1 (the prosumer removes its contract on chain); an
incident is an outage in the DER's own outage schedule; a renegotiation goes on chain through the
prosumer's chain worker. Requests and the clock go to the aggregator (`console.feed.Aggregator`).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from domain.vocabulary import SourceKind


class DerIn(BaseModel):
    """A DER to add: kind and capacity; its other terms are sampled unless given."""

    kind: str = Field(pattern="^(" + "|".join(SourceKind.labels()) + ")$")
    capacity_w: int = Field(ge=100, le=1_000_000)
    flex_up_w: int | None = Field(None, ge=0)
    flex_down_w: int | None = Field(None, ge=0)


class OutageIn(BaseModel):
    duration_s: int = Field(gt=0, le=7 * 86_400, description="Simulated seconds")


class RenegotiateIn(BaseModel):
    flex_up_w: int | None = Field(None, ge=0)
    flex_down_w: int | None = Field(None, ge=0)
    tariff_up: int | None = Field(None, gt=0)
    tariff_down: int | None = Field(None, gt=0)


PAUSED_SPEED = 0.001  # "pause": a simulated millisecond per real second (the clocks need a speed > 0)


class ClockSpeedIn(BaseModel):
    speed: float = Field(ge=PAUSED_SPEED, le=10_000)


@dataclass(frozen=True)
class FleetMember:
    """A prosumer the console can act on."""

    index: int
    address: str
    running: bool
    added_by_console: bool


class Controls(Protocol):
    """The fleet side of the console; every method returns a one-line description of what it did."""

    def members(self) -> list[FleetMember]: ...

    def add(self, der: DerIn) -> str: ...

    def remove(self, index: int) -> str: ...

    def outage(self, index: int, duration_s: int) -> str: ...

    def renegotiate(self, index: int, terms: RenegotiateIn) -> str: ...

    def set_clock(self, sim_start: datetime, speed: float, real_start: float) -> str:
        """Moves every prosumer to this clock (the aggregator's is set by the console); refused where
        the run's results map one clock (`flexsim run`) or the prosumers are not the console's."""
        ...


@dataclass
class Action:
    """One thing done through the console, with its real time and outcome."""

    real_t: float
    action: str
    params: dict[str, Any]
    outcome: str
    ok: bool


@dataclass
class ActionLog:
    """Every console action of a run; written to `console-actions.json` after each one."""

    path: Path | None = None
    actions: list[Action] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, action: str, params: dict[str, Any], outcome: str, ok: bool = True) -> Action:
        entry = Action(time.time(), action, params, outcome, ok)
        with self._lock:
            self.actions.append(entry)
            if self.path is not None:
                self.path.write_text(json.dumps([asdict(a) for a in self.actions], indent=1))
        return entry
