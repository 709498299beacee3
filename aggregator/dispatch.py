"""The dispatcher: runs queued flexibility requests one at a time through their life on chain (R6-R11).

queued → opening (openRequest) → open (prosumers answer until the deadline) → selecting (reputation:
rank the candidates, submit the selection) → delivering (the window and the return-to-baseline
period) → settling (measure, record deliveries, finalise) → settled, with the result read from chain.

Every stage reads the chain before acting, so a restarted aggregator resumes a request where it
stopped: an opened request is adopted, selected or recorded prosumers are not submitted again.

Liveness: a request the dispatcher cannot finish (a stage fails, or it resumes one left behind) is
never left open on chain. Before its start it is cancelled; after it, it is closed with
`closeRequest` once the contract allows (`closableAt`: the window's end plus a grace), marked
`closed` with the reason, and the next request opens. A chain request open before this dispatcher
started that no request of its own opened (an interrupted run) is closed the same way first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aggregator.anchoring import recover_anchor
from aggregator.booking import booked_w, delivery_ratio, record_of
from aggregator.planning import DispatchPolicy, batches, plan, settle_after
from aggregator.settlement import measurement_span, settle
from aggregator.tables import FlexRequest
from aggregator.wire_market import FINAL_STATES, RequestState
from base.errors import FlexsimError
from contracts.deployment import Deployment
from contracts.errors import AcceptanceStillOpen, AlreadyStarted, ChainError
from contracts.sender import Sender
from contracts.types import Direction, RequestInfo, RequestStatus, Response, Strategy
from domain.market_rules import Candidate, select

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)


class Dispatcher:
    name = "dispatcher"

    def __init__(
        self,
        deployment: Deployment,
        sender: Sender,
        policy: DispatchPolicy | None = None,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        block_time_s: float | None = None,
    ) -> None:
        self.d = deployment
        self.sender = sender
        self.policy = policy or DispatchPolicy()
        self._wall = wall
        self._sleep = sleep
        self.block_time_s = block_time_s or self._block_time()

    async def run(self, ctx: AppContext) -> None:
        while True:
            req = await asyncio.to_thread(self.next_request, ctx)
            if req is None:
                await asyncio.sleep(self.policy.poll_s)
                continue
            await asyncio.to_thread(self.process, ctx, req.id)

    def next_request(self, ctx: AppContext) -> FlexRequest | None:
        """A request claimed earlier and not finished (after a restart), else the oldest queued one."""
        busy = ctx.requests.in_progress()
        return busy[0] if busy else ctx.requests.claim_next()

    def process(self, ctx: AppContext, request_id: int) -> None:
        """Drives one request to a final state. When a stage fails, the request is cancelled or closed
        on chain (liveness); only when even that fails is it marked failed."""
        try:
            self._drive(ctx, request_id)
        except FlexsimError as exc:
            log.error("request %s could not be finished: %s", request_id, exc)
            ctx.metrics.counter("tx_failures_total", "Dispatcher transactions that failed").inc()
            try:
                self._give_up(ctx, request_id, str(exc))
            except FlexsimError as again:
                log.error("request %s could not be closed either: %s", request_id, again)
                ctx.requests.mark(
                    request_id, RequestState.FAILED, error=f"{exc}; closing failed: {again}"[:2000]
                )

    def _give_up(self, ctx: AppContext, request_id: int, reason: str) -> None:
        """Ends a request this dispatcher cannot finish: cancelled before its start, closed after it."""
        req = ctx.requests.get(request_id)
        if req.chain_request_id is None:  # never opened on chain: nothing to undo there
            ctx.requests.mark(request_id, RequestState.FAILED, error=reason[:2000])
            return
        state = self._end_on_chain(req.chain_request_id)
        result = self.d.market.result(req.chain_request_id)
        ctx.requests.mark(
            request_id, state, error=reason[:2000],
            requested_wh=result.requested_wh, committed_wh=result.committed_wh,
            delivered_wh=result.delivered_wh, participants=result.participants,
            compliant=result.compliant, paid=result.paid,
        )  # fmt: skip

    def _end_on_chain(self, chain_id: int) -> RequestState:
        """Cancels (before its start) or closes (from `closableAt`) an open chain request; returns the
        state it ends in. Waits for `closableAt` when needed (real time on the chain clock)."""
        info = self.d.market.request(chain_id)
        if info.status == RequestStatus.SETTLED:
            return RequestState.SETTLED
        if info.status == RequestStatus.CANCELLED:
            return RequestState.CANCELLED
        if info.status == RequestStatus.CLOSED:
            return RequestState.CLOSED
        if self._wall() < info.start - self.block_time_s:
            try:
                self.d.market.cancel_request(self.sender, chain_id)
                log.warning("chain request %s cancelled before its start", chain_id)
                return RequestState.CANCELLED
            except AlreadyStarted:  # the start came while the transaction was on its way
                pass
        closable = self.d.market.closable_at(chain_id)
        log.warning(
            "chain request %s cannot be finished: closing it at %d (its end plus grace)", chain_id, closable
        )
        while (left := closable + 1 - self._wall()) > 0:
            self._sleep(min(left, self.policy.poll_s))
        self.d.market.close_request(self.sender, chain_id)
        log.warning("chain request %s closed without full settlement", chain_id)
        return RequestState.CLOSED

    # ------------------------------------------------------------------ stages

    def _drive(self, ctx: AppContext, request_id: int) -> None:
        req = ctx.requests.get(request_id)
        if req.status == RequestState.OPENING:
            req = self._open(ctx, req)
        assert req.chain_request_id is not None
        info = self.d.market.request(req.chain_request_id)
        if info.status in (RequestStatus.CANCELLED, RequestStatus.CLOSED):
            ended = RequestState.CANCELLED if info.status == RequestStatus.CANCELLED else RequestState.CLOSED
            ctx.requests.mark(request_id, ended)
            return
        if info.status == RequestStatus.OPEN and not self._wait_until(ctx, request_id, info.deadline + 1):
            return
        if info.strategy == Strategy.REPUTATION:
            ctx.requests.mark(request_id, RequestState.SELECTING)
            self._after_deadline(info, lambda: self._select(info))
        else:
            booked = self._booking(ctx, info)
            self._after_deadline(info, lambda: self._top_up(self.d.market.request(info.request_id), booked))
        ctx.requests.mark(request_id, RequestState.DELIVERING)
        speed = ctx.clock.clock.speed
        if not self._wait_until(ctx, request_id, settle_after(info.end, speed, self.policy)):
            return
        self._await_readings(ctx, info, speed)
        ctx.requests.mark(request_id, RequestState.SETTLING)
        info = self.d.market.request(info.request_id)
        if info.status == RequestStatus.OPEN:
            settle(ctx, self.d, self.sender, info, self._participants(info), self.policy)
        elif info.status == RequestStatus.SETTLED:
            self._recover_anchor(ctx, info)
        else:
            raise ChainError(f"chain request {info.request_id} is {info.status.name.lower()}: not settleable")
        result = self.d.market.result(info.request_id)
        ctx.requests.mark(
            request_id,
            RequestState.SETTLED,
            requested_wh=result.requested_wh,
            committed_wh=result.committed_wh,
            delivered_wh=result.delivered_wh,
            participants=result.participants,
            compliant=result.compliant,
            paid=result.paid,
        )
        log.info("request %s settled on chain as %s: %s", request_id, info.request_id, result)

    def _recover_anchor(self, ctx: AppContext, info: RequestInfo) -> None:
        """A request found settled on resume: saves its anchored leaves if the stop came before they
        were (docs/tamper-evidence.md). A failure is logged, not fatal: the settlement stands on chain."""
        try:
            span = measurement_span(ctx, info, self.policy)
            recover_anchor(ctx, self.d, info, self._participants(info), span)
        except FlexsimError as exc:
            log.error("request %s: the anchored leaves could not be rebuilt: %s", info.request_id, exc)

    def _open(self, ctx: AppContext, req: FlexRequest) -> FlexRequest:
        current = self.d.market.current_request_id()
        owner = ctx.requests.by_chain_id(current) if current else None
        if current and owner is not None and owner.id != req.id:
            # left open by an earlier request of ours that could not finish: end it, then open ours
            self._give_up(ctx, owner.id, "left open on chain; closed so that the next request can open")
            current = 0
        if current:  # opened before a crash (only this aggregator opens requests): adopt it
            info = self.d.market.request(current)
            log.warning("adopting chain request %s, open before this dispatcher started", current)
            return ctx.requests.mark(
                req.id, RequestState.OPEN, chain_request_id=current,
                start=info.start, end=info.end, deadline=info.deadline,
            )  # fmt: skip
        p = plan(
            self._wall(),
            req.lead_time_s,
            req.duration_s,
            ctx.clock.clock.speed,
            self.block_time_s,
            self.policy,
        )
        now = self._wall()
        lapsed = [x.address for x in ctx.prosumers.all(active_only=True) if x.expiry <= now]
        chain_id, receipt = self.d.market.open_request(
            self.sender,
            Direction.parse(req.direction),
            int(req.power_w),
            int(req.duration_s),
            p.start,
            p.end,
            p.deadline,
            Strategy.parse(req.strategy),
            lapsed=lapsed,
        )
        log.info("request %s opened on chain as %s (tx %s)", req.id, chain_id, receipt.tx_hash)
        return ctx.requests.mark(
            req.id, RequestState.OPEN, chain_request_id=chain_id, opened_tx=receipt.tx_hash,
            start=p.start, end=p.end, deadline=p.deadline,
        )  # fmt: skip

    def _select(self, info: RequestInfo) -> None:
        """Ranks every candidate (R8) and submits the part of the ranking not yet on chain."""
        applied = self.d.market.request_events("Applied", info.request_id, info.opened_block)
        candidates = []
        pending: set[str] = set()
        commitments = self.d.market.commitments_of(info.request_id, [str(a["prosumer"]) for a in applied])
        for args in applied:  # ranked by the reputation each had when it applied (the contract's key)
            who = str(args["prosumer"])
            c = commitments[who]
            if c.response == Response.APPLIED:
                pending.add(who)
            candidates.append(Candidate(who, int(args["reputation"]), int(args["offeredW"]), c.tariff))
        chosen, displaced = select(candidates, info.power_w)
        todo_sel = [c.address for c in chosen if c.address in pending]
        todo_dis = [c.address for c in displaced if c.address in pending]
        for batch in batches(todo_sel, self.policy.select_batch):
            self.d.market.select(self.sender, info.request_id, batch, [])
        for batch in batches(todo_dis, self.policy.select_batch):
            self.d.market.select(self.sender, info.request_id, [], batch)
        if not candidates:  # nobody applied: an empty selection completes it
            self.d.market.select(self.sender, info.request_id, [], [])
        log.info("request %s: %d selected, %d displaced", info.request_id, len(chosen), len(displaced))

    def _after_deadline(self, info: RequestInfo, stage: Callable[[], None]) -> None:
        """Runs a stage the contract allows only after the deadline (selection, top-up). On a chain that
        mines on demand the block the stage is checked against can still carry a timestamp at or before
        the deadline although the wall clock is past it (a busy machine): the stage is tried again,
        a poll later, until a block before the start."""
        while True:
            try:
                stage()
                return
            except AcceptanceStillOpen:
                if self._wall() >= info.start - 2 * self.block_time_s:
                    raise
                log.warning("request %s: the chain's clock is not past the deadline yet: trying again",
                            info.request_id)  # fmt: skip
                self._sleep(max(self.policy.poll_s, 0.5))

    def _booking(self, ctx: AppContext, info: RequestInfo) -> int:
        """What the fair top-up round aims to commit: the power, over-booked by the fleet's record of
        delivered / committed over earlier settled fair requests (aggregator/booking.py)."""
        settled = reversed(ctx.requests.list(status=RequestState.SETTLED.value, limit=200))  # oldest first
        record = record_of(settled, Strategy.FAIR.label, info.request_id)
        ratio = delivery_ratio(record, self.policy.booking)
        booked = booked_w(info.power_w, ratio, self.policy.booking)
        log.info("request %s: fleet delivery ratio %.3f over %d settled requests: booking %d W for %d W",
                 info.request_id, ratio, len(record), booked, info.power_w)  # fmt: skip
        return booked

    def _top_up(self, info: RequestInfo, booked: int) -> None:
        """The fair top-up round (R7): re-offers what the round aims at beyond the commitments (the
        power the decliners left uncovered, plus the over-booking `booked - power`) to the accepters in
        proportion to their room, before the window starts. Resumable: the round's total room and
        booking are the same every time (read back from the chain once begun), and accepters already
        topped up are not submitted again."""
        round_ = self.d.market.top_up_of(info.request_id)
        begun = round_.counted > 0
        if begun:
            booked = round_.booked_w
        if not begun and (info.committed_w >= booked or info.joined == 0):
            return  # covered (nobody declined, nothing over-booked, or the shares fill it)
        accepted = self._participants(info)
        commitments = self.d.market.commitments_of(info.request_id, accepted)
        total_room = sum(c.room_w for c in commitments.values())
        if not begun and total_room == 0:
            log.info("request %s: %d W uncovered, no accepter has room", info.request_id,
                     booked - info.committed_w)  # fmt: skip
            return
        if self._wall() >= info.start - self.block_time_s:
            if begun:
                raise ChainError(
                    f"request {info.request_id}: the top-up round could not finish before the start"
                )
            log.warning("request %s: too late for a top-up round before the start", info.request_id)
            return
        todo = [p for p, c in commitments.items() if c.response == Response.ACCEPTED]
        for batch in batches(todo, self.policy.top_up_batch):
            self.d.market.top_up(self.sender, info.request_id, total_room, batch, booked_w=booked)
        after = self.d.market.request(info.request_id)
        log.info("request %s: top-up of %d W among %d accepters (room %d W): %d W committed for %d W "
                 "requested (booked %d W)", info.request_id, after.committed_w - info.committed_w, len(todo),
                 total_room, after.committed_w, info.power_w, booked)  # fmt: skip

    def _participants(self, info: RequestInfo) -> list[str]:
        name = "Accepted" if info.strategy == Strategy.FAIR else "Selected"
        return [
            str(a["prosumer"]) for a in self.d.market.request_events(name, info.request_id, info.opened_block)
        ]

    # ------------------------------------------------------------------ helpers

    def _await_readings(self, ctx: AppContext, info: RequestInfo, speed: float) -> None:
        """Waits, at most `policy.reading_wait_s`, until every participant has a reading stored from after
        the return-to-baseline period (its `seq` is the real time it was taken, in ms): on a busy machine
        readings arrive late, and measuring without them would misjudge the delivery."""
        needed_ms = (info.end + self.policy.baseline_margin_s / speed) * 1000
        deadline = self._wall() + self.policy.reading_wait_s
        waiting = [p.lower() for p in self._participants(info)]
        while True:
            waiting = [p for p in waiting if (ctx.store.last_seq(p) or 0) < needed_ms]
            if not waiting or self._wall() >= deadline:
                break
            self._sleep(self.policy.poll_s)
        if waiting:
            log.warning(
                "request %s: %d participants have no reading after the return to baseline yet; measuring "
                "what is stored", info.request_id, len(waiting),
            )  # fmt: skip

    def _wait_until(self, ctx: AppContext, request_id: int, epoch: float) -> bool:
        """Sleeps until `epoch` (real time); False if the request was cancelled meanwhile."""
        while (left := epoch - self._wall()) > 0:
            self._sleep(min(left, self.policy.poll_s))
            if RequestState(ctx.requests.get(request_id).status) in FINAL_STATES:
                return False
        return True

    def _block_time(self) -> float:
        """Seconds per block: the median gap of the last 20 blocks, within [1, 15] (an automining chain
        has no block time; pass `block_time_s` to fix it)."""
        w3 = self.d.chain.w3
        head = w3.eth.get_block("latest")
        first = max(0, head["number"] - 20)
        stamps = [w3.eth.get_block(n)["timestamp"] for n in range(first, head["number"] + 1)]
        gaps = sorted(b - a for a, b in zip(stamps, stamps[1:], strict=False))
        return min(15.0, max(1.0, float(gaps[len(gaps) // 2]))) if gaps else 1.0
