"""A run's PNG plots: every one with a legend or labelled bars, time in simulated hours from the scenario's
start (power limited to the scenario's span), power positive when delivered to the grid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from simulation.collect import RunData  # noqa: E402
from simulation.explain import KINDS, decline_reasons, gas_phases, population, request_rows  # noqa: E402

TOKEN = 10**18
KIND_COLOURS = {"solar": "#f2b134", "wind": "#4a90d9", "consumer": "#8e6bbf", "battery": "#3aa675"}
PHASE_COLOURS = {
    "registration": "#4a90d9",
    "answers": "#f2b134",
    "settlement": "#3aa675",
    "deployment": "#bbbbbb",
    "other": "#dddddd",
}


def _labels(run: RunData) -> dict[str, str]:
    """Account (lower case) -> `#index kind`."""
    return {
        p.address.lower(): f"#{p.index if p.index is not None else '?'} {p.kind}"
        for p in population(run).prosumers
    }


def write_plots(run: RunData, out: Path) -> list[str]:
    """The report's PNGs; returns their file names."""
    names = []
    draws: tuple[tuple[str, Callable[[RunData, Any], None]], ...] = (
        ("power.png", _power),
        ("requests.png", _requests),
        ("declines.png", _declines),
        ("reputation.png", _reputation),
        ("balances.png", _balances),
        ("gas.png", _gas),
        ("latency.png", _latency),
    )
    for name, draw in draws:
        fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
        draw(run, ax)
        ax.set_title(f"{ax.get_title()} ({run.strategy})", fontsize=10)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        names.append(name)
    return names


def _span_h(run: RunData) -> float | None:
    """The plots' time span (simulated h from the start): the scenario's, stretched to the end of the
    last request window when a request the scenario sent near its end ran past it."""
    if not run.duration_s:
        return None
    ends = [run.clock.sim_h(float(r["end"])) for r in run.requests if r.get("end") and run.clock is not None]
    return max([run.duration_s / 3600, *ends])


def _scenario_end(run: RunData, ax: Any) -> None:
    if run.duration_s:
        ax.axvline(run.duration_s / 3600, color="grey", ls=":", lw=1, label="scenario end")


def _power(run: RunData, ax: Any) -> None:
    c = run.clock
    span = _span_h(run)
    if run.power_series and c is not None:
        points = [((t - c.sim_start) / 3600, p / 1000) for t, p, _ in run.power_series]
        points = [(h, p) for h, p in points if h >= 0 and (span is None or h <= span)]
        ax.plot([h for h, _ in points], [p for _, p in points], color="black", lw=1.2, label="net power")
        shown = set()
        for req in run.requests:
            if req.get("start") and req.get("end"):
                up = req["direction"] == "up"
                label = None if req["direction"] in shown else f"{req['direction']} request window"
                shown.add(req["direction"])
                ax.axvspan(
                    c.sim_h(req["start"]), c.sim_h(req["end"]), color="tab:green" if up else "tab:red",
                    alpha=0.2, label=label,
                )  # fmt: skip
        ax.axhline(0, color="grey", lw=0.6)
        _scenario_end(run, ax)
        ax.legend(fontsize=8, loc="best")
    if span is not None:
        ax.set_xlim(0, span)
    ax.set(
        title="aggregate net power of the population (+ delivered to the grid, - drawn from it)",
        xlabel="simulated hours from the scenario start",
        ylabel="kW",
    )


def _requests(run: RunData, ax: Any) -> None:
    rows = [r for r in request_rows(run) if r.requested_wh is not None]
    xs = range(len(rows))
    for offset, key, label in (
        (-0.25, "requested_wh", "requested"),
        (0, "committed_wh", "committed"),
        (0.25, "delivered_wh", "delivered"),
    ):
        ax.bar([x + offset for x in xs], [getattr(r, key) or 0 for r in rows], width=0.25, label=label)
    ax.set_xticks(list(xs), [f"#{r.request_id} {r.direction}" for r in rows])
    ax.set(title="energy per settled request (from the chain)", ylabel="Wh", xlabel="request")
    ax.legend(fontsize=8)


def _declines(run: RunData, ax: Any) -> None:
    rows = request_rows(run)
    reasons = list(decline_reasons(rows))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        for d in r.declined:
            counts[d.reason][d.kind or "unknown"] += 1
    left = [0] * len(reasons)
    kinds = [k for k in (*KINDS, "unknown") if any(counts[r].get(k) for r in reasons)]
    for kind in kinds:
        widths = [counts[r].get(kind, 0) for r in reasons]
        ax.barh(reasons, widths, left=left, color=KIND_COLOURS.get(kind, "#999999"), label=kind)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    if reasons:
        ax.legend(fontsize=8, title="prosumer kind", title_fontsize=8)
        ax.invert_yaxis()
    else:
        ax.text(0.5, 0.5, "no declines", ha="center", va="center", transform=ax.transAxes)
    ax.set(title="declines by reason (all requests)", xlabel="declines")


