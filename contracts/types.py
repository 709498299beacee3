"""Typed mirrors of the contracts' enums and structs. Codes match the Solidity declarations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from domain.terms import Terms as Terms

# The vocabulary is the domain's, defined once (`domain/vocabulary.py`); re-exported for the chain layer.
from domain.vocabulary import DeclineReason as DeclineReason
from domain.vocabulary import Direction as Direction
from domain.vocabulary import SourceKind as SourceKind
from domain.vocabulary import Strategy as Strategy


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
    TOPPED_UP = 8  # fair: accepted, then given its part of the declined share (its total commitment)


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
    room_w: int = 0  # fair: how much more it takes in a top-up


@dataclass(frozen=True)
class TopUpRound:
    """A fair request's top-up round (`FlexibilityMarket.topUpOf`)."""

    gap_w: int
    counted: int
    declared_room_w: int
    summed_room_w: int
    extra_w: int
    booked_w: int  # the round's target for the total commitment (power, or more when over-booked)


@dataclass(frozen=True)
class RequestResult:
    """The aggregate result of a request as the chain reports it (rule R10)."""

    requested_wh: int
    committed_wh: int
    delivered_wh: int
    participants: int
    compliant: int
    paid: int
