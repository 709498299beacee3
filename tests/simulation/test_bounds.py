"""The lower bound that block time and gas limit set on a request's latencies."""

from __future__ import annotations

from typing import Any

import pytest

from simulation.bounds import Blocks, blocks_for, bound_summary, request_bounds
from simulation.collect import ChainEvent, RunData
from simulation.watch import Block, Watch

MARKET_TXS = {  # tx -> (function, gas)
    "open": ("openRequest", 150_000),
    "acc1": ("accept", 100_000),
    "acc2": ("accept", 100_000),
    "rec": ("recordDeliveries", 5_000_000),
    "fin": ("finaliseAnchored", 4_000_000),  # the aggregator finalises with the anchor
}


def run_data(created_at: float, second: float | None = None) -> RunData:
    def ev(name: str, tx: str, block: int, rid: int = 1) -> ChainEvent:
        return ChainEvent("Market", name, {"requestId": rid}, block, 100 + 5 * block, tx)

    events = [
        ev("FlexibilityRequested", "open", 2),
        ev("Accepted", "acc1", 3),
        ev("Accepted", "acc2", 3),
        ev("DeliveryRecorded", "rec", 9),
        ev("RequestSettled", "fin", 10),
    ]
    requests: list[dict[str, Any]] = [
        {"id": 1, "chain_request_id": 1, "created_at": created_at, "lead_time_s": 900,
         "duration_s": 600, "strategy": "fair", "status": "settled"},
    ]  # fmt: skip
    if second is not None:
        requests.append({**requests[0], "id": 2, "chain_request_id": 2, "created_at": second})
    blocks = [Block(n, 100 + 5 * n, 100.0 + 5 * n, 1, 8_000_000, []) for n in range(60)]
    return RunData(
        strategy="fair", chain_id=73799, events=events, gas_by_function={},
        tx_gas={t: g for t, (_, g) in MARKET_TXS.items()},
        tx_function={t: f for t, (f, _) in MARKET_TXS.items()},
        requests=requests, responses=[], power_series=[], reading_latency=[], balances={},
        reputations={}, watch=Watch(blocks=blocks),
    )  # fmt: skip


def test_the_kth_block_after_a_time() -> None:
    b = Blocks([100.0, 105.0, 110.0], block_time_s=5.0)
    assert b.kth_after(101.0, 1) == 105.0 and b.kth_after(105.0, 1) == 110.0
    assert b.kth_after(101.0, 2) == 110.0 and b.kth_after(101.0, 4) == 120.0  # beyond: extrapolated
    assert blocks_for(0, 8_000_000) == 1 and blocks_for(8_000_001, 8_000_000) == 2


def test_each_stage_is_bounded_by_blocks_and_gas_after_the_protocol_waits() -> None:
    # request at 101.5 (speed 120): lead 900 sim s is 7.5 s, raised to 5 blocks (25 s): deadline 117,
    # window [127, 132), measurable after 132 + 900/120 = 139.5; blocks every 5 s from 100.
    measured = [{"request_id": 1, "chain_request_id": 1, "notified_s": 8.5,
                 "acceptances_recorded_s": 13.5, "settlement_final_s": 53.5}]  # fmt: skip
    (row,) = request_bounds(run_data(101.5), measured, speed=120.0, block_time_s=5.0, gas_limit=8_000_000)
    assert row["notified"] == {"measured_s": 8.5, "bound_s": 3.5, "ratio": 2.429}  # the block at 105
    assert row["acceptances_recorded"]["bound_s"] == 8.5  # 200k gas: one block after the open one
    assert row["settlement_final"]["bound_s"] == 43.5  # 9M gas: two blocks after 139.5 (140, 145)
    assert row["gas"] == {"join": 200_000, "settle": 9_000_000}
    assert row["queued_behind_previous_s"] == 0.0
    summary = bound_summary([row])
    assert summary["settlement_final"]["ratio"] == pytest.approx(53.5 / 43.5, abs=1e-3)
    assert summary["notified"]["requests"] == 1


def test_a_request_queued_behind_another_is_bounded_from_when_that_one_settled() -> None:
    data = run_data(101.5, second=110.2)
    measured = [
        {"request_id": 1, "chain_request_id": 1, "notified_s": 8.5,
         "acceptances_recorded_s": 13.5, "settlement_final_s": 53.5},
        {"request_id": 2, "chain_request_id": 2, "notified_s": 50.0,
         "acceptances_recorded_s": 55.0, "settlement_final_s": 100.0},
    ]  # fmt: skip
    first, second = request_bounds(data, measured, speed=120.0, block_time_s=5.0, gas_limit=8_000_000)
    assert second["queued_behind_previous_s"] == pytest.approx(101.5 + 53.5 - 110.2, abs=0.002)
    assert second["notified"]["bound_s"] == pytest.approx(160.0 - 110.2)  # first block after 155


def test_a_queued_request_is_not_bounded_by_the_block_that_settled_the_one_before() -> None:
    """The first request settled in the block seen at 150.0; its rounded latency puts that a hair
    before the block: the next request's open transaction still goes in the block after (155)."""
    data = run_data(101.5, second=110.2)
    measured = [
        {"request_id": 1, "chain_request_id": 1, "notified_s": 8.5,
         "acceptances_recorded_s": 13.5, "settlement_final_s": 48.4996},
        {"request_id": 2, "chain_request_id": 2, "notified_s": 44.8,
         "acceptances_recorded_s": 49.8, "settlement_final_s": 100.0},
    ]  # fmt: skip
    _, second = request_bounds(data, measured, speed=120.0, block_time_s=5.0, gas_limit=8_000_000)
    assert second["notified"]["bound_s"] == pytest.approx(155.0 - 110.2)
    assert second["notified"]["ratio"] == 1.0
