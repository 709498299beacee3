"""An experiment's rows and comparison: a run's summary as one row, and per setting and strategy the mean
and 95 % interval of each measure, with the paired difference between strategies. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from simulation.experiment_result import METRICS, GroupStats, MetricEstimate, PairedStats, RunRow
from simulation.experiment_stats import Estimate, mean_ci, paired_difference
from simulation.sweep import RunSpec


def _ratio(num: float | None, den: float | None, scale: float = 1.0) -> float | None:
    if num is None or not den:
        return None
    return round(num / (den / scale), 6)


def row_of(spec: RunSpec, summary: Mapping[str, Any], wall_s: float) -> RunRow:
    """One finished run's row from its `summary.json` (as a dict)."""
    short = summary.get("shortfall") or {}
    requests = summary.get("requests", {})
    energy = summary.get("energy_wh", {})
    delivered = short.get("delivered_wh", energy.get("delivered"))
    latency = summary.get("latency_s", {})
    gas = summary.get("gas", {}).get("market_total")
    behaviours = short.get("by_behaviour", {})
    return RunRow(
        run_id=spec.run_id,
        setting_id=spec.setting_id,
        setting=spec.overrides,
        seed=spec.seed,
        strategy=spec.strategy,
        status="ok",
        wall_s=round(wall_s, 1),
        requests_sent=len(short.get("per_request", [])) if short else requests.get("total"),
        requests_settled=requests.get("settled", 0),
        requested_wh=short.get("requested_wh", energy.get("requested")),
        committed_wh=energy.get("committed"),
        delivered_wh=delivered,
        delivered_share=short.get("delivered_share"),
        success_rate=summary.get("success_rate"),
        compliant_share=summary.get("compliant_share"),
        tokens_paid=summary.get("tokens_paid"),
        tokens_per_kwh=_ratio(summary.get("tokens_paid"), delivered, 1000.0),
        gas_market=gas,
        gas_per_delivered_kwh=_ratio(gas, delivered, 1000.0),
        latency_notified_s=latency.get("notified", {}).get("mean"),
        latency_acceptances_s=latency.get("acceptances_recorded", {}).get("mean"),
        latency_settlement_s=latency.get("settlement_final", {}).get("mean"),
        undelivered_wh=dict(short.get("by_reason", {})),
        compliance_by_behaviour={
            k: round(v["compliant"] / v["participations"], 4) if v["participations"] else None
            for k, v in behaviours.items()
        },
        reputation_by_behaviour={k: v["mean_reputation"] for k, v in behaviours.items()},
    )


def failed_row(spec: RunSpec, wall_s: float, error: str) -> RunRow:
    return RunRow(
        run_id=spec.run_id,
        setting_id=spec.setting_id,
        setting=spec.overrides,
        seed=spec.seed,
        strategy=spec.strategy,
        status="failed",
        error=error,
        wall_s=round(wall_s, 1),
    )


def _estimate(e: Estimate) -> MetricEstimate:
    r = lambda v: None if v is None else round(v, 6)  # noqa: E731
    return MetricEstimate(n=e.n, mean=r(e.mean), ci_low=r(e.ci_low), ci_high=r(e.ci_high))


def compare(rows: list[RunRow]) -> tuple[list[GroupStats], list[PairedStats]]:
    """Per setting and strategy, each measure's mean and interval over the finished runs; per setting,
    reputation - fair on the seeds both finished."""
    ok = [r for r in rows if r.status == "ok"]
    groups: dict[tuple[str, str], list[RunRow]] = defaultdict(list)
    for r in ok:
        groups[(r.setting_id, r.strategy)].append(r)
    out = []
    for (sid, strategy), members in groups.items():
        reasons = sorted({k for m in members for k in m.undelivered_wh})
        out.append(
            GroupStats(
                setting_id=sid,
                setting=members[0].setting,
                strategy=strategy,
                runs=len(members),
                metrics={m: _estimate(mean_ci(getattr(r, m) for r in members)) for m in METRICS},
                undelivered_wh={
                    k: round(sum(m.undelivered_wh.get(k, 0.0) for m in members) / len(members), 1)
                    for k in reasons
                },
            )
        )
    paired = []
    for sid in dict.fromkeys(r.setting_id for r in ok):
        fair = {r.seed: r for r in groups.get((sid, "fair"), [])}
        rep = {r.seed: r for r in groups.get((sid, "reputation"), [])}
        if not fair or not rep:
            continue
        paired.append(
            PairedStats(
                setting_id=sid,
                a="fair",
                b="reputation",
                metrics={
                    m: _estimate(
                        paired_difference(
                            {s: getattr(r, m) for s, r in fair.items()},
                            {s: getattr(r, m) for s, r in rep.items()},
                        )
                    )
                    for m in METRICS
                },
            )
        )
    return out, paired
