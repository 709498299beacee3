"""`report.html`: what a researcher reads first. Built from the strategies' summaries (`summary.json`) and
the plots' file names only, so a re-render from the run folder writes the same page.

Sections: which strategy served the grid better (words and numbers), key numbers side by side, every
request (asked, committed, delivered, participants, declines by reason with the prosumers' own words),
decline reasons, the population as registered, gas by phase with its native-token cost, the stress
verdicts, the plots, the scenario as run, and the conventions (signs, time bases, units).
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulation.verdict import verdict

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1200px} table{border-collapse:collapse;margin:0.5em 0} "
    "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top} th{background:#f4f4f4} "
    "td.n{text-align:right} .verdict{font-size:1.1em;background:#f3f8ee;padding:0.8em;border-left:4px solid "
    "#3aa675} .bad{background:#fbeaea;padding:0.8em;border-left:4px solid #c0392b} small{color:#555}"
)
PHASES = ("registration", "answers", "settlement", "deployment", "other")


def _e(value: object) -> str:
    return html.escape(str(value))


def _num(value: float | int | None, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _removals_cell(s: dict[str, Any]) -> str:
    r = s.get("removals") or {}
    return f"{s.get('prosumers_started', '-')} / {r.get('injected', 0)} ({r.get('removed_on_chain', 0)})"


KEY_ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    (
        "requests settled / received",
        lambda s: f"{s['requests'].get('settled', 0)} / {s['requests']['total']}",
    ),
    ("energy requested (Wh)", lambda s: _num(s["energy_wh"]["requested"])),
    ("energy committed (Wh)", lambda s: _num(s["energy_wh"]["committed"])),
    ("energy delivered (Wh)", lambda s: _num(s["energy_wh"]["delivered"])),
    ("delivered / requested", lambda s: _pct(s.get("delivered_share"))),
    ("requests met within 10 %", lambda s: _pct(s["success_rate"])),
    ("participations (compliant share)", lambda s: f"{s['participations']} ({_pct(s['compliant_share'])})"),
    ("declines", lambda s: str(sum(s.get("declines", {}).values()))),
    ("tokens paid (FLEX)", lambda s: _num(s["tokens_paid"], 4)),
    (
        "tokens per kWh delivered (FLEX/kWh)",
        lambda s: (
            _num(s["tokens_paid"] * 1000 / s["energy_wh"]["delivered"], 3)
            if s["energy_wh"]["delivered"]
            else "-"
        ),
    ),
    ("gas per kWh delivered (answers + settlement)", lambda s: _num(s["gas"].get("per_delivered_kwh"))),
    ("gas per answer: direct (answers)", lambda s: _answer_cell(s, "direct")),
    ("gas per answer: relayed (answers)", lambda s: _answer_cell(s, "relayed")),
    ("latency to announcement, mean (s)", lambda s: _num(s["latency_s"]["notified"]["mean"], 1)),
    (
        "latency to last acceptance, mean (s)",
        lambda s: _num(s["latency_s"]["acceptances_recorded"]["mean"], 1),
    ),
    ("latency to settlement, mean (s)", lambda s: _num(s["latency_s"]["settlement_final"]["mean"], 1)),
    ("readings stored within 2 s", lambda s: _pct(s["readings_within_2s"])),
    ("prosumers started / removals injected (on chain)", _removals_cell),
    ("chain totals = database totals", lambda s: "yes" if s["cross_check"]["matches"] else "<b>NO</b>"),
]


def key_numbers(summaries: dict[str, dict[str, Any]], out: Path | None = None) -> str:
    rows = [[_e(label), *(get(s) for s in summaries.values())] for label, get in KEY_ROWS]
    if out is not None:
        rows.append(
            [
                "tamper evidence (flexsim verify)",
                *(_verification_cell(out / n / "verification.json") for n in summaries),
            ]
        )
    return _table(["", *summaries], rows, numeric=set(range(1, len(summaries) + 1)))


def _explanations(declined: list[dict[str, Any]]) -> str:
    """Declines by reason (counts), with each prosumer's own words folded under them."""
    by_reason: dict[str, Counter[str]] = {}
    for d in declined:
        words = d["explanation"] or "(no explanation in its log)"
        who = f"#{d['index']} {d['kind']}" if d["index"] is not None else f"{d['prosumer'][:10]} {d['kind']}"
        by_reason.setdefault(d["reason"], Counter())[f"{who}: {words}"] += 1
    if not by_reason:
        return "none"
    counts = ", ".join(f"{_e(r)} {sum(lines.values())}" for r, lines in by_reason.items())
    parts = []
    for reason, lines in by_reason.items():
        items = "".join(
            f"<li>{_e(line)}" + (f" (x{n})" if n > 1 else "") + "</li>" for line, n in lines.items()
        )
        parts.append(f"<b>{_e(reason)}</b><ul>{items}</ul>")
    return f"<details><summary>{counts}</summary>{''.join(parts)}</details>"


