"""Settling a request: measure each participant's delivery from the stored readings, record the
deliveries on chain in bounded batches, finalise with the settlement root anchored
(`aggregator.anchoring`), and read the aggregate result back (rule R10)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.anchoring import finalise_anchored
from aggregator.baseline import Delivery, Sample, measure, measure_available
from aggregator.evidence import Span
from aggregator.planning import DispatchPolicy, batches
from aggregator.store import ReadingFilter
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import RequestInfo, RequestResult, Response

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)

MAX_SAMPLES = 200_000
MEASURE_CHUNK = 50  # prosumers per store query (at 1 reading per 5 s, 50 x 600 readings of a window)


@dataclass(frozen=True)
class Measured:
    prosumer: str
    delivery: Delivery


def sim_epoch(ctx: AppContext, real_epoch: float) -> float:
    return ctx.clock.clock.sim_time(real_epoch).timestamp()


def measurement_span(ctx: AppContext, info: RequestInfo, policy: DispatchPolicy) -> Span:
    """The request's window in simulated time, its direction and the baseline margin: what every
    participant's delivery is measured over (kept with the anchored settlement)."""
    return Span(
        int(info.direction), sim_epoch(ctx, info.start), sim_epoch(ctx, info.end), policy.baseline_margin_s
    )


def measure_participants(
    ctx: AppContext, prosumers: list[str], info: RequestInfo, policy: DispatchPolicy
) -> dict[str, Delivery]:
    """Each prosumer's delivered energy in the request's window (simulated time), from the store: one
    query per `MEASURE_CHUNK` prosumers, not one each."""
    start, end = sim_epoch(ctx, info.start), sim_epoch(ctx, info.end)
    margin = policy.baseline_margin_s
    out: dict[str, Delivery] = {}
    for chunk in batches(prosumers, MEASURE_CHUNK):
        wanted = tuple(p.lower() for p in chunk)
        lo, hi = start - margin, end + margin
        rows = ctx.store.query(ReadingFilter(prosumers=wanted, start=lo, end=hi), MAX_SAMPLES)
        if len(rows) >= MAX_SAMPLES:  # too many for one query: one per prosumer, as many as it has
            each = (ctx.store.query(ReadingFilter(prosumer=w, start=lo, end=hi), MAX_SAMPLES) for w in wanted)
            rows = [r for own in each for r in own]
        samples: dict[str, list[Sample]] = {p: [] for p in wanted}
        for r in rows:
            samples[r.prosumer].append(Sample(r.t, r.power_w, r.available_w))
        for p in chunk:
            out[p] = delivery_of(samples[p.lower()], int(info.direction), start, end, margin)
    return out


def delivery_of(samples: list[Sample], direction: int, start: float, end: float, margin_s: float) -> Delivery:
    """The documented baseline method (aggregator.baseline) on one prosumer's readings in
    [start - margin_s, end + margin_s): available power when its reports support it, else the
    before/after interpolated baseline. `flexsim verify` recomputes deliveries with this same function."""
    window = [x for x in samples if start - margin_s <= x.t < end + margin_s]
    return measure_available(window, direction, start, end, margin_s) or measure(
        window, direction, start, end, margin_s
    )


def unsettled(d: Deployment, info: RequestInfo, participants: list[str]) -> list[str]:
    """Participants whose delivery is not yet recorded on chain (so a resumed settlement skips none
    and repeats none)."""
    waiting = (Response.ACCEPTED, Response.SELECTED, Response.TOPPED_UP)
    commitments = d.market.commitments_of(info.request_id, participants)
    return [p for p in participants if commitments[p].response in waiting]


def settle(
    ctx: AppContext,
    d: Deployment,
    sender: Sender,
    info: RequestInfo,
    participants: list[str],
    policy: DispatchPolicy,
) -> RequestResult:
    """Records every unsettled participant's delivery, finalises with the settlement root anchored,
    returns the chain's result.

    The delivery batches are sent one after the other without waiting for each to be mined (one
    sender, consecutive nonces, so the chain keeps their order): they share blocks instead of taking
    one block each. `finaliseAnchored` follows once they are mined, since its leaves are the deliveries
    the market recorded. Any of them failing raises when its receipt is read; a resumed settlement
    then records only what is still unrecorded."""
    todo = unsettled(d, info, participants)
    measured = measure_participants(ctx, todo, info, policy)
    unmeasurable = [p for p, m in measured.items() if not m.measurable]
    if unmeasurable:
        log.warning("request %s: no readings to measure %d participants", info.request_id, len(unmeasurable))
    sent = [
        (
            len(batch),
            d.market.submit_record_deliveries(
                sender, info.request_id, batch, [measured[p].delivered_wh_int for p in batch]
            ),
        )
        for batch in batches(todo, policy.settle_batch)
    ]
    for count, tx_hash in sent:
        receipt = sender.wait(tx_hash, "recordDeliveries")
        log.info(
            "request %s: recorded %d deliveries (gas %d, tx %s)",
            info.request_id,
            count,
            receipt.gas_used,
            receipt.tx_hash,
        )
    finalise_anchored(ctx, d, sender, info, participants, policy, measurement_span(ctx, info, policy))
    return d.market.result(info.request_id)
