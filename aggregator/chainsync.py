"""Chain sync: follows Registry and FlexibilityMarket events into the aggregator's database.

It reads logs of both contracts from the block after the last one it processed (persisted in
`sync_state`, so a restarted aggregator resumes where it stopped) in bounded ranges, decodes them and
applies them: registrations, renegotiations, removals and reputations into `prosumers` (reading the
terms and reputation from the chain, seed step 4), every prosumer's answer to a request into
`request_responses`, and settled results into `flex_requests`.

Delivery is at least once: a range is marked processed after its events are applied, and every
handler is an idempotent upsert, so replaying a range after a crash changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aggregator.tables import FlexRequest
from aggregator.wire_market import ResponseKind
from contracts.deployment import Deployment
from contracts.events import MARKET, REGISTRY, ChainEvent, Cursor, EventReader
from contracts.types import DeclineReason

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)

STREAM = "chain"


class ChainSync:
    """The background service. `step` does one bounded range and is what tests drive directly."""

    name = "chain_sync"

    def __init__(
        self,
        deployment: Deployment,
        poll_s: float = 0.5,
        max_range: int = 2_000,
        confirmations: int = 0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.d = deployment
        self.poll_s = poll_s
        self.max_range = max_range
        self.confirmations = confirmations
        self.reader = EventReader(deployment, (REGISTRY, MARKET), range_blocks=max_range)
        self._wall = wall
        self.head = 0  # latest block seen
        self.synced_to = 0  # last block applied

    async def run(self, ctx: AppContext) -> None:
        while True:
            try:
                applied = await asyncio.to_thread(self.step, ctx)
            except Exception:  # keep following: a node hiccup must not stop the service
                log.exception("chain sync step failed; retrying")
                ctx.metrics.counter("chain_sync_errors_total", "Chain sync steps that failed").inc()
                applied = -1
            if applied <= 0:
                await asyncio.sleep(self.poll_s)

    @property
    def lag_blocks(self) -> int:
        return max(0, self.head - self.synced_to)

    def step(self, ctx: AppContext) -> int:
        """Applies the next range of logs; returns how many blocks it covered (0 when up to date)."""
        w3 = self.d.chain.w3
        last = ctx.sync_state.get(STREAM)
        if last is None:
            last = self.d.manifest.block - 1
        self.head = int(self.d.chain.rpc(lambda: w3.eth.block_number, "block number"))
        target = self.head - self.confirmations
        if target <= last:
            self.synced_to = last
            self._report(ctx)
            return 0
        cursor = Cursor(last + 1)
        for event in self.reader.page(cursor, target):  # one bounded range, in chain order
            self.apply(ctx, event)
        to = cursor.next_block - 1
        ctx.sync_state.set(STREAM, to)
        self.synced_to = to
        self._report(ctx)
        return to - last

    def _report(self, ctx: AppContext) -> None:
        ctx.metrics.gauge("chain_lag_blocks", "Blocks the chain sync is behind the head").set(self.lag_blocks)
        ctx.metrics.gauge("chain_synced_block", "Last block applied by chain sync").set(self.synced_to)

    # ------------------------------------------------------------------ handlers

    def apply(self, ctx: AppContext, e: ChainEvent) -> None:
        handler = getattr(self, f"_on_{e.name}", None)
        if handler is not None:
            handler(ctx, e)

    def _refresh_prosumer(self, ctx: AppContext, address: str) -> None:
        """Reads the prosumer's terms and reputation from the chain (not from the event: the chain's
        current state wins when several events of one prosumer are in one range)."""
        reg = self.d.registry.registration_of(address)
        reputation = self.d.registry.reputation(address)
        if reg.terms.capacity_w == 0:  # removed, terminated or expired: keep the last terms, inactive
            ctx.prosumers.deactivate(address, reputation)
        else:
            ctx.prosumers.upsert(address, reg, reputation)
        ctx.auth.refresh(address, reg)  # new limits for live sessions; inactive prosumers are logged out
        forget = getattr(ctx.registry, "forget", None)
        if forget is not None:
            forget(address)

    def _on_Registered(self, ctx: AppContext, e: ChainEvent) -> None:
        self._refresh_prosumer(ctx, e.args["prosumer"])

    _on_Renegotiated = _on_Registered
    _on_Removed = _on_Registered
    _on_Terminated = _on_Registered
    _on_Expired = _on_Registered

    def _on_OutcomeRecorded(self, ctx: AppContext, e: ChainEvent) -> None:
        ctx.prosumers.set_reputation(e.args["prosumer"], int(e.args["reputation"]))

    def _respond(self, ctx: AppContext, e: ChainEvent, kind: ResponseKind, **fields: Any) -> None:
        request_id = self._local_request(ctx, int(e.args["requestId"]))
        if request_id is None:
            log.debug("%s for chain request %s opened elsewhere; ignored", e.name, e.args["requestId"])
            return
        ctx.requests.record_response(
            request_id, e.args["prosumer"], kind, tx_hash=e.tx_hash, block=e.block, **fields
        )

    def _on_Accepted(self, ctx: AppContext, e: ChainEvent) -> None:
        self._respond(ctx, e, ResponseKind.ACCEPTED, committed_w=int(e.args["powerW"]))

    def _on_Declined(self, ctx: AppContext, e: ChainEvent) -> None:
        code = int(e.args["reason"])
        reason = DeclineReason(code).label if code in DeclineReason._value2member_map_ else f"code {code}"
        self._respond(ctx, e, ResponseKind.DECLINED, reason=reason)

    def _on_Applied(self, ctx: AppContext, e: ChainEvent) -> None:
        self._respond(ctx, e, ResponseKind.APPLIED, committed_w=int(e.args["offeredW"]))

    def _on_Selected(self, ctx: AppContext, e: ChainEvent) -> None:
        self._respond(ctx, e, ResponseKind.SELECTED, committed_w=int(e.args["powerW"]))

    def _on_ToppedUp(self, ctx: AppContext, e: ChainEvent) -> None:
        self._respond(ctx, e, ResponseKind.TOPPED_UP, committed_w=int(e.args["committedW"]))

    def _on_Displaced(self, ctx: AppContext, e: ChainEvent) -> None:
        self._respond(ctx, e, ResponseKind.DISPLACED, reason=f"reputation {e.args['reputation']}")

    def _on_DeliveryRecorded(self, ctx: AppContext, e: ChainEvent) -> None:
        self._respond(
            ctx,
            e,
            ResponseKind.DELIVERED,
            committed_w=int(e.args["committedW"]),
            delivered_wh=int(e.args["deliveredWh"]),
            compliant=bool(e.args["compliant"]),
            paid=int(e.args["payment"]),
        )

    def _on_RequestSettled(self, ctx: AppContext, e: ChainEvent) -> None:
        request_id = self._local_request(ctx, int(e.args["requestId"]))
        if request_id is None:
            return
        ctx.requests.mark(
            request_id,
            None,
            requested_wh=int(e.args["requestedWh"]),
            committed_wh=int(e.args["committedWh"]),
            delivered_wh=int(e.args["deliveredWh"]),
            participants=int(e.args["participants"]),
            compliant=int(e.args["compliant"]),
            paid=int(e.args["paid"]),
        )

    def _local_request(self, ctx: AppContext, chain_request_id: int) -> int | None:
        """The database id of the request opened on chain as `chain_request_id` (one database serves
        one deployment), or None for a request this aggregator did not open."""
        with ctx.db.session() as s:
            return s.scalars(
                select(FlexRequest.id).where(FlexRequest.chain_request_id == chain_request_id)
            ).first()
