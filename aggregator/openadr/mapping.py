"""Event intervals -> flexibility requests, and settled requests -> the event's report. Pure logic.

Supported payload types and how each becomes a request (power positive = delivered to the grid):

| payload type                 | value v (units: KW by default; W, MW) | request                    |
|------------------------------|----------------------------------------|----------------------------|
| `IMPORT_CAPACITY_LIMIT`      | v > 0                                  | `up`, v (import less)      |
| `EXPORT_CAPACITY_LIMIT`      | v > 0                                  | `down`, v (export less)    |
| `DISPATCH_SETPOINT_RELATIVE` | v < 0: consume less; v > 0: consume more | `up` / `down`, abs(v)    |

A capacity limit is read relative to the fleet's baseline: the fleet moves v below the import (or
export) it would have had, which is what the aggregator can sell and measure (docs/openadr.md). A
payload with several values is split into that many equal sub-intervals (User Guide 7.3). Any other
payload type in an interval is refused, with the list of supported ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aggregator.openadr.models import EventRequest, Point, rfc3339
from aggregator.openadr.timing import TimingError, interval_windows

IMPORT_CAPACITY_LIMIT = "IMPORT_CAPACITY_LIMIT"
EXPORT_CAPACITY_LIMIT = "EXPORT_CAPACITY_LIMIT"
DISPATCH_SETPOINT_RELATIVE = "DISPATCH_SETPOINT_RELATIVE"
SUPPORTED = (IMPORT_CAPACITY_LIMIT, EXPORT_CAPACITY_LIMIT, DISPATCH_SETPOINT_RELATIVE)
UNITS_W = {"KW": 1_000.0, "W": 1.0, "MW": 1_000_000.0}
MAX_DURATION_S = 7 * 86_400  # as the native API
MAX_POWER_W = 2**63 - 1


class MappingError(ValueError):
    """An event that cannot become flexibility requests; the message says what to change."""


@dataclass(frozen=True)
class PlannedRequest:
    """One flexibility request made from (a sub-interval of) an event interval."""

    interval_id: int
    part: int  # sub-interval index (0 unless the payload has several values)
    payload_type: str
    direction: str  # "up" | "down"
    power_w: int
    start: float  # wanted start, epoch s on the aggregator's clock (simulated)
    duration_s: int

    def lead_time_s(self, now: float, min_lead_s: int) -> int:
        """The native request's notification lead: until the wanted start, at least `min_lead_s`."""
        return int(min(MAX_DURATION_S, max(min_lead_s, math.ceil(self.start - now))))


def units_of(event: EventRequest) -> dict[str, str]:
    """Units per payload type from the event's payload descriptors (default KW)."""
    return {d.payload_type: (d.units or "KW").upper() for d in event.payload_descriptors or ()}


def plan_requests(event: EventRequest, now: float) -> list[PlannedRequest]:
    """The requests an event asks for, in interval order. `MappingError` for anything unsupported."""
    try:
        windows = {w.interval_id: w for w in interval_windows(event, now)}
    except TimingError as exc:
        raise MappingError(str(exc)) from None
    units = units_of(event)
    out: list[PlannedRequest] = []
    for interval in event.intervals or ():
        others = sorted({p.type for p in interval.payloads} - set(SUPPORTED))
        if others:
            raise MappingError(
                f"interval {interval.id}: payload type(s) {others} are not supported by this VTN; "
                f"it turns {list(SUPPORTED)} into flexibility requests"
            )
        if len(interval.payloads) != 1:
            raise MappingError(
                f"interval {interval.id} has {len(interval.payloads)} payloads: give each interval exactly "
                f"one of {list(SUPPORTED)}"
            )
        window = windows.get(interval.id)
        if window is None:
            continue  # after the event's duration
        payload = interval.payloads[0]
        if not payload.values:
            raise MappingError(f"interval {interval.id}: payload {payload.type} has no value")
        factor = UNITS_W.get(units.get(payload.type, "KW"))
        if factor is None:
            raise MappingError(
                f"payload {payload.type} has units {units[payload.type]!r}: use one of {sorted(UNITS_W)}"
            )
        n = len(payload.values)
        part_s = window.duration_s / n
        for k, value in enumerate(payload.values):
            direction, power = _direction_power(interval.id, payload.type, value, factor)
            duration = int(round(part_s))
            if not 0 < duration <= MAX_DURATION_S:
                raise MappingError(
                    f"interval {interval.id}: a request lasts 1 s to {MAX_DURATION_S} s, not {part_s:g} s"
                )
            if window.start + (k + 1) * part_s <= now:
                raise MappingError(f"interval {interval.id} has already ended: give it a start in the future")
            out.append(
                PlannedRequest(
                    interval.id, k, payload.type, direction, power, window.start + k * part_s, duration
                )
            )
    return out


