"""How much gas money each prosumer gets (R14): pure, no chain."""

from __future__ import annotations

import pytest

from simulation.funding import FundingPlan, plan_funding
from simulation.scenario import load_scenario


def test_funding_follows_the_planned_gas_and_skips_funded_accounts() -> None:
    volta = load_scenario("volta")
    plan = plan_funding(volta, 1.2, 10**9)
    bigger = plan_funding(volta.with_overrides(**{"requests.max_count": 20}), 1.2, 10**9)
    assert 10**14 < plan.per_prosumer_wei < 10**16  # ~1M gas at 1 gwei, not 1 native token
    assert bigger.per_prosumer_wei > plan.per_prosumer_wei
    assert plan_funding(volta, 1.2, 2 * 10**9).per_prosumer_wei == pytest.approx(
        2 * plan.per_prosumer_wei, rel=1e-6
    )
    p = FundingPlan(per_prosumer_wei=100, transfer_wei=7)
    assert p.top_ups([0, 40, 100, 250]) == [100, 60, 0, 0]
    assert p.cost([100, 60, 0, 0]) == 160 + 2 * 7