def request_table(s: dict[str, Any]) -> str:
    rows = []
    for r in s.get("per_request", []):
        rows.append(
            [
                f"#{r['request_id']}"
                + (f" (chain {r['chain_request_id']})" if r["chain_request_id"] is not None else ""),
                _e(r["status"]),
                _e(r["direction"]),
                _num(r["start_h"], 2),
                f"{_num(r['power_w'])} W x {_num(r['duration_s'] / 60)} min",
                _num(r["requested_wh"]),
                _num(r["committed_wh"]),
                _num(r["delivered_wh"]),
                _pct(r["delivered_share"]),
                "-" if r["participants"] is None else f"{r['participants']} ({r['compliant']} compliant)",
                _num(r["topped_up_w"]) if r["topped_up_w"] else "-",
                _explanations(r["declined"]),
            ]
        )
    if not rows:
        return "<p>The aggregator received no request.</p>"
    head = [
        "request", "state", "direction", "start (sim h)", "asked", "requested Wh", "committed Wh",
        "delivered Wh", "% delivered", "participants", "top-up W",
        "declines by reason (click: the prosumers' own words)",
    ]  # fmt: skip
    return _table(head, rows, numeric={3, 5, 6, 7, 8, 10})


def population_table(s: dict[str, Any]) -> str:
    pop = s.get("population") or {"registered": 0, "by_kind": {}, "prosumers": []}
    rows = [
        [
            _e(kind),
            str(k["prosumers"]),
            _num(k["capacity_kw"], 1),
            _num(k["flex_up_kw"], 1),
            _num(k["flex_down_kw"], 1),
        ]
        for kind, k in pop["by_kind"].items()
    ]
    total = pop["registered"] or 1
    rows = [[*r[:2], _pct(int(r[1]) / total), *r[2:]] for r in rows]
    return _table(
        ["kind", "prosumers", "share", "capacity (kW)", "flexibility up (kW)", "flexibility down (kW)"],
        rows,
        numeric={1, 2, 3, 4, 5},
    )


def declines_table(summaries: dict[str, dict[str, Any]]) -> str:
    reasons = list(dict.fromkeys(r for s in summaries.values() for r in s.get("declines", {})))
    if not reasons:
        return "<p>No prosumer declined a request.</p>"
    rows = [[_e(r), *(str(s.get("declines", {}).get(r, 0)) for s in summaries.values())] for r in reasons]
    return _table(["reason code", *summaries], rows, numeric=set(range(1, len(summaries) + 1)))