def _reputation(run: RunData, ax: Any) -> None:
    c = run.clock
    series: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for e in run.events:
        if e.name == "OutcomeRecorded" and c is not None:
            series[str(e.args["prosumer"]).lower()].append((c.sim_h(e.timestamp), int(e.args["reputation"])))
    labels = _labels(run)
    for who, points in sorted(series.items(), key=lambda kv: labels.get(kv[0], kv[0])):
        ax.step(
            [h for h, _ in points],
            [r for _, r in points],
            where="post",
            marker=".",
            label=labels.get(who, who[:8]),
        )
    if series:
        ax.legend(fontsize=7, ncol=2, loc="best")
    else:
        ax.text(
            0.5, 0.5, "no settlement recorded an outcome", ha="center", va="center", transform=ax.transAxes
        )
    span = _span_h(run)
    ax.set(
        title="reputation after each settlement",
        xlabel="simulated hours from the scenario start",
        ylabel="score (0-1000)",
    )
    if span is not None:
        ax.set_xlim(0, max([span] + [h for p in series.values() for h, _ in p]))


def _balances(run: RunData, ax: Any) -> None:
    labels = _labels(run)
    items = sorted(run.balances.items(), key=lambda kv: -kv[1])
    names = [labels.get(a.lower(), a[:8]) for a, _ in items]
    colours = [KIND_COLOURS.get(n.split()[-1], "#999999") for n in names]
    ax.bar(range(len(items)), [v / TOKEN for _, v in items], color=colours)
    ax.set_xticks(list(range(len(items))), names, rotation=45, ha="right", fontsize=7)
    ax.legend(handles=[Patch(color=v, label=k) for k, v in KIND_COLOURS.items()], fontsize=7)
    ax.set(title="tokens earned per prosumer", ylabel="FLEX")


def _gas(run: RunData, ax: Any) -> None:
    """The market's phases; the one-off deployment is left out of the bars (said in the title)."""
    delivered = sum(int(e.args["deliveredWh"]) for e in run.events if e.name == "RequestSettled")
    gas = gas_phases(run, delivered)
    by_phase = gas.by_phase or {}
    phases = [
        p
        for p in ("registration", "answers", "settlement", "other")
        if by_phase[p].transactions or p != "other"
    ]
    bars = ax.bar(
        [f"{p}\n({by_phase[p].transactions} tx)" for p in phases],
        [by_phase[p].gas / 1e6 for p in phases],
        color=[PHASE_COLOURS[p] for p in phases],
    )
    for bar, p in zip(bars, phases, strict=True):
        ax.annotate(
            f"{by_phase[p].native:.2g} native", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center", va="bottom", fontsize=7,
        )  # fmt: skip
    deployed = by_phase["deployment"]
    note = f"; deployment ({deployed.gas / 1e6:.1f}M gas, one-off) not shown" if deployed.transactions else ""
    ax.set(
        title=f"gas per phase, cost at {gas.gas_price_gwei:.3g} gwei{note}",
        ylabel="million gas",
    )
    ax.tick_params(axis="x", labelsize=8)


def _latency(run: RunData, ax: Any) -> None:
    c = run.clock
    if run.reading_latency and c is not None:
        ax.plot([c.sim_h(t) for t, _ in run.reading_latency], [d for _, d in run.reading_latency], ".", ms=1,
                label="one reading")  # fmt: skip
        ax.axhline(2.0, color="tab:red", ls="--", lw=0.8, label="2 s target")
        ax.legend(fontsize=8, markerscale=6)
    span = _span_h(run)
    if span is not None:
        ax.set_xlim(0, span)
    ax.set(
        title="reading latency (taken -> stored by the aggregator)",
        xlabel="simulated hours from the scenario start",
        ylabel="s",
    )


def write_stress_plot(stress: dict[str, Any], out: Path, strategy: str) -> str:
    """`stress.png`: each measure's p95 per prosumer level against its threshold (dashed)."""
    from simulation.stress import THRESHOLDS

    fig, axes = plt.subplots(2, 2, figsize=(8, 5.4), dpi=100)
    levels = stress["levels"]
    for ax, t in zip(axes.flat, THRESHOLDS, strict=True):
        points = [(lv["prosumers"], lv[t.name]) for lv in levels if lv[t.name] is not None]
        ax.plot([p for p, _ in points], [v for _, v in points], "o-", ms=3, label="p95 per level")
        ax.axhline(t.limit, color="tab:red", ls="--", lw=1, label="threshold")
        first = stress["measures"][t.name]["degraded_at_prosumers"]
        if first is not None:
            ax.axvline(first, color="tab:red", lw=0.8, label="first level over")
        ax.set_title(f"{t.name} (p95)", fontsize=9)
        ax.set_xlabel("prosumers running", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.suptitle(f"where it stops keeping up ({strategy})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "stress.png")
    plt.close(fig)
    return "stress.png"
