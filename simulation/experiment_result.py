"""The shape of an experiment's results (`experiment.json`; `flexsim schema experiment`): one row per run
with its settings, and per strategy and setting the mean and 95 % confidence interval of each measure,
with the paired difference between the strategies on the same seeds."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from base.published import Part, Published

METRICS: dict[str, str] = {
    "delivered_share": "delivered / requested energy, over every request sent",
    "success_rate": "share of settled requests delivered within 10 % of requested",
    "compliant_share": "share of participations delivered within 10 % of their commitment",
    "tokens_per_kwh": "tokens paid per delivered kWh",
    "gas_per_delivered_kwh": "gas of the market's request functions per delivered kWh",
    "latency_notified_s": "mean seconds from a request reaching the aggregator to its announcement",
    "latency_acceptances_s": "mean seconds to its last acceptance, candidacy or selection",
    "latency_settlement_s": "mean seconds to its settlement on chain",
}


class RunRow(Part):
    run_id: str = Field(description="setting__seed__strategy: the run's folder under runs/.")
    setting_id: str = Field(description="The setting's name (`base`: the scenario as it is).")
    setting: dict[str, Any] = Field(description="The scenario fields this run changed, with their values.")
    seed: int = Field(description="The scenario seed.")
    strategy: str = Field(description="fair or reputation.")
    status: str = Field(description="ok, or failed (with `error`).")
    error: str | None = Field(None, description="Why it failed (the last lines of its log).")
    wall_s: float = Field(description="Wall seconds the run took.")
    requests_sent: int | None = Field(None, description="Requests that reached the chain or were refused.")
    requests_settled: int | None = Field(None, description="Requests settled on chain.")
    requested_wh: float | None = Field(None, description="Energy of every request sent (Wh).")
    committed_wh: float | None = Field(None, description="Energy committed in settled requests (Wh).")
    delivered_wh: float | None = Field(None, description="Energy delivered (Wh).")
    delivered_share: float | None = Field(None, description=METRICS["delivered_share"])
    success_rate: float | None = Field(None, description=METRICS["success_rate"])
    compliant_share: float | None = Field(None, description=METRICS["compliant_share"])
    tokens_paid: float | None = Field(None, description="Tokens paid (whole tokens).")
    tokens_per_kwh: float | None = Field(None, description=METRICS["tokens_per_kwh"])
    gas_market: int | None = Field(None, description="Gas of the market's request functions.")
    gas_per_delivered_kwh: float | None = Field(None, description=METRICS["gas_per_delivered_kwh"])
    latency_notified_s: float | None = Field(None, description=METRICS["latency_notified_s"])
    latency_acceptances_s: float | None = Field(None, description=METRICS["latency_acceptances_s"])
    latency_settlement_s: float | None = Field(None, description=METRICS["latency_settlement_s"])
    undelivered_wh: dict[str, float] = Field(
        default_factory=dict, description="requested - delivered by reason (Wh; summary.json's shortfall)."
    )
    compliance_by_behaviour: dict[str, float | None] = Field(
        default_factory=dict, description="Compliant share of participations per kind of prosumer."
    )
    reputation_by_behaviour: dict[str, float | None] = Field(
        default_factory=dict, description="Mean final reputation (0-1000) per kind of prosumer."
    )


class MetricEstimate(Part):
    n: int = Field(description="Runs with a value.")
    mean: float | None = Field(description="Their mean.")
    ci_low: float | None = Field(description="Lower end of the 95 % confidence interval (Student t).")
    ci_high: float | None = Field(description="Upper end; null with fewer than two runs.")


class GroupStats(Part):
    setting_id: str = Field(description="The setting.")
    setting: dict[str, Any] = Field(description="Its scenario fields and values.")
    strategy: str = Field(description="fair or reputation.")
    runs: int = Field(description="Finished runs (status ok).")
    metrics: dict[str, MetricEstimate] = Field(description="Per measure (see `metrics`).")
    undelivered_wh: dict[str, float] = Field(description="Mean undelivered Wh per reason over the runs.")


class PairedStats(Part):
    setting_id: str = Field(description="The setting.")
    a: str = Field(description="The strategy subtracted (fair).")
    b: str = Field(description="The other (reputation): differences are b - a, seed by seed.")
    metrics: dict[str, MetricEstimate] = Field(description="Per measure, the paired difference.")


class ExperimentResult(Published):
    """An experiment's results (`<out>/experiment.json`; `results.csv` has the rows)."""

    name: str = Field(description="The experiment's name.")
    scenario: str = Field(description="The scenario it sweeps (name or path).")
    seeds: list[int] = Field(description="Its seeds.")
    strategies: list[str] = Field(description="Its strategies.")
    sweep: dict[str, list[Any]] = Field(description="Scenario fields and the values swept.")
    jobs: int = Field(description="Runs played at once.")
    wall_s: float = Field(description="Wall seconds of this invocation (resumed runs cost nothing).")
    runs_total: int = Field(description="Runs in the sweep.")
    runs_played: int = Field(description="Runs played by this invocation.")
    runs_resumed: int = Field(description="Finished runs found and kept from an earlier invocation.")
    runs_failed: int = Field(description="Runs that failed (played again when resumed).")
    metrics: dict[str, str] = Field(description="What each measure means.")
    groups: list[GroupStats] = Field(description="Per setting and strategy.")
    paired: list[PairedStats] = Field(description="Per setting, reputation - fair on the same seeds.")
    rows: list[RunRow] = Field(description="One per run.")
