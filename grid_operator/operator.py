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
from aggregator.wire_market import FINAL_STATES, DirectionName, FlexRequestIn, FlexRequestOut, RequestState
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


class AggregatorClient:
    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )

    def _call(self, method: str, path: str, **kw: Any) -> bytes:
        delay = 0.25
        for attempt in range(6):
            try:
                reply = self.http.request(method, path, **kw)
            except httpx.TransportError as exc:
                if attempt == 5:
                    raise GridError(f"aggregator at {self.http.base_url} unreachable: {exc}") from exc
                time.sleep(delay)
                delay *= 2
                continue
            if reply.status_code in (429, 503) and attempt < 5:
                time.sleep(float(reply.headers.get("Retry-After", delay)))
                continue
            if reply.status_code >= 400:
                raise GridError(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
            return reply.content
        raise GridError(f"{method} {path}: aggregator kept answering 503")

    def overview(self) -> OverviewOut:
        return OverviewOut.model_validate_json(self._call("GET", "/overview"))

    def submit(self, request: FlexRequestIn) -> FlexRequestOut:
        body = request.model_dump(mode="json", exclude_none=True)
        return FlexRequestOut.model_validate_json(self._call("POST", "/requests", json=body))

    def get(self, request_id: int) -> FlexRequestOut:
        return FlexRequestOut.model_validate_json(self._call("GET", f"/requests/{request_id}"))


class GridOperator:
    def __init__(
        self,
        scenario: RequestPlan,
        client: AggregatorClient,
        real_start: float,
        deployment: Deployment | None = None,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.scenario = scenario
        self.client = client
        self.real_start = real_start
        self.d = deployment
        self._wall, self._sleep = wall, sleep
        self.sent: list[Sent] = []

    def run(self, settle_timeout_s: float = 600.0) -> list[Sent]:
        for planned in plan_requests(self.scenario):
            self._wait_sim(planned.at_s)
            self.sent.append(self._send(planned))
        self._await_final(self._wall() + settle_timeout_s)
        self._read_chain()
        return self.sent

    def _wait_sim(self, at_s: float) -> None:
        due = self.real_start + at_s / self.scenario.speed
        while (left := due - self._wall()) > 0:
            self._sleep(min(left, 1.0))

    def _send(self, planned: PlannedRequest) -> Sent:
        overview = self.client.overview()
        up = DirectionName(planned.direction) == DirectionName.UP
        available = overview.deliverable_up_w if up else overview.deliverable_down_w  # sized on what can
        # be delivered now (what the online prosumers declare), not on what is contracted
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
                )
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
                reply = self.client.get(s.request_id)
                if reply.status in FINAL_STATES:
                    s.final = reply
                    waiting.remove(s)
            if waiting:
                self._sleep(1.0)
        for s in waiting:
            assert s.request_id is not None
            s.final = self.client.get(s.request_id)
            log.warning("request %s not final after the timeout: %s", s.request_id, s.final.status)

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
