"""The market's rules, once, in Python: shares (R7), offers and the ranking (R8), compliance (R10),
payment (R11), and the request-level success rule the report uses.

The contracts compute the same in `contracts/src/MarketRules.sol` (a chain test compares both on the
same inputs); the aggregator ranks candidates with these, prosumers compute what they would commit,
and the report judges requests with them. Integers only, floor division as on chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_SHARE_DIVISOR = 4  # R7: a modulation never exceeds 25% of capacity
TOLERANCE_DIVISOR = 10  # R10: delivered within 10% of committed


def fair_share_w(power_w: int, flex_w: int, total_flex_w: int, capacity_w: int) -> int:
    """R7: power x flex / total flex (snapshot at opening), at most 25% of capacity. Integer W."""
    if total_flex_w <= 0:
        return 0
    return min(power_w * flex_w // total_flex_w, capacity_w // MAX_SHARE_DIVISOR)


def offer_w(flex_w: int, capacity_w: int) -> int:
    """R8: what a candidate offers: its flexibility, at most 25% of its capacity."""
    return min(flex_w, capacity_w // MAX_SHARE_DIVISOR)


@dataclass(frozen=True)
class Candidate:
    address: str
    reputation: int
    offer_w: int
    tariff: int  # token base units per kWh, in the request's direction


def rank_key(c: Candidate) -> tuple[int, int, int, str]:
    """Ranking: reputation desc, offered flexibility desc, tariff asc; address last, for determinism."""
    return (-c.reputation, -c.offer_w, c.tariff, c.address.lower())


def select(candidates: Iterable[Candidate], power_w: int) -> tuple[list[Candidate], list[Candidate]]:
    """R8: the best-ranked candidates until the request is covered; the rest are displaced."""
    ordered = sorted(candidates, key=rank_key)
    covered, count = 0, 0
    for c in ordered:
        if covered >= power_w:
            break
        covered += c.offer_w
        count += 1
    return ordered[:count], ordered[count:]


def is_compliant(committed_w: int, duration_s: int, delivered_wh: int) -> bool:
    """R10, as the contract computes it: delivered >= 0 and |delivered - committed| <= committed / 10,
    compared in watt-seconds without division (a delivery in the wrong direction never passes)."""
    if delivered_wh < 0:
        return False
    committed_ws = committed_w * duration_s
    return abs(delivered_wh * 3600 - committed_ws) * TOLERANCE_DIVISOR <= committed_ws


def within_tolerance(actual: float, target: float) -> bool:
    """The same ±10 % on any amount: |actual - target| <= target / 10 (a request delivered within 10 %
    of what was requested counts as a success in the report)."""
    return target > 0 and abs(actual - target) * TOLERANCE_DIVISOR <= target


def payment(tariff: int, committed_w: int, duration_s: int) -> int:
    """Token base units paid for a compliant delivery: tariff (per kWh) x committed energy."""
    return tariff * committed_w * duration_s // 3_600_000
