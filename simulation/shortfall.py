"""Where the undelivered energy went: every Wh a request asked for and did not get, by reason. Pure.

Per request, from the chain's events, `requested - delivered` is split exactly into:

- `not settled`: a request that was closed or cancelled instead of settled (all it asked for,
  less what was recorded);
- `refused`: a request the aggregator refused (the grid operator's record);
- the commitment gap `requested - committed`, attributed to the declines by their reason
  (`declined: <reason>`), each decline weighted by what its prosumer could have offered
  (`min(flexibility, 25 % of capacity)` in the request's direction, from its registered terms), up to
  the gap; what the declines cannot explain is `not covered` (the fleet's offers did not reach it, or
  prosumers did not answer in time); when the aggregator over-booked (committed more than requested,
  aggregator/booking.py), the excess is `over-booked` (negative);
- the delivery gap `committed - delivered`, per participant: `outage in the window` (its outage
  schedule overlaps the window), `over-promised` and `careless` (its traits, `domain.realism`),
  otherwise `imperfections` (control delay, ramp limits, forecast and meter errors, the weather); a
  participant that delivered more than it committed counts as `over-delivered` (negative);
- `rounding`: whole-Wh rounding of the chain's totals (a few Wh at most).

Prosumers are told apart by their address; `Prosumer` carries what the run knows of one (its traits
and outage schedule, both reproducible from the scenario seed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.market_rules import offer_w
from domain.outages import Outage
from domain.realism import IDEAL, Traits
from domain.vocabulary import DeclineReason, Direction

NOT_SETTLED = "not settled"
REFUSED = "refused"
NOT_COVERED = "not covered"
OVER_BOOKED = "over-booked"
OUTAGE = "outage in the window"
OVER_PROMISED = "over-promised"
CARELESS = "careless"
IMPERFECTIONS = "imperfections"
OVER_DELIVERED = "over-delivered"
ROUNDING = "rounding"


def declined(reason: int) -> str:
    return f"declined: {DeclineReason(reason).label}"


@dataclass(frozen=True)
class Prosumer:
    """What a run knows of one prosumer besides the chain: its traits and outage schedule."""

    traits: Traits = IDEAL
    outages: tuple[Outage, ...] = ()


@dataclass
class RequestShortfall:
    chain_request_id: int
    direction: str
    requested_wh: float
    committed_wh: float
    delivered_wh: float
    undelivered_wh: dict[str, float] = field(default_factory=dict)

    def add(self, reason: str, wh: float) -> None:
        if wh:
            self.undelivered_wh[reason] = self.undelivered_wh.get(reason, 0.0) + wh


def shortfalls(
    events: Iterable[tuple[str, Mapping[str, Any]]],
    prosumer: Callable[[str], Prosumer],
    sim_time: Callable[[float], datetime],
) -> list[RequestShortfall]:
    """Per request of the chain's `(name, args)` events (in order), its shortfall by reason.
    `prosumer(address)` says what is known of a participant; `sim_time(chain epoch)` maps the chain
    clock to simulated time (for the outage schedules)."""
    terms: dict[str, Mapping[str, Any]] = {}
    opened: dict[int, Mapping[str, Any]] = {}
    declines: dict[int, list[tuple[str, int]]] = defaultdict(list)
    deliveries: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    settled: dict[int, Mapping[str, Any]] = {}
    ended: set[int] = set()
    for name, a in events:
        if name in ("Registered", "Renegotiated"):
            terms[str(a["prosumer"]).lower()] = dict(a["terms"])
        elif name == "FlexibilityRequested":
            opened[int(a["requestId"])] = dict(a)
        elif name == "RequestModified":
            opened[int(a["requestId"])] = {**opened[int(a["requestId"])], **dict(a)}
        elif name == "Declined":
            declines[int(a["requestId"])].append((str(a["prosumer"]).lower(), int(a["reason"])))
        elif name == "DeliveryRecorded":
            deliveries[int(a["requestId"])].append(a)
        elif name == "RequestSettled":
            settled[int(a["requestId"])] = a
        elif name in ("RequestClosed", "RequestCancelled"):
            ended.add(int(a["requestId"]))
    out = []
    for rid, req in opened.items():
        duration = int(req["durationS"])
        direction = Direction(int(req["direction"]))
        requested = int(req["powerW"]) * duration / 3600
        recorded = sum(int(d["deliveredWh"]) for d in deliveries[rid])
        if rid not in settled:
            s = RequestShortfall(rid, direction.label, requested, 0.0, recorded)
            s.add(NOT_SETTLED, requested - recorded)
            out.append(s)
            continue
        total = settled[rid]
        s = RequestShortfall(
            rid,
            direction.label,
            float(total["requestedWh"]),
            float(total["committedWh"]),
            float(total["deliveredWh"]),
        )
        _commitment_gap(s, declines[rid], terms, direction, duration)
        window = (sim_time(float(req["start"])), sim_time(float(req["end"])))
        for d in deliveries[rid]:
            short = int(d["committedW"]) * duration / 3600 - int(d["deliveredWh"])
            s.add(_cause(short, prosumer(str(d["prosumer"]).lower()), window), short)
        s.add(ROUNDING, round(s.requested_wh - s.delivered_wh - sum(s.undelivered_wh.values()), 6))
        out.append(s)
    return out


def _commitment_gap(
    s: RequestShortfall,
    declines: list[tuple[str, int]],
    terms: Mapping[str, Mapping[str, Any]],
    direction: Direction,
    duration_s: int,
) -> None:
    gap = s.requested_wh - s.committed_wh
    if gap <= 0:
        s.add(OVER_BOOKED, gap)  # committed more than requested (the aggregator over-booked): negative
        return
    weights: dict[str, float] = defaultdict(float)
    for who, reason in declines:
        t = terms.get(who)
        if t is None:
            continue
        flex = int(t["flexUpW"] if direction is Direction.UP else t["flexDownW"])
        weights[declined(reason)] += offer_w(flex, int(t["capacityW"])) * duration_s / 3600
    could = sum(weights.values())
    explained = min(gap, could)
    for label, w in weights.items():
        s.add(label, explained * w / could)
    s.add(NOT_COVERED, gap - explained)


def _cause(short_wh: float, p: Prosumer, window: tuple[datetime, datetime]) -> str:
    if short_wh < 0:
        return OVER_DELIVERED
    start, end = window
    if any(o.start < end and o.end > start for o in p.outages):
        return OUTAGE
    if p.traits.over_promises:
        return OVER_PROMISED
    if p.traits.care < 1.0:
        return CARELESS
    return IMPERFECTIONS


def by_reason(items: Iterable[RequestShortfall]) -> dict[str, float]:
    """Undelivered Wh per reason over requests (rounded to 0.1 Wh)."""
    total: dict[str, float] = defaultdict(float)
    for s in items:
        for reason, wh in s.undelivered_wh.items():
            total[reason] += wh
    return {k: round(v, 1) for k, v in sorted(total.items())}
