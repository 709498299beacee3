"""Over-booking: how much the fair top-up round aims to commit, from the fleet's record. Pure.

A fair request commits shares, then re-offers what the decliners left to the accepters (the top-up
round, `contracts/src/TopUp.sol`). Prosumers then deliver less than they committed on average (some
over-promise, some are careless, actuators and forecasts miss: docs/realism.md), so committing exactly
the requested power delivers less than requested. The aggregator books more: the round aims at

    booked = power / ratio,   within [power, power + power / 4]

where `ratio` is the fleet's delivered / committed energy over the last settled requests, shrunk toward
1 (no over-booking) by a prior worth `prior_wh` of committed energy, so one early request moves it only
as far as its energy warrants. Only the number and size of the commitments grow (each accepter commits
at most its offer, as before, and is measured on what it committed); what is requested, judged and
reported stays the grid operator's power. The contract checks the bound (`MAX_OVERBOOK_DIVISOR`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

MAX_OVERBOOK_DIVISOR = 4  # the contract's bound: booked <= power + power / 4


@dataclass(frozen=True)
class BookingPolicy:
    enabled: bool = True
    window: int = 20  # settled requests of the record that count (the latest)
    prior_ratio: float = 1.0  # what the ratio is before any settlement: deliver what is committed
    prior_wh: float = 200.0  # how much committed energy the prior weighs (Wh)


@dataclass(frozen=True)
class Settled:
    """One settled request of the record: committed and delivered energy (Wh, from the chain)."""

    committed_wh: float
    delivered_wh: float


class SettledRow(Protocol):
    """What the record needs of a settled request (`aggregator.tables.FlexRequest`)."""

    strategy: str
    chain_request_id: int | None
    committed_wh: int | None
    delivered_wh: int | None


def record_of(rows: Iterable[SettledRow], strategy: str, current_chain_id: int) -> list[Settled]:
    """The record of settled requests of `strategy` other than the current one, in the order given
    (oldest first); a result not read yet counts as nothing committed."""
    return [
        Settled(float(r.committed_wh or 0), float(r.delivered_wh or 0))
        for r in rows
        if str(r.strategy).lower() == strategy and r.chain_request_id != current_chain_id
    ]


def delivery_ratio(record: Iterable[Settled], policy: BookingPolicy) -> float:
    """The fleet's delivered / committed over the latest `policy.window` settled requests of `record`
    (oldest first), shrunk toward `policy.prior_ratio`. Requests with nothing committed carry no
    weight; a negative delivery counts as zero."""
    latest = [s for s in record if s.committed_wh > 0][-policy.window :] if policy.window > 0 else []
    committed = sum(s.committed_wh for s in latest)
    delivered = sum(max(0.0, s.delivered_wh) for s in latest)
    weight = committed + policy.prior_wh
    if weight <= 0:
        return policy.prior_ratio
    return (delivered + policy.prior_ratio * policy.prior_wh) / weight


def booked_w(power_w: int, ratio: float, policy: BookingPolicy) -> int:
    """The top-up round's target: `power / ratio`, rounded up, never below the power nor above
    `power + power // 4` (the contract's bound)."""
    if power_w <= 0:
        raise ValueError(f"power must be positive, got {power_w} W")
    most = power_w + power_w // MAX_OVERBOOK_DIVISOR
    if not policy.enabled or ratio >= 1.0:
        return power_w
    if ratio <= 0.0:
        return most
    return max(power_w, min(most, math.ceil(power_w / ratio)))
