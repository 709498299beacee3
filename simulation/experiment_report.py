"""An experiment's files: `results.csv` (one row per run, settings and measures as columns),
`experiment.json` (`ExperimentResult`) and `report.html` (the comparison with 95 % intervals, the paired
differences, where the undelivered energy went, and a chart per measure)."""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from simulation.experiment_result import METRICS, ExperimentResult, GroupStats, MetricEstimate, RunRow  # noqa: E402

FLATTENED = (
    ("set", "setting"),
    ("undelivered_wh", "undelivered_wh"),
    ("compliance", "compliance_by_behaviour"),
    ("reputation", "reputation_by_behaviour"),
)
CHARTS = ("delivered_share", "compliant_share", "success_rate", "gas_per_delivered_kwh")
COLOURS = {"fair": "#1f77b4", "reputation": "#d62728"}


def flat_row(row: RunRow) -> dict[str, Any]:
    """A row as CSV columns: scalars, `set.<field>`, `undelivered_wh.<reason>`, `compliance.<kind>`,
    `reputation.<kind>`."""
    data = row.model_dump(mode="json")
    out = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for prefix, key in FLATTENED:
        out.update({f"{prefix}.{k}": v for k, v in data[key].items()})
    return out


def write_csv(rows: list[RunRow], path: Path) -> None:
    flat = [flat_row(r) for r in rows]
    columns = list(dict.fromkeys(k for f in flat for k in f))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(flat)


def write_results(result: ExperimentResult, out: Path) -> Path:
    write_csv(result.rows, out / "results.csv")
    (out / "experiment.json").write_text(result.to_json())
    charts = [c for c in CHARTS if _chart(result, c, out / f"{c}.png")]
    report = out / "report.html"
    report.write_text(_html(result, charts))
    return report.resolve()


def _fmt(e: MetricEstimate | None, digits: int = 3) -> str:
    if e is None or e.mean is None:
        return "–"
    if e.ci_low is None or e.ci_high is None:
        return f"{e.mean:.{digits}f} (n={e.n})"
    return f"{e.mean:.{digits}f} [{e.ci_low:.{digits}f}, {e.ci_high:.{digits}f}] (n={e.n})"


def _label(g: GroupStats) -> str:
    return ", ".join(f"{k}={v}" for k, v in g.setting.items()) or "as in the scenario"


def _chart(result: ExperimentResult, metric: str, path: Path) -> bool:
    groups = [g for g in result.groups if g.metrics[metric].mean is not None]
    if not groups:
        return False
    settings = list(dict.fromkeys(g.setting_id for g in groups))
    labels = {g.setting_id: _label(g) for g in groups}
    strategies = list(dict.fromkeys(g.strategy for g in groups))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(settings) + 2), 3.6))
    width = 0.8 / max(1, len(strategies))
    for k, strategy in enumerate(strategies):
        xs, ys, errs = [], [], []
        for i, sid in enumerate(settings):
            g = next((g for g in groups if g.setting_id == sid and g.strategy == strategy), None)
            if g is None or g.metrics[metric].mean is None:
                continue
            e = g.metrics[metric]
            assert e.mean is not None
            xs.append(i + (k - (len(strategies) - 1) / 2) * width)
            ys.append(e.mean)
            errs.append(0.0 if e.ci_high is None else e.ci_high - e.mean)
        ax.bar(xs, ys, width, yerr=errs, capsize=4, label=strategy, color=COLOURS.get(strategy))
    ax.set_xticks(range(len(settings)), [labels[s] for s in settings], rotation=15, fontsize=8)
    ax.set_ylabel(metric)
    ax.set_title(f"{METRICS[metric]} (mean, 95 % CI)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _html(r: ExperimentResult, charts: list[str]) -> str:
    e = html.escape
    head = (
        f"<h1>Experiment {e(r.name)}</h1><p>Scenario <code>{e(r.scenario)}</code>; seeds "
        f"{r.seeds[0]}–{r.seeds[-1]} ({len(r.seeds)}); strategies {', '.join(r.strategies)}; "
        f"sweep {e(str(r.sweep) if r.sweep else 'none')}; {r.runs_total} runs ({r.runs_played} played now, "
        f"{r.runs_resumed} kept from before, {r.runs_failed} failed), {r.jobs} at once, "
        f"{r.wall_s / 60:.1f} min of wall time for this invocation.</p>"
    )
    metric_rows = "".join(
        f"<tr><td>{e(_label(g))}</td><td>{e(g.strategy)}</td><td>{g.runs}</td>"
        + "".join(f"<td>{_fmt(g.metrics[m])}</td>" for m in METRICS)
        + "</tr>"
        for g in r.groups
    )
    groups = (
        "<h2>Per strategy and setting: mean [95 % confidence interval]</h2><table><tr><th>setting</th>"
        "<th>strategy</th><th>runs</th>"
        + "".join(f"<th title='{e(d)}'>{e(m)}</th>" for m, d in METRICS.items())
        + f"</tr>{metric_rows}</table>"
    )
    paired_rows = "".join(
        f"<tr><td>{e(p.setting_id)}</td>"
        + "".join(f"<td>{_fmt(p.metrics[m])}</td>" for m in METRICS)
        + "</tr>"
        for p in r.paired
    )
    paired = (
        "<h2>Reputation − fair, paired on the same seeds: mean [95 % CI]</h2><p>An interval that does not "
        "contain 0 says the strategies differ on that measure for this population.</p><table><tr>"
        "<th>setting</th>" + "".join(f"<th>{e(m)}</th>" for m in METRICS) + f"</tr>{paired_rows}</table>"
    )
    reasons = sorted({k for g in r.groups for k in g.undelivered_wh})
    short_rows = "".join(
        f"<tr><td>{e(_label(g))}</td><td>{e(g.strategy)}</td>"
        + "".join(f"<td>{g.undelivered_wh.get(k, 0.0):.1f}</td>" for k in reasons)
        + "</tr>"
        for g in r.groups
    )
    shortfall = (
        "<h2>Where the undelivered energy went (mean Wh per run)</h2><p>requested − delivered, split "
        "exactly by reason (docs/experiments.md); negative: over-delivered.</p><table><tr><th>setting</th>"
        "<th>strategy</th>" + "".join(f"<th>{e(k)}</th>" for k in reasons) + f"</tr>{short_rows}</table>"
    )
    images = "".join(f"<p><img src='{c}.png' alt='{e(c)}'></p>" for c in charts)
    rows = "".join(
        f"<tr><td>{e(x.run_id)}</td><td>{e(x.status)}</td><td>{x.wall_s:.0f}</td>"
        f"<td>{'' if x.delivered_share is None else f'{x.delivered_share:.3f}'}</td>"
        f"<td>{'' if x.compliant_share is None else f'{x.compliant_share:.3f}'}</td>"
        f"<td>{e(str(x.reputation_by_behaviour))}</td><td>{e(x.error or '')}</td></tr>"
        for x in r.rows
    )
    runs = (
        "<h2>Runs</h2><table><tr><th>run</th><th>status</th><th>wall s</th><th>delivered share</th>"
        f"<th>compliant share</th><th>final reputation by behaviour</th><th>error</th></tr>{rows}</table>"
    )
    style = (
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
        "font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px}</style>"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(r.name)}</title>{style}</head><body>"
        f"{head}{groups}{paired}{images}{shortfall}{runs}</body></html>"
    )
