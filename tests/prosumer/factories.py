"""Plain factories for the prosumer tests: population picks, readings, request views, DER views."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from contracts.types import Direction, SourceKind, Strategy
from domain.population import sample_entry
from prosumer.decision import DerView, RequestView
from prosumer.meter import Reading

SEED = 11


def indices_of(kind: SourceKind, count: int, seed: int = SEED, start: int = 0) -> list[int]:
    """The first `count` population indices (from `start`) whose DER is of `kind`."""
    found: list[int] = []
    i = start
    while len(found) < count:
        if sample_entry(seed, i).kind is kind:
            found.append(i)
        i += 1
    return found


def make_reading(seq: int, at: float | None = None, **overrides: Any) -> Reading:
    """A valid reading of a consumer taken at real time `at` (default now; simulated = real time)."""
    when = time.time() if at is None else at
    values: dict[str, Any] = {
        "seq": seq,
        "taken_at": when,
        "timestamp": datetime.fromtimestamp(when, UTC),
        "power_w": -800.0 - seq,
        "energy_wh": 10.0 * seq,
        "soc": None,
        "status": "ok",
    }
    values.update(overrides)
    return Reading(**values)


def make_request(**overrides: Any) -> RequestView:
    values: dict[str, Any] = {
        "request_id": 1,
        "strategy": Strategy.FAIR,
        "direction": Direction.UP,
        "power_w": 10_000,
        "duration_s": 900,
        "total_flex_w": 40_000,
    }
    values.update(overrides)
    return RequestView(**values)


def make_der_view(**overrides: Any) -> DerView:
    values: dict[str, Any] = {
        "kind": SourceKind.BATTERY,
        "capacity_w": 8_000,
        "flex_w": 4_000,
        "max_duration_s": 3_600,
        "feasible_w": 2_000.0,
        "in_outage": False,
    }
    values.update(overrides)
    return DerView(**values)
