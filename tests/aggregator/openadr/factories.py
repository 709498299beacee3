"""Plain factories of OpenADR 3 objects for the VTN tests (JSON-ready dicts, as a client sends them)."""

from __future__ import annotations

from typing import Any


def make_program(name: str = "flexsim-capacity", **overrides: Any) -> dict[str, Any]:
    return {"programName": name, **overrides}


def make_interval(
    interval_id: int, value: float, kind: str = "IMPORT_CAPACITY_LIMIT", period: dict[str, Any] | None = None
) -> dict[str, Any]:
    interval: dict[str, Any] = {"id": interval_id, "payloads": [{"type": kind, "values": [value]}]}
    if period is not None:
        interval["intervalPeriod"] = period
    return interval


def make_event(
    program_id: str,
    start: str,
    *values: float,
    duration: str = "PT10M",
    kind: str = "IMPORT_CAPACITY_LIMIT",
    units: str = "KW",
    **overrides: Any,
) -> dict[str, Any]:
    """An event of consecutive intervals of `duration` from `start`, one per value."""
    return {
        "programID": program_id,
        "eventName": "capacity",
        "payloadDescriptors": [
            {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": kind, "units": units}
        ],
        "intervalPeriod": {"start": start, "duration": duration},
        "intervals": [make_interval(i, v, kind) for i, v in enumerate(values)],
        **overrides,
    }
