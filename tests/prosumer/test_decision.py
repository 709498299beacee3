"""Accept, apply or decline (R7, R8): the pure decision, every reason code and their order."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.types import DeclineReason, SourceKind, Strategy
from prosumer.decision import Action, commitment_w, decide
from tests.prosumer.factories import make_der_view, make_request

DRAW_YES = 0.1


@pytest.mark.parametrize(
    ("request_overrides", "der_overrides", "action", "amount"),
    [
        ({}, {}, Action.ACCEPT, 1_000),  # 10 kW x 4 kW / 40 kW
        ({"strategy": Strategy.REPUTATION}, {}, Action.APPLY, 2_000),  # offer: min(4 kW, 25 % of 8 kW)
        ({"power_w": 100_000}, {}, Action.ACCEPT, 2_000),  # share capped at 25 % of capacity
        ({}, {"feasible_w": 1_000.0}, Action.ACCEPT, 1_000),  # exactly feasible is enough
        ({"duration_s": 3_600}, {}, Action.ACCEPT, 1_000),  # the contract's maximum is allowed
        ({"power_w": 1_001, "total_flex_w": 7}, {"flex_w": 3}, Action.ACCEPT, 429),  # integer floor
    ],
)
def test_it_commits_what_the_contract_would_record(
    request_overrides: dict[str, Any], der_overrides: dict[str, Any], action: Action, amount: int
) -> None:
    decision = decide(make_request(**request_overrides), make_der_view(**der_overrides), 0.95, DRAW_YES)
    assert (decision.action, decision.amount_w, decision.reason) == (action, amount, None)


@pytest.mark.parametrize(
    ("request_overrides", "der_overrides", "reason"),
    [
        ({}, {"in_outage": True}, DeclineReason.OUTAGE),
        ({"duration_s": 3_601}, {}, DeclineReason.DURATION_BEYOND_CONTRACT),
        ({}, {"flex_w": 0}, DeclineReason.UNSPECIFIED),
        ({"total_flex_w": 0}, {}, DeclineReason.UNSPECIFIED),
        ({}, {"feasible_w": 999.0}, DeclineReason.STATE_OF_CHARGE),
        ({}, {"feasible_w": 0.0, "kind": SourceKind.SOLAR}, DeclineReason.INSUFFICIENT_FORECAST),
        ({}, {"feasible_w": 10.0, "kind": SourceKind.WIND}, DeclineReason.INSUFFICIENT_FORECAST),
        ({}, {"feasible_w": 500.0, "kind": SourceKind.CONSUMER}, DeclineReason.INSUFFICIENT_FORECAST),
        ({"strategy": Strategy.REPUTATION}, {"feasible_w": 1_999.0}, DeclineReason.STATE_OF_CHARGE),
    ],
)
def test_it_declines_with_the_reason_that_applies(
    request_overrides: dict[str, Any], der_overrides: dict[str, Any], reason: DeclineReason
) -> None:
    decision = decide(make_request(**request_overrides), make_der_view(**der_overrides), 1.0, DRAW_YES)
    assert decision.action == Action.DECLINE
    assert decision.reason == reason
    assert decision.why


@pytest.mark.parametrize(
    ("der_overrides", "request_overrides", "reason"),
    [
        # an outage wins over everything else
        (
            {"in_outage": True, "feasible_w": 0.0, "flex_w": 0},
            {"duration_s": 99_999},
            DeclineReason.OUTAGE,
        ),
        # a duration beyond the contract wins over an empty flexibility and an infeasible amount
        ({"feasible_w": 0.0, "flex_w": 0}, {"duration_s": 99_999}, DeclineReason.DURATION_BEYOND_CONTRACT),
        # nothing to commit wins over infeasibility
        ({"feasible_w": 0.0, "flex_w": 0}, {}, DeclineReason.UNSPECIFIED),
        # infeasibility wins over unwillingness
        ({"feasible_w": 0.0}, {}, DeclineReason.STATE_OF_CHARGE),
    ],
)
def test_the_first_failing_check_gives_the_reason(
    der_overrides: dict[str, Any], request_overrides: dict[str, Any], reason: DeclineReason
) -> None:
    decision = decide(make_request(**request_overrides), make_der_view(**der_overrides), 0.0, 0.99)
    assert decision.reason == reason


@pytest.mark.parametrize(
    ("willingness", "draw", "action"),
    [
        (0.95, 0.94, Action.ACCEPT),
        (0.95, 0.95, Action.DECLINE),
        (0.95, 0.99, Action.DECLINE),
        (1.0, 0.999999, Action.ACCEPT),
        (0.0, 0.0, Action.DECLINE),
    ],
)
def test_willingness_draw(willingness: float, draw: float, action: Action) -> None:
    decision = decide(make_request(), make_der_view(), willingness, draw)
    assert decision.action == action
    if action == Action.DECLINE:
        assert decision.reason == DeclineReason.UNWILLING


def test_willingness_is_the_share_of_requests_taken() -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    taken = sum(
        decide(make_request(), make_der_view(), 0.7, float(rng.random())).action == Action.ACCEPT
        for _ in range(4_000)
    )
    assert 0.67 < taken / 4_000 < 0.73


@pytest.mark.parametrize(
    ("strategy", "power", "total", "capacity", "flex", "expected"),
    [
        (Strategy.FAIR, 3_000, 8_000, 8_000, 2_000, 750),
        (Strategy.FAIR, 3_000, 8_000, 2_000, 2_000, 500),
        (Strategy.FAIR, 3_000, 0, 8_000, 2_000, 0),
        (Strategy.REPUTATION, 1, 1, 8_000, 2_000, 2_000),
        (Strategy.REPUTATION, 1, 1, 8_003, 5_000, 2_000),
        (Strategy.REPUTATION, 1, 1, 8_000, 300, 300),
    ],
)
def test_commitment_mirrors_the_contract(
    strategy: Strategy, power: int, total: int, capacity: int, flex: int, expected: int
) -> None:
    request = make_request(strategy=strategy, power_w=power, total_flex_w=total)
    assert commitment_w(request, capacity, flex) == expected


@pytest.mark.parametrize(
    ("risk", "action"),
    [
        (0.0, Action.ACCEPT),
        (50.0, Action.ACCEPT),  # exactly 5 % of the 1,000 W share
        (50.1, Action.DECLINE),
        (None, Action.DECLINE),  # it does not know its variability yet
    ],
)
def test_it_declines_what_it_could_not_prove(risk: float | None, action: Action) -> None:
    decision = decide(make_request(), make_der_view(risk_w=risk), 1.0, DRAW_YES)
    assert decision.action == action
    if action == Action.DECLINE:
        assert decision.reason == DeclineReason.INSUFFICIENT_FORECAST
        assert "miss" in decision.why


def test_a_braver_prosumer_takes_more_risk() -> None:
    view = make_der_view(risk_w=200.0)
    assert decide(make_request(), view, 1.0, DRAW_YES).action == Action.DECLINE
    assert decide(make_request(), view, 1.0, DRAW_YES, max_risk_share=0.25).action == Action.ACCEPT


def test_infeasibility_wins_over_risk_and_risk_over_unwillingness() -> None:
    infeasible = make_der_view(feasible_w=0.0, risk_w=None)
    assert decide(make_request(), infeasible, 0.0, 0.99).reason == DeclineReason.STATE_OF_CHARGE
    risky = make_der_view(risk_w=None)
    assert decide(make_request(), risky, 0.0, 0.99).reason == DeclineReason.INSUFFICIENT_FORECAST


# ---------------------------------------------------------------- what it would deliver now (issue 12)


def test_deliverable_is_the_offer_limited_by_state_and_provability() -> None:
    from prosumer.decision import deliverable_w

    # offer: flexibility 3000 W, at most 25 % of 8000 W = 2000 W
    assert (
        deliverable_w(8_000, 3_000, feasible_w=5_000.0, risk_w=0.0, in_outage=False, max_risk_share=0.05)
        == 2_000
    )
    assert (
        deliverable_w(8_000, 3_000, feasible_w=1_200.9, risk_w=10.0, in_outage=False, max_risk_share=0.05)
        == 1_200
    )
    assert (
        deliverable_w(8_000, 3_000, feasible_w=5_000.0, risk_w=0.0, in_outage=True, max_risk_share=0.05) == 0
    )
    assert (
        deliverable_w(8_000, 3_000, feasible_w=5_000.0, risk_w=101.0, in_outage=False, max_risk_share=0.05)
        == 0
    )
    assert (
        deliverable_w(8_000, 3_000, feasible_w=5_000.0, risk_w=None, in_outage=False, max_risk_share=0.05)
        == 0
    )


def test_an_accept_takes_part_in_a_top_up_up_to_what_it_can_deliver() -> None:
    from prosumer.decision import Action, Decision, with_top_up_limit

    accept = Decision(Action.ACCEPT, 400, None, "accept 400 W up", limit_w=400)
    assert with_top_up_limit(accept, 1_500).limit_w == 1_500
    assert with_top_up_limit(accept, 100).limit_w == 400  # never below the share
    decline = Decision(Action.DECLINE, 400, None, "no")
    assert with_top_up_limit(decline, 1_500) == decline


def test_an_over_promising_prosumer_skips_the_checks_of_what_it_can_deliver() -> None:
    from contracts.types import Direction
    from prosumer.decision import DerView, RequestView, deliverable_w

    request = RequestView(1, Strategy.FAIR, Direction.UP, 4_000, 1_800, 8_000)
    der = DerView(SourceKind.SOLAR, 8_000, 2_000, 3_600, feasible_w=0.0, in_outage=False, risk_w=None)
    assert decide(request, der, 1.0, 0.0).action == Action.DECLINE  # cannot move it, cannot prove it
    promising = DerView(**{**der.__dict__, "over_promises": True})
    d = decide(request, promising, 1.0, 0.0)
    assert (d.action, d.amount_w) == (Action.ACCEPT, 1_000)  # its fair share, whatever it can do
    assert deliverable_w(8_000, 2_000, 0.0, None, False, 0.05, over_promises=True) == 2_000
    assert deliverable_w(8_000, 2_000, 0.0, None, True, 0.05, over_promises=True) == 0  # not in an outage