def gas_table(summaries: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, s in summaries.items():
        g = s["gas"]
        for phase in PHASES:
            p = (g.get("by_phase") or {}).get(phase)
            if p is None or (not p["transactions"] and phase in ("deployment", "other")):
                continue
            label = "deployment (one-off, not in the market's totals)" if phase == "deployment" else phase
            rows.append([_e(name), _e(label), str(p["transactions"]), _num(p["gas"]), _num(p["native"], 6)])
    price = "; ".join(
        f"{_e(n)}: {s['gas']['gas_price_gwei']:.4g} gwei ({_e(s['gas']['gas_price_source'])})"
        for n, s in summaries.items()
        if s["gas"].get("gas_price_gwei") is not None
    )
    return (
        _table(["strategy", "phase", "transactions", "gas", "cost (native token)"], rows, numeric={2, 3, 4})
        + f"<p><small>Cost = gas x gas price, at {price}. Registration: register, renegotiate, remove; "
        "answers: the prosumers' accept, acceptUpTo, decline, applyFor (and the aggregator's relayAnswers); "
        "settlement: the aggregator's openRequest, topUp, select, recordDeliveries, finalise (or "
        "finaliseAnchored). Gas per kWh delivered = (answers + settlement) / kWh delivered.</small></p>"
    )


def stress_section(summaries: dict[str, dict[str, Any]]) -> str:
    rows = []
    for strategy, s in summaries.items():
        for name, v in (s.get("stress") or {}).get("measures", {}).items():
            if v["degraded_at_prosumers"] is not None:
                where = f"degraded at {v['degraded_at_prosumers']} prosumers (p95 {v['value_there']})"
            elif v["judged_up_to_prosumers"] is not None:
                where = f"kept up to {v['judged_up_to_prosumers']} prosumers (worst p95 {v['worst']})"
            else:
                where = "not judged: no level long enough or with enough samples"
            rows.append([_e(strategy), _e(name), f"p95 &gt; {v['threshold']} {_e(v['unit'])}", _e(where)])
    if not rows:
        return ""
    firsts = []
    for strategy, s in summaries.items():
        first = (s.get("stress") or {}).get("first_to_give")
        if first:
            firsts.append(
                f"<p><b>{_e(strategy)}: first to give way</b>: {_e(first['measure'])} at "
                f"{first['at_prosumers']} prosumers (p95 {first['value']} &gt; {first['threshold']}): "
                f"{_e(first['why'])}.</p>"
            )
    return (
        "<h2>Where it stops keeping up</h2><p>Per level of running prosumers, the 95th percentile of each "
        "measure; the first level over its threshold (<code>stress.json</code>, <code>stress.png</code>)."
        "</p>" + "".join(firsts) + _table(["strategy", "measure", "degraded when", "result"], rows)
    )


def console_section(out: Path, strategies: list[str]) -> str:
    """What was done through the live console (`<strategy>/console-actions.json`), with its times."""
    from datetime import UTC, datetime

    rows = []
    for strategy in strategies:
        path = out / strategy / "console-actions.json"
        if not path.is_file():
            continue
        for a in json.loads(path.read_text()):
            when = datetime.fromtimestamp(float(a["real_t"]), UTC).strftime("%Y-%m-%d %H:%M:%S")
            rows.append(
                [_e(strategy), f"{when} UTC", _e(a["action"]), _e(json.dumps(a["params"])),
                 f"{'ok' if a['ok'] else 'failed'}: {_e(a['outcome'])}"]
            )  # fmt: skip
    if not rows:
        return ""
    return "<h2>Console actions</h2>" + _table(
        ["strategy", "real time", "action", "parameters", "outcome"], rows
    )


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


def mismatch_note(summaries: dict[str, dict[str, Any]]) -> str:
    bad = [n for n, s in summaries.items() if not s["cross_check"]["matches"]]
    if not bad:
        return ""
    return (
        f"<p class=\"bad\">The chain's settled totals differ from the aggregator database's for "
        f"{_e(', '.join(bad))}: see <code>cross_check</code> in summary.json. These numbers are not to be "
        "trusted.</p>"
    )


CONVENTIONS = """<h2>Conventions</h2><ul>
<li>Power: W or kW, <b>positive when delivered to the grid</b> (production, battery discharge), negative when
drawn from it. An <i>up</i> request asks for more power to the grid (produce more or consume less), a
<i>down</i> request for less.</li>
<li>Time in plots and tables: <b>simulated hours from the scenario's start</b>; the power plot spans the
scenario. CSV columns name their time base (<code>sim_h</code>, <code>sim_epoch_s</code>,
<code>real_epoch_s</code>, <code>chain_epoch_s</code>).</li>
<li>Energy in Wh, from the chain's <code>RequestSettled</code> events; a request is met when delivered within
10 % of requested; a participation is compliant when within 10 % of its commitment.</li>
<li>Tokens: FLEX, 10<sup>18</sup> base units each. Gas: units of gas; its cost in the chain's native token
at the stated gas price.</li></ul>"""


def write_html(
    out: Path, scenario_toml: str, summaries: dict[str, dict[str, Any]], plots: dict[str, list[str]]
) -> Path:
    """`report.html` (and `summary.json`, the strategies' summaries side by side) in `out`."""
    strategies = list(summaries)
    first = summaries[strategies[0]]
    head = "".join(f"<th>{_e(s)}</th>" for s in strategies)
    figures = "".join(
        "<tr>"
        + "".join(f'<td><img src="{_e(s)}/{_e(name)}" width="560" alt="{_e(name)}"></td>' for s in strategies)
        + "</tr>"
        for name in plots[strategies[0]]
    )
    per_request = "".join(f"<h3>{_e(s)}</h3>{request_table(summaries[s])}" for s in strategies)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>flexsim report</title>
<style>{STYLE}</style>
</head><body><h1>flexsim run report</h1>
<p><small>{_e(out.resolve())}</small></p>
{mismatch_note(summaries)}
<h2>Which strategy served the grid better?</h2><p class="verdict">{_e(verdict(summaries))}</p>
<h2>Key numbers</h2>{key_numbers(summaries, out)}
<h2>Every request</h2><p>Energy from the chain; % delivered = delivered / requested; participants:
accepted (fair) or selected (reputation), with how many delivered within 10 % of their commitment;
top-up: power the fair top-up round added to the accepters' shares; declines: the reason code each
prosumer gave on chain and its own explanation from its log.</p>{per_request}
<h2>Declines by reason</h2>{declines_table(summaries)}<p>The chart per kind of prosumer is among the plots
(<code>declines.png</code>).</p>
<h2>The population as registered</h2><p>The prosumers' first registered terms on chain
({first.get("population", {}).get("registered", 0)} prosumers; every strategy runs the same seed's
population). Each prosumer: <code>population.csv</code>.</p>{population_table(first)}
<h2>Gas</h2>{gas_table(summaries)}
{stress_section(summaries)}
{console_section(out, strategies)}
<h2>Plots</h2><table><tr>{head}</tr>{figures}</table>
{CONVENTIONS}
<h2>Scenario as run</h2><pre>{_e(scenario_toml)}</pre>
<p>Full figures: <code>summary.json</code>; time series and tables: the CSV files in each strategy's folder
(columns: docs/results.md).</p>
</body></html>"""
    path = out / "report.html"
    path.write_text(page)
    (out / "summary.json").write_text(json.dumps(summaries, indent=2, default=str))
    return path