def _direction_power(interval_id: int, kind: str, value: Any, factor: float) -> tuple[str, int]:
    if isinstance(value, bool) or isinstance(value, (str, Point)) or not isinstance(value, (int, float)):
        raise MappingError(f"interval {interval_id}: {kind} needs a number, not {value!r}")
    if not math.isfinite(value):
        raise MappingError(f"interval {interval_id}: {kind} value {value!r} is not a finite number")
    watts = value * factor
    if kind == DISPATCH_SETPOINT_RELATIVE:
        direction = "up" if watts < 0 else "down"  # consumption change: negative = consume less
        watts = abs(watts)
    elif watts < 0:
        raise MappingError(f"interval {interval_id}: {kind} must be positive, not {value!r}")
    else:
        direction = "up" if kind == IMPORT_CAPACITY_LIMIT else "down"
    power = int(round(watts))
    if not 0 < power <= MAX_POWER_W:
        raise MappingError(
            f"interval {interval_id}: {kind} of {value!r} is not a power the market can request"
        )
    return direction, power


# ---------------------------------------------------------------------------------------- reports

AGGREGATED = "AGGREGATED_REPORT"
REPORT_CLIENT = "flexsim-aggregator"


@dataclass(frozen=True)
class Participant:
    prosumer: str
    committed_w: int | None
    delivered_wh: int | None
    compliant: bool | None


@dataclass(frozen=True)
class Outcome:
    """One request made from an interval, as the aggregator's database has it."""

    interval_id: int
    part: int
    request_id: int
    status: str
    power_w: int
    duration_s: int
    start: int | None  # chain epoch s
    end: int | None
    chain_request_id: int | None
    requested_wh: int | None
    delivered_wh: int | None
    participants: int | None
    compliant: int | None
    responses: Sequence[Participant] = ()


def _kw(watts: float) -> float:
    return round(watts / 1_000.0, 6)


def _period(o: Outcome) -> dict[str, Any]:
    if o.start is None:
        return {"duration": f"PT{o.duration_s}S"}
    return {"start": rfc3339(datetime.fromtimestamp(o.start, UTC)), "duration": f"PT{o.duration_s}S"}


def report_body(event_id: str, event_name: str | None, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The `reportRequest` fields of the event's report: one aggregated resource (`AGGREGATED_REPORT`)
    with an interval per request (REQUEST_STATUS, REQUESTED_POWER and DELIVERED_POWER in KW,
    DELIVERED_ENERGY in KWH, COMPLIANCE in PERCENT of the requested energy, PARTICIPANTS,
    COMPLIANT_PARTICIPANTS, FLEXIBILITY_REQUEST: the native request id, EVENT_INTERVAL: the event's
    interval id and sub-interval), and a resource per prosumer that delivered (COMMITTED_POWER in KW,
    DELIVERED_ENERGY in KWH, COMPLIANT)."""
    intervals = []
    for i, o in enumerate(outcomes):
        hours = o.duration_s / 3600.0
        delivered_kw = _kw(o.delivered_wh / hours) if o.delivered_wh is not None and hours > 0 else 0.0
        compliance = (
            round(100.0 * o.delivered_wh / o.requested_wh, 2)
            if o.delivered_wh is not None and o.requested_wh
            else 0.0
        )
        payloads = [
            {"type": "REQUEST_STATUS", "values": [o.status]},
            {"type": "REQUESTED_POWER", "values": [_kw(o.power_w)]},
            {"type": "DELIVERED_POWER", "values": [delivered_kw]},
            {"type": "DELIVERED_ENERGY", "values": [round((o.delivered_wh or 0) / 1000.0, 6)]},
            {"type": "COMPLIANCE", "values": [compliance]},
            {"type": "PARTICIPANTS", "values": [o.participants or 0]},
            {"type": "COMPLIANT_PARTICIPANTS", "values": [o.compliant or 0]},
            {"type": "FLEXIBILITY_REQUEST", "values": [o.request_id]},
            {"type": "EVENT_INTERVAL", "values": [o.interval_id, o.part]},
        ]
        intervals.append({"id": i, "intervalPeriod": _period(o), "payloads": payloads})
    resources: list[dict[str, Any]] = [{"resourceName": AGGREGATED, "intervals": intervals}]
    per: dict[str, list[dict[str, Any]]] = {}
    for i, o in enumerate(outcomes):
        for p in o.responses:
            per.setdefault(p.prosumer, []).append(
                {
                    "id": i,
                    "intervalPeriod": _period(o),
                    "payloads": [
                        {"type": "COMMITTED_POWER", "values": [_kw(p.committed_w or 0)]},
                        {"type": "DELIVERED_ENERGY", "values": [round((p.delivered_wh or 0) / 1000.0, 6)]},
                        {"type": "COMPLIANT", "values": [bool(p.compliant)]},
                    ],
                }
            )
    resources += [{"resourceName": who, "intervals": ivs} for who, ivs in sorted(per.items())]
    # No payloadDescriptors: they are optional, and openadr3-client 2.4 reads a report's descriptors as
    # event descriptors and refuses the report. Units are fixed and documented instead (docs/openadr.md):
    # powers in KW, energies in KWH, COMPLIANCE in PERCENT of the requested energy.
    return {
        "eventID": event_id,
        "clientName": REPORT_CLIENT,
        "reportName": f"flexsim settlement of {event_name or 'event ' + event_id}",
        "resources": resources,
    }
