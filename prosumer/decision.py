"""Accept, apply or decline a flexibility request: a pure function of the request, the DER's state and a
willingness draw (rules R7, R8; the opt-in / opt-out with a reason of OpenADR agents).

What the prosumer would commit mirrors the contract's integer arithmetic:

- fair: its share, `power x its flexibility / total flexibility` (the totals snapshotted when the
  request opened), at most 25 % of its capacity;
- reputation: its offer, `min(flexibility, 25 % of capacity)` (if selected it commits that, or only
  the remainder that covers the request).

Checks, in order, each with the reason code it declines with (`contracts.types.DeclineReason`):

1. an ongoing outage -> OUTAGE (it cannot move what it does not produce or draw);
2. the request lasts longer than the contract's maximum duration -> DURATION_BEYOND_CONTRACT;
3. nothing to commit (no contracted flexibility that way) -> UNSPECIFIED;
4. it cannot move that much now: a battery -> STATE_OF_CHARGE (its charge cannot sustain it for the
   duration), others -> INSUFFICIENT_FORECAST (persistence of the last step's weather or load);
5. it could not deliver it provably: how far its measured delivery may miss the amount (`risk_w`,
   `domain.der.Der.delivery_risk_w` from its own history: the weather taking away a producer's room,
   the settlement baseline's error for a household; unknown while the history is short) exceeds
   `max_risk_share` of the amount -> INSUFFICIENT_FORECAST. The contract pays only deliveries within
   10 %: accepting what it cannot deliver provably earns penalties and a lower reputation;
6. the willingness draw says no -> UNWILLING.

A prosumer that over-promises (`DerView.over_promises`, `domain.realism`) skips checks 4 and 5.

Otherwise it accepts (fair) or applies (reputation). Outages are unforeseen (R12): only an ongoing
one counts, never a future one from the schedule.

An accepter also says how much it would take in the fair strategy's top-up round (`deliverable_w`: its
offer limited by what it can move now and by what it can deliver provably), the same amount it
declares to the aggregator as its availability.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.types import DeclineReason, Direction, SourceKind, Strategy
from domain.market_rules import fair_share_w, offer_w

MAX_RISK_SHARE = 0.05
"""Default prudence: accept only when the baseline's expected error (RMS) is at most 5 % of the amount,
half the contract's 10 % tolerance (an error ~N(0, sigma) then stays inside it ~95 % of the time)."""


class Action(StrEnum):
    ACCEPT = "accept"
    APPLY = "apply"
    DECLINE = "decline"


@dataclass(frozen=True)
class RequestView:
    """What the prosumer knows of a request from its FlexibilityRequested event."""

    request_id: int
    strategy: Strategy
    direction: Direction
    power_w: int
    duration_s: int  # the contracted (simulated) duration
    total_flex_w: int  # snapshot of the registry's total flexibility in `direction`


@dataclass(frozen=True)
class DerView:
    """The prosumer's state when it decides: its registered terms and what its DER can do now."""

    kind: SourceKind
    capacity_w: int
    flex_w: int  # registered flexibility in the request's direction
    max_duration_s: int
    feasible_w: float  # what the DER can move in that direction for the duration, right now
    in_outage: bool
    risk_w: float | None = 0.0  # how far its measured delivery may miss (RMS, W); None = unknown yet
    over_promises: bool = False  # accepts what its contract allows without checking (domain.realism)


@dataclass(frozen=True)
class Decision:
    action: Action
    amount_w: int  # what it would commit (fair share or reputation offer)
    reason: DeclineReason | None = None
    why: str = ""
    limit_w: int = 0  # fair accept: the most it commits to in all, with a top-up (>= amount_w)


def deliverable_w(
    capacity_w: int,
    flex_w: int,
    feasible_w: float,
    risk_w: float | None,
    in_outage: bool,
    max_risk_share: float,
    over_promises: bool = False,
) -> int:
    """What it would commit in a direction if asked now: its offer (flexibility, at most 25 % of capacity)
    limited by what it can move now; 0 in an outage, or when its delivery could not be proven (its risk,
    computed for that amount, above `max_risk_share` of it, or unknown). One that over-promises declares
    its whole offer outside an outage."""
    if over_promises:
        return 0 if in_outage else offer_w(flex_w, capacity_w)
    amount = min(offer_w(flex_w, capacity_w), int(feasible_w))
    if in_outage or amount <= 0 or risk_w is None or risk_w > max_risk_share * amount:
        return 0
    return amount


def commitment_w(request: RequestView, capacity_w: int, flex_w: int) -> int:
    """The share (fair) or offer (reputation) the contract would record, in whole W."""
    if request.strategy == Strategy.FAIR:
        return fair_share_w(request.power_w, flex_w, request.total_flex_w, capacity_w)
    return offer_w(flex_w, capacity_w)


def decide(
    request: RequestView,
    der: DerView,
    willingness: float,
    draw: float,
    max_risk_share: float = MAX_RISK_SHARE,
) -> Decision:
    """The answer to `request`; `draw` is uniform in [0, 1) and says no when >= `willingness`."""
    amount = commitment_w(request, der.capacity_w, der.flex_w)
    if der.in_outage:
        return _decline(amount, DeclineReason.OUTAGE, "the DER is in an outage")
    if request.duration_s > der.max_duration_s:
        return _decline(
            amount,
            DeclineReason.DURATION_BEYOND_CONTRACT,
            f"{request.duration_s} s is beyond the contract's {der.max_duration_s} s",
        )
    if amount <= 0:
        return _decline(amount, DeclineReason.UNSPECIFIED, f"no contracted flexibility {_way(request)}")
    if der.over_promises:  # promises what the contract allows, whatever its DER can do now
        return _willing(request, amount, willingness, draw)
    if der.feasible_w < amount:
        reason = (
            DeclineReason.STATE_OF_CHARGE
            if der.kind == SourceKind.BATTERY
            else DeclineReason.INSUFFICIENT_FORECAST
        )
        return _decline(
            amount, reason, f"can move {der.feasible_w:.0f} W {_way(request)} now, {amount} W needed"
        )
    risk = der.risk_w
    if risk is None:
        return _decline(
            amount,
            DeclineReason.INSUFFICIENT_FORECAST,
            "too little history to know how far its measured delivery may miss",
        )
    if risk > max_risk_share * amount:
        return _decline(
            amount,
            DeclineReason.INSUFFICIENT_FORECAST,
            f"too variable to deliver provably: its measured delivery may miss by ~{risk:.0f} W, more "
            f"than {max_risk_share:.0%} of {amount} W",
        )
    return _willing(request, amount, willingness, draw)


def _willing(request: RequestView, amount: int, willingness: float, draw: float) -> Decision:
    if draw >= willingness:
        return _decline(amount, DeclineReason.UNWILLING, f"not willing (draw {draw:.2f} >= {willingness:g})")
    action = Action.ACCEPT if request.strategy == Strategy.FAIR else Action.APPLY
    return Decision(action, amount, None, f"{action.value} {amount} W {_way(request)}", limit_w=amount)


def with_top_up_limit(decision: Decision, deliverable: int) -> Decision:
    """A fair accept that also takes up to `deliverable` in all in a top-up (never less than its share)."""
    if decision.action != Action.ACCEPT:
        return decision
    return Decision(
        decision.action, decision.amount_w, None, decision.why, max(decision.amount_w, deliverable)
    )


def _decline(amount: int, reason: DeclineReason, why: str) -> Decision:
    return Decision(Action.DECLINE, amount, reason, why)


def _way(request: RequestView) -> str:
    return Direction(request.direction).label
