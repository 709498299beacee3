"""Typed mirrors of the contracts' enums and structs. Codes match the Solidity declarations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class SourceKind(IntEnum):
    SOLAR = 0
    WIND = 1
    CONSUMER = 2
    BATTERY = 3


class Direction(IntEnum):
    UP = 0  # more power to the grid: produce more / consume less
    DOWN = 1


class Strategy(IntEnum):
    FAIR = 0
    REPUTATION = 1


class RequestStatus(IntEnum):
    NONE = 0
    OPEN = 1
    SETTLED = 2
    CANCELLED = 3
    CLOSED = 4  # closed without full settlement after its window and grace (`closeRequest`)


class Response(IntEnum):
    NONE = 0
    ACCEPTED = 1
    DECLINED = 2
    APPLIED = 3
    SELECTED = 4
    DISPLACED = 5
    COMPLIANT = 6
    PENALISED = 7


class DeclineReason(IntEnum):
    """Reason codes a prosumer gives when it declines (`FlexibilityMarket.decline`)."""

    UNSPECIFIED = 0
    OUTAGE = 1
    INSUFFICIENT_FORECAST = 2
    STATE_OF_CHARGE = 3
    DURATION_BEYOND_CONTRACT = 4
    UNWILLING = 5


@dataclass(frozen=True)
class Terms:
    """A prosumer's contract terms (rule R2). Power in W, energy in Wh, tariffs in token base units/kWh."""

    kind: SourceKind
    capacity_w: int
    expected_wh_per_day: int
    flex_up_w: int
    flex_down_w: int
    max_duration_s: int
    tariff_up: int
    tariff_down: int

    def as_tuple(self) -> tuple[int, ...]:
        return (
            int(self.kind),
            self.capacity_w,
            self.expected_wh_per_day,
            self.flex_up_w,
            self.flex_down_w,
            self.max_duration_s,
            self.tariff_up,
            self.tariff_down,
        )

    @classmethod
    def from_tuple(cls, t: Any) -> Terms:
        """From a call result (tuple) or a decoded event struct (dict in ABI field order)."""
        values = list(t.values()) if isinstance(t, Mapping) else list(t)
        return cls(SourceKind(values[0]), *(int(x) for x in values[1:]))


@dataclass(frozen=True)
class Registration:
    terms: Terms
    expiry: int
    terms_block: int
    active: bool


@dataclass(frozen=True)
class Counters:
    compliant: int
    participations: int
    down_renegotiations: int
    penalties: int


@dataclass(frozen=True)
class RequestInfo:
    """`FlexibilityMarket.request(id)`: the Request record, then the Schedule, in their field order."""

    request_id: int
    status: RequestStatus
    strategy: Strategy
    direction: Direction
    power_w: int
    duration_s: int
    deadline: int
    opened_block: int
    total_flex_w: int
    joined: int
    committed_w: int
    start: int
    end: int
    participants: int
    ranked: int
    recorded: int
    compliant: int


@dataclass(frozen=True)
class Commitment:
    response: Response
    power_w: int
    tariff: int
    delivered_wh: int
    reputation: int = 0  # reputation when the prosumer applied (reputation strategy), else 0


@dataclass(frozen=True)
class RequestResult:
    """The aggregate result of a request as the chain reports it (rule R10)."""

    requested_wh: int
    committed_wh: int
    delivered_wh: int
    participants: int
    compliant: int
    paid: int
