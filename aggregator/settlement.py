"""Settling a request: measure each participant's delivery from the stored readings, record the
deliveries on chain in bounded batches, finalise, and read the aggregate result back (rule R10)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.baseline import Delivery, Sample, measure, measure_available
from aggregator.planning import DispatchPolicy, batches
from aggregator.store import ReadingFilter
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import RequestInfo, RequestResult, Response

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)

MAX_SAMPLES = 200_000


@dataclass(frozen=True)
class Measured:
    prosumer: str
    delivery: Delivery


def sim_epoch(ctx: AppContext, real_epoch: float) -> float:
    return ctx.clock.clock.sim_time(real_epoch).timestamp()


def measure_participant(
    ctx: AppContext, prosumer: str, info: RequestInfo, policy: DispatchPolicy
) -> Delivery:
    """The prosumer's delivered energy in the request's window (simulated time), from the store."""
    start, end = sim_epoch(ctx, info.start), sim_epoch(ctx, info.end)
    margin = policy.baseline_margin_s
    rows = ctx.store.query(
        ReadingFilter(prosumer=prosumer.lower(), start=start - margin, end=end + margin), MAX_SAMPLES
    )
    samples = [Sample(r.t, r.power_w, r.available_w) for r in rows]
    by_available = measure_available(samples, int(info.direction), start, end, margin)
    return by_available or measure(samples, int(info.direction), start, end, margin)


def unsettled(d: Deployment, info: RequestInfo, participants: list[str]) -> list[str]:
    """Participants whose delivery is not yet recorded on chain (so a resumed settlement skips none
    and repeats none)."""
    waiting = (Response.ACCEPTED, Response.SELECTED)
    return [p for p in participants if d.market.commitment_of(info.request_id, p).response in waiting]


def settle(
    ctx: AppContext,
    d: Deployment,
    sender: Sender,
    info: RequestInfo,
    participants: list[str],
    policy: DispatchPolicy,
) -> RequestResult:
    """Records every unsettled participant's delivery, finalises, returns the chain's result.

    The delivery batches and `finalise` are sent one after the other without waiting for each to be
    mined (one sender, consecutive nonces, so the chain keeps their order): they share blocks instead
    of taking one block each. Any of them failing raises when its receipt is read; a resumed
    settlement then records only what is still unrecorded."""
    todo = unsettled(d, info, participants)
    measured = {p: measure_participant(ctx, p, info, policy) for p in todo}
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
    final = d.market.submit_finalise(sender, info.request_id)
    for count, tx_hash in sent:
        receipt = sender.wait(tx_hash, "recordDeliveries")
        log.info(
            "request %s: recorded %d deliveries (gas %d, tx %s)",
            info.request_id,
            count,
            receipt.gas_used,
            receipt.tx_hash,
        )
    receipt = sender.wait(final, "finalise")
    log.info("request %s: finalised (gas %d, tx %s)", info.request_id, receipt.gas_used, receipt.tx_hash)
    return d.market.result(info.request_id)
