"""Writing a run's results: CSV time series, PNG plots and `report.html`, per strategy and side by side."""

from __future__ import annotations

import csv
import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from simulation.collect import RunData  # noqa: E402

TOKEN = 10**18
STYLE = (
    "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} "
    "td,th{border:1px solid #ccc;padding:4px 8px}"
)


def write_csvs(run: RunData, out: Path) -> None:
    _csv(out / "power.csv", ["sim_t", "net_power_w", "prosumers"], run.power_series)
    _csv(out / "reading_latency.csv", ["real_t", "latency_s"], run.reading_latency)
    if run.requests:
        _csv(out / "requests.csv", list(run.requests[0]), [list(r.values()) for r in run.requests])
    if run.responses:
        _csv(out / "responses.csv", list(run.responses[0]), [list(r.values()) for r in run.responses])
    gas_rows = [(tx, run.tx_function[tx], g) for tx, g in run.tx_gas.items()]
    _csv(out / "gas.csv", ["tx_hash", "function", "gas_used"], gas_rows)
    rep_rows = [
        (e.timestamp, e.args["prosumer"], e.args["reputation"], e.args["compliant"])
        for e in run.events
        if e.name == "OutcomeRecorded"
    ]
    _csv(out / "reputation.csv", ["chain_t", "prosumer", "reputation", "compliant"], rep_rows)
    _csv(out / "balances.csv", ["prosumer", "balance_base_units"], sorted(run.balances.items()))


def _csv(path: Path, header: list[str], rows: Any) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_plots(run: RunData, out: Path, sim_of_real: Any) -> list[str]:
    """Six PNGs; returns their file names."""
    names = []
    for name, draw in (
        ("power.png", _power),
        ("requests.png", _requests),
        ("reputation.png", _reputation),
        ("balances.png", _balances),
        ("gas.png", _gas),
        ("latency.png", _latency),
    ):
        fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
        draw(run, ax, sim_of_real)
        ax.set_title(f"{ax.get_title()} ({run.strategy})", fontsize=10)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        names.append(name)
    return names


def _power(run: RunData, ax: Any, sim_of_real: Any) -> None:
    if run.power_series:
        t0 = run.power_series[0][0]
        ax.plot([(t - t0) / 3600 for t, _, _ in run.power_series], [p / 1000 for _, p, _ in run.power_series])
        for req in run.requests:
            if req.get("start") and req.get("end"):
                a, b = (sim_of_real(req["start"]) - t0) / 3600, (sim_of_real(req["end"]) - t0) / 3600
                ax.axvspan(a, b, color="tab:green" if req["direction"] == "up" else "tab:red", alpha=0.2)
    ax.set(
        title="aggregate net power, request windows shaded (green up, red down)",
        xlabel="simulated h",
        ylabel="kW",
    )


def _requests(run: RunData, ax: Any, _s: Any) -> None:
    settled = [r for r in run.requests if r["status"] == "settled"]
    xs = range(len(settled))
    for offset, key, label in (
        (-0.25, "requested_wh", "requested"),
        (0, "committed_wh", "committed"),
        (0.25, "delivered_wh", "delivered"),
    ):
        ax.bar([x + offset for x in xs], [r[key] or 0 for r in settled], width=0.25, label=label)
    ax.set_xticks(list(xs), [f"#{r['id']} {r['direction']}" for r in settled])
    ax.set(title="energy per request (from the chain)", ylabel="Wh")
    ax.legend(fontsize=8)


def _reputation(run: RunData, ax: Any, _s: Any) -> None:
    series: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for e in run.events:
        if e.name == "OutcomeRecorded":
            series[e.args["prosumer"]].append((e.timestamp, int(e.args["reputation"])))
    t0 = min((p[0] for s in series.values() for p in s), default=0)
    for who, points in series.items():
        ax.step([(t - t0) / 60 for t, _ in points], [r for _, r in points], where="post", label=who[:8])
    ax.set(title="reputation after each settlement", xlabel="real minutes", ylabel="score (0-1000)")


