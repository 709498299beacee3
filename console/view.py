"""What the page shows, as plain data (`State`), and its HTML fragments: pure functions, no I/O.

Every fragment is a small piece of HTML the page sets in place when it changes (an event `<name>` of
HTMX's server-sent events connection, into the element `data-fragment="<name>"`; `console.js`).
Values are escaped here; nothing from the wire reaches the page raw.
Elements carry `data-seen` keys (`reading:<address>:<seq>`, `block:<n>`, `request:<id>:<status>`)
so the page can note when each first appeared (the console benchmark's latency).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime

from aggregator.wire import ClockOut
from aggregator.wire_market import FlexRequestOut

TOKEN = 10**18


@dataclass
class PowerPoint:
    t: float  # simulated epoch s
    by_kind: dict[str, float]
    net_w: float
    online: int


@dataclass
class BlockRow:
    number: int
    gas_used: int
    gas_limit: int
    txs: int
    seen_at: float


@dataclass(frozen=True)
class ProsumerRow:
    index: int | None
    address: str
    kind: str
    capacity_w: int | None
    flex_up_w: int | None
    flex_down_w: int | None
    registered: bool
    status: str
    reputation: int | None
    balance: int | None
    power_w: float | None
    seq: int | None
    reading_at: datetime | None


@dataclass
class State:
    polled_at: float = 0.0
    sim_now: datetime | None = None
    speed: float = 1.0
    clock: ClockOut | None = None
    power: list[PowerPoint] = field(default_factory=list)
    requests: list[FlexRequestOut] = field(default_factory=list)
    blocks: list[BlockRow] = field(default_factory=list)
    head: int | None = None
    pending_txs: int | None = None
    reading_lag_s: float | None = None
    errors: dict[str, str] = field(default_factory=dict)


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _w(value: float | int | None) -> str:
    return "–" if value is None else f"{value:,.0f} W"


def _tokens(value: int | None) -> str:
    return "–" if value is None else f"{value / TOKEN:.4f}"


# ---------------------------------------------------------------------- fragments


def clock_html(s: State) -> str:
    if s.sim_now is None:
        return '<span id="clock">simulated clock: waiting for the aggregator</span>'
    return (
        f'<span id="clock">simulated <b>{e(s.sim_now.strftime("%Y-%m-%d %H:%M"))}</b> UTC · '
        f"speed <b>{s.speed:g}×</b></span>"
    )


NO_PROSUMER = '<tr><td colspan="11">no prosumer yet</td></tr>'


def prosumers_html(rows: list[ProsumerRow]) -> str:
    """The whole table's body (the hub sends it row by row: `prosumer_row_html`)."""
    return "".join(prosumer_row_html(r) for r in rows) if rows else NO_PROSUMER


def prosumer_row_html(r: ProsumerRow) -> str:
    seen = f"reading:{r.address}:{r.seq}" if r.seq is not None else ""
    actions = ""
    if r.index is not None and r.status != "removed":
        i = r.index
        actions = (
            f'<button class="act" data-action="outage" data-index="{i}">outage</button> '
            f'<button class="act" data-action="renegotiate" data-index="{i}">terms</button> '
            f'<button class="act" data-action="remove" data-index="{i}">remove</button>'
        )
    return (
        f'<tr class="prosumer st-{e(r.status)}" data-address="{e(r.address)}" data-index="{e(r.index)}" '
        f'data-status="{e(r.status)}" data-registered="{str(r.registered).lower()}" '
        f'data-kind="{e(r.kind)}" data-power="{e(r.power_w)}" data-seen="{e(seen)}">'
        f'<td>{e(r.index)}</td><td title="{e(r.address)}">{e(r.address[:10])}…</td><td>{e(r.kind)}</td>'
        f"<td>{_w(r.capacity_w)}</td><td>{_w(r.flex_up_w)} / {_w(r.flex_down_w)}</td>"
        f'<td class="status">{e(r.status)}{"" if r.registered else " (not on chain)"}</td>'
        f"<td>{e(r.reputation) if r.reputation is not None else '–'}</td><td>{_tokens(r.balance)}</td>"
        f'<td class="power">{_w(r.power_w)}</td><td>{e(r.seq)}</td><td>{actions}</td></tr>'
    )


