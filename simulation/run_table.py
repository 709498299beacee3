"""What `flexsim run` and `flexsim report` print at the end: a short table per strategy (the JSON stays in
`summary.json`), the verdict, and the report's absolute path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.market_rules import within_tolerance
from simulation.verdict import verdict

ROWS: tuple[tuple[str, str], ...] = (
    ("requests settled", "settled"),
    ("energy requested (Wh)", "requested"),
    ("energy delivered (Wh)", "delivered"),
    ("delivered / requested", "share"),
    ("requests met within 10 %", "met"),
    ("compliant participations", "compliant"),
    ("declines", "declines"),
    ("tokens paid (FLEX)", "tokens"),
    ("gas per kWh delivered", "gas"),
    ("chain = database totals", "matches"),
)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def _met(s: dict[str, Any]) -> str:
    rows = [r for r in s.get("per_request", []) if r["requested_wh"] is not None]
    met = sum(1 for r in rows if within_tolerance(r["delivered_wh"], r["requested_wh"]))
    return f"{met} of {len(rows)}"


def cells(s: dict[str, Any]) -> dict[str, str]:
    gas = s["gas"].get("per_delivered_kwh")
    return {
        "settled": f"{s['requests'].get('settled', 0)} of {s['requests']['total']}",
        "requested": f"{s['energy_wh']['requested']:,}",
        "delivered": f"{s['energy_wh']['delivered']:,}",
        "share": _pct(s.get("delivered_share")),
        "met": _met(s),
        "compliant": _pct(s["compliant_share"]),
        "declines": str(sum(s.get("declines", {}).values())),
        "tokens": f"{s['tokens_paid']:.4f}",
        "gas": "-" if gas is None else f"{gas:,}",
        "matches": "yes" if s["cross_check"]["matches"] else "NO",
    }


def table(summaries: dict[str, dict[str, Any]]) -> str:
    columns = {name: cells(s) for name, s in summaries.items()}
    width = max(len(label) for label, _ in ROWS)
    widths = {n: max(len(n), *(len(c) for c in col.values())) for n, col in columns.items()}
    lines = [" " * width + "  " + "  ".join(n.rjust(widths[n]) for n in columns)]
    for label, key in ROWS:
        lines.append(label.ljust(width) + "  " + "  ".join(columns[n][key].rjust(widths[n]) for n in columns))
    return "\n".join(lines)


def closing(summaries: dict[str, dict[str, Any]], report: Path) -> str:
    """The table, the verdict and the report's absolute path."""
    return f"{table(summaries)}\n\n{verdict(summaries)}\n\nreport: {report.resolve()}"
