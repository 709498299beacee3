"""Python reference implementations of the rules the contracts document, to check them against.

Written from the issue and the NatSpec, not from the Solidity: a disagreement is a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.types import Terms

REPUTATION_BASE = 500
REPUTATION_MAX = 1000
WEIGHT_COMPLIANT = 20
WEIGHT_PARTICIPATION = 5
WEIGHT_DOWN_RENEGOTIATION = 25
WEIGHT_PENALTY = 40
MAX_SHARE_DIVISOR = 4  # a commitment is at most 25 % of capacity


def reputation(
    compliant: int = 0, participations: int = 0, down_renegotiations: int = 0, penalties: int = 0
) -> int:
    score = (
        REPUTATION_BASE
        + WEIGHT_COMPLIANT * compliant
        + WEIGHT_PARTICIPATION * participations
        - WEIGHT_DOWN_RENEGOTIATION * down_renegotiations
        - WEIGHT_PENALTY * penalties
    )
    return max(0, min(REPUTATION_MAX, score))


def is_downward(old: Terms, new: Terms) -> bool:
    """Lowering either flexibility or the magnitude of expected energy counts against reputation."""
    return (
        new.flex_up_w < old.flex_up_w
        or new.flex_down_w < old.flex_down_w
        or abs(new.expected_wh_per_day) < abs(old.expected_wh_per_day)
    )


def fair_share(power_w: int, flex_w: int, total_flex_w: int, capacity_w: int) -> int:
    return min(power_w * flex_w // total_flex_w, capacity_w // MAX_SHARE_DIVISOR)


def offer(flex_w: int, capacity_w: int) -> int:
    """What a reputation candidate offers: its flexibility, at most 25 % of its capacity."""
    return min(flex_w, capacity_w // MAX_SHARE_DIVISOR)


def room(share_w: int, flex_w: int, capacity_w: int, max_w: int = 2**32 - 1) -> int:
    """What a fair accepter leaves for a top-up: its offer (or its own limit, if lower) beyond its share."""
    return max(0, min(max_w, offer(flex_w, capacity_w)) - share_w)


def top_up(gap_w: int, room_w: int, total_room_w: int) -> int:
    """An accepter's part of the gap the decliners left: in proportion to its room, at most its room."""
    return min(room_w, gap_w * room_w // total_room_w) if total_room_w else 0


def committed_ws(committed_w: int, duration_s: int) -> int:
    return committed_w * duration_s


def is_compliant(committed_w: int, duration_s: int, delivered_wh: int) -> bool:
    """|delivered - committed| <= 10 % of |committed|, on magnitudes; a move the wrong way never passes.

    Exact rational arithmetic: committed Wh = committed_w * duration_s / 3600.
    """
    if delivered_wh < 0:
        return False
    committed = committed_w * duration_s  # Wh * 3600
    delivered = delivered_wh * 3600
    return abs(delivered - committed) * 10 <= committed


def payment(tariff_per_kwh: int, committed_w: int, duration_s: int) -> int:
    """Tariff (base units per kWh) x committed energy, floored to base units."""
    return tariff_per_kwh * committed_w * duration_s // 3_600_000


def energy_wh(power_w: int, duration_s: int) -> int:
    return power_w * duration_s // 3600


@dataclass(frozen=True, order=True)
class RankKey:
    """Sorts best first: higher reputation, then more offered flexibility, then a lower tariff."""

    neg_reputation: int
    neg_offer_w: int
    tariff: int

    @classmethod
    def of(cls, reputation_: int, offer_w: int, tariff: int) -> RankKey:
        return cls(-reputation_, -offer_w, tariff)


def select(
    power_w: int, candidates: dict[str, RankKey], offers: dict[str, int]
) -> tuple[list[str], list[str], int]:
    """The reference selection: best first until covered. Returns (selected, displaced, committed W)."""
    ranked = sorted(candidates, key=lambda a: candidates[a])
    selected: list[str] = []
    committed = 0
    for address in ranked:
        if committed >= power_w:
            break
        selected.append(address)
        committed += min(offers[address], power_w - committed)
    displaced = [a for a in ranked if a not in selected]
    return selected, displaced, committed
