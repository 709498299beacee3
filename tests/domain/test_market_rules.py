"""The market's rules in Python (R7, R8, R10, R11) that the contracts mirror."""

from __future__ import annotations

import pytest

from domain.market_rules import Candidate, fair_share_w, is_compliant, offer_w, payment, rank_key, select


@pytest.mark.parametrize(
    ("power", "flex", "total", "capacity", "share"),
    [
        (3_000, 2_000, 6_000, 8_000, 1_000),  # proportional
        (3_000, 2_000, 6_000, 2_000, 500),  # capped at 25% of capacity
        (1_000, 1, 3, 10_000, 333),  # floor division, like the contract
        (1_000, 500, 0, 4_000, 0),  # no flexibility at all
    ],
)
def test_fair_share(power: int, flex: int, total: int, capacity: int, share: int) -> None:
    assert fair_share_w(power, flex, total, capacity) == share


def test_offer_is_flex_capped_at_quarter_capacity() -> None:
    assert offer_w(3_000, 8_000) == 2_000
    assert offer_w(1_000, 8_000) == 1_000


def test_select_ranks_by_reputation_then_offer_then_tariff() -> None:
    a = Candidate("0xa", 600, 1_000, 10)
    b = Candidate("0xb", 600, 2_000, 10)
    c = Candidate("0xc", 600, 2_000, 5)
    d = Candidate("0xd", 700, 500, 99)
    assert sorted([a, b, c, d], key=rank_key) == [d, c, b, a]
    selected, displaced = select([a, b, c, d], power_w=2_400)
    assert selected == [d, c]
    assert displaced == [b, a]


def test_select_takes_everyone_when_offers_fall_short() -> None:
    cands = [Candidate(f"0x{i}", 500, 100, 1) for i in range(3)]
    selected, displaced = select(cands, power_w=10_000)
    assert len(selected) == 3 and displaced == []


@pytest.mark.parametrize(
    ("committed_w", "duration_s", "delivered_wh", "ok"),
    [
        (1_000, 3_600, 1_000, True),
        (1_000, 3_600, 1_100, True),  # exactly +10%
        (1_000, 3_600, 900, True),  # exactly -10%
        (1_000, 3_600, 1_101, False),
        (1_000, 3_600, 899, False),
        (1_000, 3_600, 0, False),
        (1_000, 3_600, -1_000, False),  # the wrong direction never passes by sign
        (1_000, 60, 17, True),  # 16.67 Wh committed
        (1_000, 60, 19, False),
    ],
)
def test_compliance(committed_w: int, duration_s: int, delivered_wh: int, ok: bool) -> None:
    assert is_compliant(committed_w, duration_s, delivered_wh) is ok


def test_payment_is_tariff_times_committed_energy() -> None:
    assert payment(2 * 10**17, 1_000, 3_600) == 2 * 10**17  # 1 kWh at 0.2 token/kWh
    assert payment(10**18, 500, 900) == 125 * 10**15  # 0.125 kWh
