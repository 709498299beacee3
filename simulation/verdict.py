"""Which strategy served the grid better, in words and numbers: a pure function of the run's summaries.

The grid operator asked for energy; the strategy that delivered the larger share of it served the grid
better. A difference under one percentage point is a tie, decided then by the share of requests met
within 10 %. Costs (tokens and gas per delivered kWh) are stated beside, not weighed in. One run is one
seed: the sentence says so, and points to `flexsim experiment` for a statistic over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.market_rules import within_tolerance

TIE = 0.01


@dataclass(frozen=True)
class StrategyFigures:
    strategy: str
    requested_wh: int
    delivered_wh: int
    delivered_share: float | None
    settled: int
    met: int  # settled requests delivered within 10 %
    compliant_share: float | None
    tokens_per_kwh: float | None
    gas_per_kwh: int | None

    @classmethod
    def of(cls, strategy: str, s: dict[str, Any]) -> StrategyFigures:
        energy = s["energy_wh"]
        rows = [r for r in s.get("per_request", []) if r["requested_wh"] is not None]
        delivered = int(energy["delivered"])
        return cls(
            strategy=strategy,
            requested_wh=int(energy["requested"]),
            delivered_wh=delivered,
            delivered_share=(delivered / energy["requested"]) if energy["requested"] else None,
            settled=len(rows),
            met=sum(1 for r in rows if within_tolerance(r["delivered_wh"], r["requested_wh"])),
            compliant_share=s.get("compliant_share"),
            tokens_per_kwh=(s["tokens_paid"] * 1000 / delivered) if delivered else None,
            gas_per_kwh=s["gas"].get("per_delivered_kwh"),
        )

    def said(self, subject: str | None = None) -> str:
        share = "no settled request" if self.delivered_share is None else _pct(self.delivered_share)
        return (
            f"{subject or self.strategy} delivered {share} of the energy requested ({self.delivered_wh:,} of "
            f"{self.requested_wh:,} Wh) and met {self.met} of {self.settled} requests within 10 %"
        )


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def better(a: StrategyFigures, b: StrategyFigures) -> StrategyFigures | None:
    """The strategy that served the grid better, or None for a tie (or nothing to compare)."""
    if a.delivered_share is None or b.delivered_share is None:
        return None
    if abs(a.delivered_share - b.delivered_share) >= TIE:
        return a if a.delivered_share > b.delivered_share else b
    ra = a.met / a.settled if a.settled else 0.0
    rb = b.met / b.settled if b.settled else 0.0
    if ra != rb:
        return a if ra > rb else b
    return None


def verdict(summaries: dict[str, dict[str, Any]]) -> str:
    """One paragraph: which strategy served the grid better, with the numbers that say so."""
    figures = [StrategyFigures.of(name, s) for name, s in summaries.items()]
    if len(figures) < 2:
        (only,) = figures
        return f"Only {only.strategy} ran, so there is nothing to compare: {only.said()}."
    a, b = figures[:2]
    if a.delivered_share is None or b.delivered_share is None:
        return f"No comparison: {a.said()}; {b.said()}."
    win = better(a, b)
    costs = "; ".join(
        f"{f.strategy} paid {f.tokens_per_kwh:.3f} FLEX and {f.gas_per_kwh:,} gas per kWh delivered"
        for f in figures
        if f.tokens_per_kwh is not None and f.gas_per_kwh is not None
    )
    caveat = (
        "This is one seed with "
        f"{max(a.settled, b.settled)} requests per strategy, not a statistic: compare over seeds with "
        "`flexsim experiment`."
    )
    if win is None:
        head = f"Neither strategy served the grid better in this run: {a.said()}; {b.said()}."
    else:
        lose = b if win is a else a
        assert win.delivered_share is not None and lose.delivered_share is not None
        points = 100 * (win.delivered_share - lose.delivered_share)
        head = (
            f"{win.strategy.capitalize()} served the grid better in this run: {win.said('it')}, against "
            f"{_pct(lose.delivered_share)} ({lose.delivered_wh:,} of {lose.requested_wh:,} Wh) and "
            f"{lose.met} of {lose.settled} for {lose.strategy} ({points:+.0f} percentage points of the "
            "energy requested)."
        )
    return " ".join(x for x in (head, f"Costs: {costs}." if costs else "", caveat) if x)
