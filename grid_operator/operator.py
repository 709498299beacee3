"""The grid operator: sends the scenario's requests to the aggregator over HTTP at their simulated
times, waits for them to settle, and reads each aggregate result from the chain (seed step 8)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from aggregator.wire import OverviewOut
from aggregator.wire_market import (
    FINAL_STATES,
    DirectionName,
    FlexRequestIn,
    FlexRequestList,
    FlexRequestOut,
    RequestState,
)
from base.errors import ConfigError, FlexsimError
from contracts.deployment import Deployment
from contracts.settings import ChainSettings
from domain.request_process import PlannedRequest, plan_requests, power_for
from grid_operator.plan import RequestPlan

log = logging.getLogger(__name__)


class GridError(FlexsimError):
    """The aggregator refused or could not be reached."""


@dataclass
class Sent:
    planned: PlannedRequest
    power_w: int
    available_w: int
    request_id: int | None = None
    sent_real: float = 0.0
    error: str | None = None
    final: FlexRequestOut | None = None
    chain_result: dict[str, Any] | None = None


BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 10.0
RETRY_AFTER_MAX_S = 30.0
CLOSE_PATIENCE_S = 30.0  # after the settle timeout, how long a cancellation may keep retrying
RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)  # the request never left


class AggregatorClient:
    """The grid operator's HTTP client. Under load it backs off and retries instead of giving up:
    connection errors, timeouts, 429, 502, 503 and 504 are retried (Retry-After when the aggregator
    gives one, else exponential backoff from 0.25 s to 10 s) until `give_up_at`, if any; a
    submission whose answer was lost is looked up before it is sent again (POST is not idempotent)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )
        self._sleep, self._wall = sleep, wall
        self.retries = 0

    def _call(
        self,
        method: str,
        path: str,
        give_up_at: float | None = None,
        lost: Callable[[], bytes | None] | None = None,
        **kw: Any,
    ) -> bytes:
        """The answer's body. `lost`: after a failure that may have reached the aggregator, finds
        what the call did (its body) or None (not done: send again)."""
        delay = BACKOFF_START_S
        while True:
            try:
                reply = self.http.request(method, path, **kw)
            except httpx.TransportError as exc:
                why = f"unreachable ({type(exc).__name__})"
                wait = delay
                if lost is not None and not isinstance(exc, NOT_SENT):
                    found = self._find(lost, give_up_at)
                    if found is not None:
                        return found
            else:
                if reply.status_code < 400:
                    return reply.content
                if reply.status_code not in RETRY_STATUSES:
                    raise GridError(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
                why = f"busy ({reply.status_code})"
                wait = _retry_after(reply, delay)
            if give_up_at is not None and self._wall() + wait > give_up_at:
                raise GridError(
                    f"{method} {path}: aggregator at {self.http.base_url} {why} until the deadline"
                )
            self.retries += 1
            log.warning("%s %s: aggregator %s; retrying in %.2f s", method, path, why, wait)
            self._sleep(wait)
            delay = min(delay * 2, BACKOFF_MAX_S)

    def _find(self, lost: Callable[[], bytes | None], give_up_at: float | None) -> bytes | None:
        try:
            return lost()
        except GridError:
            return None

    def overview(self, give_up_at: float | None = None) -> OverviewOut:
        return OverviewOut.model_validate_json(self._call("GET", "/overview", give_up_at))

    def submit(self, request: FlexRequestIn, give_up_at: float | None = None) -> FlexRequestOut:
        body = request.model_dump(mode="json", exclude_none=True)
        since = self._wall() - 1.0

        def lost() -> bytes | None:
            recent = self.recent(give_up_at)
            for r in recent:
                if (
                    r.direction == request.direction
                    and r.power_w == request.power_w
                    and r.duration_s == request.duration_s
                    and r.lead_time_s == request.lead_time_s
                    and r.created_at.timestamp() >= since
                ):
                    log.info(
                        "the request sent before the failure was stored as %d: not sending it again", r.id
                    )
                    return r.model_dump_json().encode()
            return None

        return FlexRequestOut.model_validate_json(
            self._call("POST", "/requests", give_up_at, lost, json=body)
        )

    def recent(self, give_up_at: float | None = None) -> list[FlexRequestOut]:
        """The newest requests (without responses)."""
        body = self._call("GET", "/requests", give_up_at, params={"limit": 20})
        return FlexRequestList.model_validate_json(body).requests

    def get(self, request_id: int, give_up_at: float | None = None) -> FlexRequestOut:
        return FlexRequestOut.model_validate_json(self._call("GET", f"/requests/{request_id}", give_up_at))

    def cancel(self, request_id: int, give_up_at: float | None = None) -> FlexRequestOut:
        return FlexRequestOut.model_validate_json(
            self._call("POST", f"/requests/{request_id}/cancel", give_up_at)
        )


def _retry_after(reply: httpx.Response, default: float) -> float:
    try:
        return min(RETRY_AFTER_MAX_S, max(0.05, float(reply.headers.get("Retry-After", default))))
    except ValueError:
        return default


FLEX_WAIT_S = 30.0  # real seconds a request waits for deliverable flexibility before it is skipped


class GridOperator:
    def __init__(
        self,
        scenario: RequestPlan,
        client: AggregatorClient,
        real_start: float,
        deployment: Deployment | None = None,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        flex_wait_s: float = FLEX_WAIT_S,
    ) -> None:
        self.scenario = scenario
        self.flex_wait_s = flex_wait_s
        self.client = client
        self.real_start = real_start
        self.d = deployment
        self._wall, self._sleep = wall, sleep
        self.sent: list[Sent] = []
        self.deadline: float | None = None

    def run(self, settle_timeout_s: float = 600.0) -> list[Sent]:
        """Sends every planned request, then waits until each is final (settled, cancelled, closed or
        failed). The aggregator being busy or unreachable is waited out (the client retries); what is
        still not final `settle_timeout_s` after the last request is cancelled if it has not started,
        else recorded with its state and why."""
        planned_all = plan_requests(self.scenario)
        last_due = max((self._due(p.at_s) for p in planned_all), default=self._wall())
        deadline = self.deadline = max(last_due, self._wall()) + settle_timeout_s
        for planned in planned_all:
            self._wait_sim(planned.at_s)
            self.sent.append(self._send(planned))
        self._await_final(deadline)
        self._read_chain()
        return self.sent

    def _due(self, at_s: float) -> float:
        return self.real_start + at_s / self.scenario.speed

    def _wait_sim(self, at_s: float) -> None:
        due = self.real_start + at_s / self.scenario.speed
        while (left := due - self._wall()) > 0:
            self._sleep(min(left, 1.0))

    def _deliverable(self, planned: PlannedRequest) -> int:
        """What the online prosumers say they can deliver now in the request's direction (what a
        request is sized against, not what is contracted). None deliverable yet (the fleet is still
        registering, every prosumer declined to declare): asked again every second for at most
        `flex_wait_s` real seconds before the request is skipped."""
        up = DirectionName(planned.direction) == DirectionName.UP
        give_up = self._wall() + self.flex_wait_s
        while True:
            overview = self.client.overview(self.deadline)
            available = overview.deliverable_up_w if up else overview.deliverable_down_w
            if available > 0 or self._wall() >= give_up:
                return available
            self._sleep(1.0)

    def _send(self, planned: PlannedRequest) -> Sent:
        try:
            available = self._deliverable(planned)
        except GridError as exc:
            log.error("request %d not sent: %s", planned.index, exc)
            return Sent(planned, 0, 0, sent_real=self._wall(), error=str(exc))
        sent = Sent(planned, power_for(planned, available), available, sent_real=self._wall())
        if available <= 0:
            sent.error = "no flexibility deliverable"
            log.warning(
                "request %d skipped: no %s flexibility deliverable now", planned.index, planned.direction
            )
            return sent
        try:
            reply = self.client.submit(
                FlexRequestIn(
                    direction=DirectionName(planned.direction),
                    power_w=sent.power_w,
                    duration_s=planned.duration_s,
                    lead_time_s=planned.lead_time_s,
                ),
                self.deadline,
            )
        except GridError as exc:
            sent.error = str(exc)
            log.error("request %d refused: %s", planned.index, exc)
            return sent
        sent.request_id = reply.id
        log.info(
            "request %d sent as %s: %d W %s", planned.index, sent.request_id, sent.power_w, planned.direction
        )
        return sent

    def _await_final(self, deadline: float) -> None:
        waiting = [s for s in self.sent if s.request_id is not None]
        while waiting and self._wall() < deadline:
            for s in list(waiting):
                assert s.request_id is not None
                try:
                    reply = self.client.get(s.request_id, deadline)
                except GridError as exc:
                    log.warning("request %s: %s", s.request_id, exc)
                    break
                s.final = reply
                if reply.status in FINAL_STATES:
                    waiting.remove(s)
            if waiting:
                self._sleep(1.0)
        for s in waiting:
            self._close_late(s)

    def _close_late(self, s: Sent) -> None:
        """After the settle timeout: cancels a request that has not started; else says where it is."""
        assert s.request_id is not None
        try:
            s.final = self.client.cancel(s.request_id, self._wall() + CLOSE_PATIENCE_S)
            log.warning("request %s not final after the settle timeout: cancelled", s.request_id)
            return
        except GridError as exc:
            why = str(exc)
        state = s.final.status if s.final is not None else "unknown"
        s.error = f"not final after the settle timeout (last seen {state}); not cancelled: {why}"
        log.warning("request %s %s", s.request_id, s.error)

    def _read_chain(self) -> None:
        """The aggregate result of each settled request, read from the chain, not the aggregator."""
        if self.d is None:
            return
        for s in self.sent:
            if s.final is None or s.final.chain_request_id is None:
                continue
            if s.final.status in (RequestState.SETTLED, RequestState.CLOSED):  # closed: what was recorded
                r = self.d.market.result(s.final.chain_request_id)
                s.chain_result = {
                    "requested_wh": r.requested_wh,
                    "committed_wh": r.committed_wh,
                    "delivered_wh": r.delivered_wh,
                    "participants": r.participants,
                    "compliant": r.compliant,
                    "paid": str(r.paid),
                }


def write_results(sent: list[Sent], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "planned": s.planned.as_dict(),
            "power_w": s.power_w,
            "available_w": s.available_w,
            "request_id": s.request_id,
            "sent_real": s.sent_real,
            "error": s.error,
            "aggregator": s.final.model_dump(mode="json", exclude={"responses"}) if s.final else {},
            "responses": [r.model_dump(mode="json") for r in s.final.responses] if s.final else [],
            "chain": s.chain_result,
        }
        for s in sent
    ]
    path.write_text(json.dumps(rows, indent=1, default=str))
    return path


def connect_chain(rpc_url: str, manifest: Path) -> Deployment | None:
    if not rpc_url:
        return None
    if not manifest.is_file():
        raise ConfigError(
            f"GRID_MANIFEST={manifest} does not exist: deploy first or point it at the manifest"
        )
    return Deployment.load(manifest, ChainSettings(), rpc_url=rpc_url)
