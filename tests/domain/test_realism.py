"""The imperfection models (domain.realism): pure, checked by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from domain.battery import BatteryParams, BatteryState
from domain.der import BatteryDer
from domain.flexibility import Commitment
from domain.realism import IDEAL, Realism, Traits, draw_traits, late_share, metered, ramp_limited
from domain.vocabulary import Direction, SourceKind

T0 = datetime(2025, 6, 21, 12, tzinfo=UTC)


def test_ramp_limited_mean_and_end_by_hand() -> None:
    # 0 -> 1000 W at 10 W/s over 60 s: reaches 600 W, mean 300 W
    assert ramp_limited(0.0, 1000.0, 60.0, 10.0) == (300.0, 600.0)
    # 0 -> 200 W at 10 W/s over 60 s: reaches it after 20 s; mean = (20 x 100 + 40 x 200) / 60
    mean, end = ramp_limited(0.0, 200.0, 60.0, 10.0)
    assert end == 200.0 and mean == pytest.approx((20 * 100 + 40 * 200) / 60)
    assert ramp_limited(500.0, -500.0, 10.0, 50.0) == (250.0, 0.0)  # downwards too
    assert ramp_limited(0.0, 800.0, 60.0, math.inf) == (800.0, 800.0)  # no limit


def test_late_share_is_the_part_of_a_step_before_the_device_acts() -> None:
    assert late_share(0.0, 120.0, 0.0, 30.0) == 0.25  # the window's first step, 30 s late
    assert late_share(120.0, 120.0, 0.0, 30.0) == 0.0  # later steps are whole
    assert late_share(0.0, 120.0, 0.0, 300.0) == 1.0  # later than the step
    assert late_share(-60.0, 120.0, 0.0, 30.0) == 0.25  # a step straddling the start
    assert late_share(0.0, 120.0, 0.0, 0.0) == 0.0


def test_metered_power_carries_gain_and_noise() -> None:
    assert metered(1000.0, 1.01, 0.0, 3.0) == pytest.approx(1010.0)
    assert metered(1000.0, 1.0, 0.01, -2.0) == pytest.approx(980.0)
    assert metered(-500.0, 1.0, 0.01, 1.0) == pytest.approx(-505.0)


def test_traits_are_ideal_by_default_and_reproducible_from_the_stream() -> None:
    ideal = draw_traits(Realism(), SourceKind.SOLAR, 5000.0, np.random.default_rng(1))
    assert ideal == Traits(delay_s=0.0, ramp_w_per_s=math.inf, soc_error=0.0, meter_gain=1.0)
    assert ideal.kind_of_prosumer == "diligent"
    r = Realism(delay_median_s=20.0, full_ramp_s={"battery": 2.0}, careless_share=1.0)
    a = draw_traits(r, SourceKind.BATTERY, 4000.0, np.random.default_rng(7))
    assert a == draw_traits(r, SourceKind.BATTERY, 4000.0, np.random.default_rng(7))
    assert a.ramp_w_per_s == 2000.0 and a.delay_s > 0 and 0.5 <= a.care <= 0.9
    assert a.kind_of_prosumer == "careless"
    assert draw_traits(r, SourceKind.SOLAR, 4000.0, np.random.default_rng(7)).ramp_w_per_s == math.inf


def test_shares_pick_about_that_share_of_prosumers() -> None:
    r = Realism(over_promise_share=0.1, careless_share=0.2)
    traits = [draw_traits(r, SourceKind.CONSUMER, 3000.0, np.random.default_rng(i)) for i in range(2000)]
    assert sum(t.over_promises for t in traits) / 2000 == pytest.approx(0.1, abs=0.02)
    assert sum(t.care < 1 for t in traits) / 2000 == pytest.approx(0.2, abs=0.025)


@pytest.mark.parametrize(
    "bad",
    [{"careless_care": (0.9, 0.5)}, {"battery_soc_window": (0.9, 0.1)}, {"full_ramp_s": {"boiler": 3.0}},
     {"over_promise_share": 1.5}],
)  # fmt: skip
def test_a_bad_realism_table_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Realism.model_validate(bad)


def _battery(traits: Traits) -> BatteryDer:
    params = BatteryParams(capacity_wh=10_000.0, max_charge_w=5_000.0, max_discharge_w=5_000.0)
    der = BatteryDer(params, BatteryState(0.5), 5_000.0, 1_250.0, 1_250.0)
    der.traits = traits
    return der


def _delivered_wh(der: BatteryDer, step_s: float = 60.0, steps: int = 20) -> float:
    c = Commitment(Direction.UP, 1_000.0, T0, T0 + timedelta(seconds=step_s * steps))
    der.commit(c)
    rng = np.random.default_rng(0)
    return sum(
        der.step(T0 + timedelta(seconds=k * step_s), step_s, rng) * step_s / 3600 for k in range(steps)
    )


def test_a_battery_delivers_its_commitment_less_what_delay_ramp_and_care_take() -> None:
    assert _delivered_wh(_battery(IDEAL)) == pytest.approx(1000 * 1200 / 3600)  # 333.3 Wh
    # 30 s late: the first minute's step loses half
    assert _delivered_wh(_battery(Traits(delay_s=30.0))) == pytest.approx(1000 * 1170 / 3600)
    # 10 W/s: 100 s to reach 1000 W, losing 1000 x 100 / 2 W s
    assert _delivered_wh(_battery(Traits(ramp_w_per_s=10.0))) == pytest.approx((1000 * 1200 - 50_000) / 3600)
    assert _delivered_wh(_battery(Traits(care=0.6))) == pytest.approx(0.6 * 1000 * 1200 / 3600)


def test_a_battery_planning_with_a_wrong_soc_believes_it_can_move_more() -> None:
    nearly_empty = BatteryParams(capacity_wh=10_000.0, max_charge_w=5_000.0, max_discharge_w=5_000.0)
    der = BatteryDer(nearly_empty, BatteryState(0.08), 5_000.0, 1_250.0, 1_250.0)
    truth = der.feasible_w(Direction.UP, 1_800.0)
    der.traits = Traits(soc_error=0.05)
    assert der.feasible_w(Direction.UP, 1_800.0) > truth
