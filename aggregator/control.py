"""Cancel and modify of a request on behalf of the grid operator, on chain once it is open (R6).

Queued requests change in the database only. An open request can be cancelled before its start and
modified while prosumers may still answer (until its deadline): power and duration only while nobody
joined (the contract enforces both), the lead time by moving its schedule. Chain reverts come back as
409 Conflict with their reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aggregator.errors import Conflict
from aggregator.planning import DispatchPolicy, plan
from aggregator.requests_repo import RequestQueue
from aggregator.simclock import ServerClock
from aggregator.tables import FlexRequest
from aggregator.wire_market import RequestState
from contracts.deployment import Deployment
from contracts.errors import ContractRevert
from contracts.sender import Sender

QUEUED = RequestState.QUEUED.value
ON_CHAIN = (RequestState.OPEN.value, RequestState.SELECTING.value)


class ChainRequestControl:
    def __init__(
        self,
        queue: RequestQueue,
        deployment: Deployment,
        sender: Sender,
        clock: ServerClock,
        policy: DispatchPolicy,
        block_time_s: Callable[[], float],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.queue, self.d, self.sender, self.clock = queue, deployment, sender, clock
        self.policy, self._block_time, self._wall = policy, block_time_s, wall

    def cancel(self, request_id: int) -> FlexRequest:
        req = self.queue.get(request_id)
        if req.status == QUEUED:
            return self.queue.cancel_queued(request_id)
        chain_id = self._on_chain(req, "cancel")
        try:
            self.d.market.cancel_request(self.sender, chain_id)
        except ContractRevert as exc:
            raise Conflict(f"request {request_id} cannot be cancelled: {exc}") from None
        return self.queue.mark(request_id, RequestState.CANCELLED)

    def modify(self, request_id: int, changes: dict[str, Any]) -> FlexRequest:
        req = self.queue.get(request_id)
        if req.status == QUEUED:
            return self.queue.modify_queued(request_id, **changes)
        chain_id = self._on_chain(req, "modify")
        power = int(changes.get("power_w") or req.power_w)
        duration = int(changes.get("duration_s") or req.duration_s)
        lead = int(changes.get("lead_time_s") or req.lead_time_s)
        p = plan(self._wall(), lead, duration, self.clock.clock.speed, self._block_time(), self.policy)
        try:
            self.d.market.modify_request(self.sender, chain_id, power, duration, p.start, p.end, p.deadline)
        except ContractRevert as exc:
            raise Conflict(f"request {request_id} cannot be modified: {exc}") from None
        return self.queue.mark(
            request_id, None, power_w=power, duration_s=duration, lead_time_s=lead,
            start=p.start, end=p.end, deadline=p.deadline,
        )  # fmt: skip

    def _on_chain(self, req: FlexRequest, what: str) -> int:
        if req.status not in ON_CHAIN or req.chain_request_id is None:
            raise Conflict(f"request {req.id} is {req.status}: only queued or open requests can {what}")
        if req.start is not None and self._wall() >= req.start:
            raise Conflict(f"request {req.id} has started: it can no longer {what}")
        return req.chain_request_id