def request_html(s: State) -> str:
    current = s.requests[0] if s.requests else None
    if current is None:
        return '<div id="request-none">no request yet</div>'
    r = current
    head = (
        f'<div class="req" data-id="{r.id}" data-status="{e(r.status.value)}" '
        f'data-seen="request:{r.id}:{e(r.status.value)}">'
        f"<b>request {r.id}</b>: {e(r.direction.value)} {_w(r.power_w)} for {r.duration_s} s, lead "
        f'{r.lead_time_s} s, {e(r.strategy.value)} · <b class="req-status">{e(r.status.value)}</b>'
        f"{' · ' + e(r.error) if r.error else ''}</div>"
    )
    rows = "".join(
        f'<tr class="answer" data-kind="{e(a.kind.value)}" data-prosumer="{e(a.prosumer.lower())}">'
        f"<td>{e(a.prosumer[:10])}…</td><td>{e(a.kind.value)}</td><td>{e(a.reason)}</td>"
        f"<td>{_w(a.committed_w)}</td><td>{e(a.delivered_wh)}</td><td>{e(a.compliant)}</td>"
        f"<td>{_tokens(a.paid)}</td></tr>"
        for a in r.responses
    )
    table = (
        "<table><thead><tr><th>prosumer</th><th>answer</th><th>reason</th><th>committed</th>"
        f"<th>delivered Wh</th><th>compliant</th><th>paid</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>no answer yet</p>"
    )
    return head + table


def settlements_html(s: State) -> str:
    done = [r for r in s.requests if r.status.value in ("settled", "closed", "cancelled", "failed")]
    if not done:
        return '<tr><td colspan="8">no settlement yet</td></tr>'
    return "".join(
        f'<tr class="settlement" data-id="{r.id}" data-status="{e(r.status.value)}">'
        f"<td>{r.id}</td><td>{e(r.status.value)}</td><td>{e(r.direction.value)} {_w(r.power_w)}</td>"
        f"<td>{e(r.requested_wh)}</td><td>{e(r.committed_wh)}</td><td>{e(r.delivered_wh)}</td>"
        f"<td>{e(r.compliant)}/{e(r.participants)}</td><td>{_tokens(r.paid)}</td></tr>"
        for r in done
    )


def _bar(b: BlockRow, most: int) -> str:
    share = b.gas_used / max(b.gas_limit, 1)
    height = max(2, round(40 * b.gas_used / most))
    title = f"block {b.number}: {b.gas_used:,} gas ({share:.2%} of the limit), {b.txs} txs"
    return f'<span class="gas" title="{title}" style="height:{height}px"></span>'


def chain_html(s: State) -> str:
    blocks = s.blocks[-30:]
    most = max([b.gas_used for b in blocks] + [1])
    bars = "".join(_bar(b, most) for b in blocks)
    lag = "–" if s.reading_lag_s is None else f"{s.reading_lag_s:.1f} s"
    last = blocks[-1] if blocks else None
    return (
        f'<div id="chain-info" data-head="{e(s.head)}" data-seen="block:{e(s.head)}">block <b>{e(s.head)}</b>'
        f" · gas used {last.gas_used if last else 0:,} of {last.gas_limit if last else 0:,}"
        f" · pending txs <b>{e(s.pending_txs) if s.pending_txs is not None else '–'}</b>"
        f' · reading lag <b>{lag}</b><div class="gasbars" title="gas used per block, the last 30 blocks '
        f'(tallest: {most:,})">{bars}</div></div>'
    )


def errors_html(s: State) -> str:
    if not s.errors:
        return '<div id="errors"></div>'
    items = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in sorted(s.errors.items()))
    return f'<div id="errors"><ul>{items}</ul></div>'


def windows(s: State) -> list[list[float]]:
    """Request windows in simulated time ([start, end] of every request with a window), for the chart."""
    out = []
    for r in s.requests:
        if r.start is not None and r.end is not None and s.clock is not None:
            c = s.clock
            start = c.sim_start.timestamp() + (r.start - c.real_start_epoch) * c.speed
            end = c.sim_start.timestamp() + (r.end - c.real_start_epoch) * c.speed
            out.append([start, end, float(r.id)])
    return out