def _balances(run: RunData, ax: Any, _s: Any) -> None:
    items = sorted(run.balances.items(), key=lambda kv: -kv[1])
    ax.bar(range(len(items)), [v / TOKEN for _, v in items])
    ax.set(title="FlexToken balances", xlabel="prosumer (by balance)", ylabel="FLEX")


def _gas(run: RunData, ax: Any, _s: Any) -> None:
    names = sorted(run.gas_by_function)
    ax.bar(names, [sum(run.gas_by_function[n]) / len(run.gas_by_function[n]) for n in names])
    ax.set(title="mean gas per transaction", ylabel="gas")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def _latency(run: RunData, ax: Any, _s: Any) -> None:
    if run.reading_latency:
        t0 = run.reading_latency[0][0]
        ax.plot([(t - t0) for t, _ in run.reading_latency], [d for _, d in run.reading_latency], ".", ms=1)
    ax.set(title="reading latency (taken -> committed) during the ramp", xlabel="real s", ylabel="s")


def write_stress_plot(stress: dict[str, Any], out: Path, strategy: str) -> str:
    """`stress.png`: each measure's p95 per prosumer level against its threshold (dashed)."""
    from simulation.stress import THRESHOLDS

    fig, axes = plt.subplots(2, 2, figsize=(8, 5.4), dpi=100)
    levels = stress["levels"]
    for ax, t in zip(axes.flat, THRESHOLDS, strict=True):
        points = [(lv["prosumers"], lv[t.name]) for lv in levels if lv[t.name] is not None]
        ax.plot([p for p, _ in points], [v for _, v in points], "o-", ms=3)
        ax.axhline(t.limit, color="tab:red", ls="--", lw=1)
        first = stress["measures"][t.name]["degraded_at_prosumers"]
        if first is not None:
            ax.axvline(first, color="tab:red", lw=0.8)
        ax.set_title(f"{t.name} (p95)", fontsize=9)
        ax.set_xlabel("prosumers running", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"where it stops keeping up ({strategy}); dashed: threshold", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "stress.png")
    plt.close(fig)
    return "stress.png"


def _stress_section(summaries: dict[str, dict[str, Any]]) -> str:
    rows = []
    for strategy, s in summaries.items():
        for name, v in (s.get("stress") or {}).get("measures", {}).items():
            where = (
                f"degraded at {v['degraded_at_prosumers']} prosumers (p95 {v['value_there']})"
                if v["degraded_at_prosumers"] is not None
                else f"kept up to {v['judged_up_to_prosumers']} prosumers (worst p95 {v['worst']})"
            )
            rows.append(
                f"<tr><td>{html.escape(strategy)}</td><td>{html.escape(name)}</td>"
                f"<td>p95 &gt; {v['threshold']} {html.escape(v['unit'])}</td>"
                f"<td>{html.escape(where)}</td></tr>"
            )
    if not rows:
        return ""
    firsts = []
    for strategy, s in summaries.items():
        first = (s.get("stress") or {}).get("first_to_give")
        if first:
            firsts.append(
                f"<p><b>{html.escape(strategy)}: first to give way</b>: {html.escape(first['measure'])} at "
                f"{first['at_prosumers']} prosumers (p95 {first['value']} &gt; {first['threshold']}): "
                f"{html.escape(first['why'])}.</p>"
            )
    return (
        "<h2>Where it stops keeping up</h2><p>Per level of running prosumers, the 95th percentile of each "
        "measure; the first level over its threshold (<code>stress.json</code>, <code>stress.png</code>)."
        "</p>" + "".join(firsts) + "<table><tr><th>strategy</th><th>measure</th><th>degraded when</th>"
        "<th>result</th></tr>" + "".join(rows) + "</table>"
    )


def _removals_cell(s: dict[str, Any]) -> str:
    r = s.get("removals") or {}
    return f"{s.get('prosumers_started', '-')} / {r.get('injected', 0)} ({r.get('removed_on_chain', 0)})"


def _answer_cell(summary: dict[str, Any], mode: str) -> str:
    """Gas per answer sent `mode` (direct or relayed) and how many there were; "-" when none."""
    answers = summary["gas"].get("answers")
    if not answers or not answers[f"{mode}_answers"]:
        return "-"
    return f"{answers[f'{mode}_gas_per_answer']} ({answers[f'{mode}_answers']})"


def _verification_cell(path: Path) -> str:
    """One line from a strategy's `verification.json` (docs/tamper-evidence.md)."""
    if not path.is_file():
        return "not verified"
    v = json.loads(path.read_text())
    verdict = "ok" if v["ok"] else f"{len(v['problems'])} problems"
    return (
        f"{verdict}: {v['requests_anchored']}/{v['requests_settled']} requests anchored, "
        f"{v['leaves_checked']} leaves, {v['deliveries_recomputed']} deliveries recomputed"
    )


def write_html(
    out: Path, scenario_toml: str, summaries: dict[str, dict[str, Any]], plots: dict[str, list[str]]
) -> Path:
    """`report.html`: key numbers and plots, strategies side by side."""
    strategies = list(summaries)
    rows = [
        ("requests settled", lambda s: s["requests"].get("settled", 0)),
        (
            "requested / committed / delivered Wh",
            lambda s: "{requested} / {committed} / {delivered}".format(**s["energy_wh"]),
        ),
        ("success rate (delivered within 10% of requested)", lambda s: s["success_rate"]),
        ("compliant share of participations", lambda s: s["compliant_share"]),
        ("tokens paid (FLEX)", lambda s: round(s["tokens_paid"], 4)),
        ("gas per participating prosumer", lambda s: s["gas"]["per_participating_prosumer"]),
        ("gas per answer: direct (answers)", lambda s: _answer_cell(s, "direct")),
        ("gas per answer: relayed (answers)", lambda s: _answer_cell(s, "relayed")),
        ("latency: notified, mean s", lambda s: s["latency_s"]["notified"]["mean"]),
        ("latency: acceptances recorded, mean s", lambda s: s["latency_s"]["acceptances_recorded"]["mean"]),
        ("latency: settlement final, mean s", lambda s: s["latency_s"]["settlement_final"]["mean"]),
        ("readings stored within 2 s", lambda s: s["readings_within_2s"]),
        ("prosumers started / removed (removals on chain)", _removals_cell),
        ("chain totals = database totals", lambda s: s["cross_check"]["matches"]),
    ]
    evidence = {s: _verification_cell(out / s / "verification.json") for s in strategies}
    rows.append(("tamper evidence (flexsim verify)", lambda s: evidence[s["strategy"]]))
    head = "".join(f"<th>{html.escape(s)}</th>" for s in strategies)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{html.escape(str(get(summaries[s])))}</td>" for s in strategies)
        + "</tr>"
        for label, get in rows
    )
    figures = "".join(
        "<tr>" + "".join(f'<td><img src="{s}/{name}" width="560"></td>' for s in strategies) + "</tr>"
        for name in plots[strategies[0]]
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>flexsim report</title>
<style>{STYLE}</style>
</head><body><h1>flexsim run report</h1>
<h2>Key numbers</h2><table><tr><th></th>{head}</tr>{body}</table>
{_stress_section(summaries)}
<h2>Plots</h2><table><tr>{head}</tr>{figures}</table>
<h2>Scenario as run</h2><pre>{html.escape(scenario_toml)}</pre>
<p>Full figures: <code>summary.json</code>; time series: the CSV files in each strategy's folder.</p>
</body></html>"""
    path = out / "report.html"
    path.write_text(page)
    (out / "summary.json").write_text(json.dumps(summaries, indent=2, default=str))
    return path
