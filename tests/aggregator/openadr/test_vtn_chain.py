"""The VTN on a real anvil chain over real HTTP: an OpenADR event with two capacity intervals becomes two
flexibility requests that the dispatcher opens one after the other, scripted prosumers accept them on
chain and deliver (readings in the aggregator's store), both settle, and the business-logic client reads
the event's report. Deleting an event whose request has started is refused with 409 and the reason.

The simulated clock runs 300x: a 15-minute interval lasts 3 real seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.app import create_app
from aggregator.chainsync import ChainSync
from aggregator.context import AppContext, Service
from aggregator.control import ChainRequestControl
from aggregator.dispatch import Dispatcher
from aggregator.openadr import PREFIX
from aggregator.openadr.vtn import OpenadrService
from aggregator.planning import DispatchPolicy
from aggregator.registry import TrustedRegistryView
from contracts.anvil import dev_keys, start_anvil
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import SourceKind, Terms
from simulation.bootstrap import deploy_new
from tests.aggregator.factories import GRID, bearer, make_settings
from tests.aggregator.live import client, serve
from tests.aggregator.openadr.factories import make_event, make_program
from tests.aggregator.openadr.spec import errors
from tests.contracts.consent import register as consented_register

pytestmark = [pytest.mark.chain, pytest.mark.slow]

SPEED = 300.0
POLICY = DispatchPolicy(baseline_margin_s=900.0, reading_grace_s=0.5, poll_s=0.1)
BASE_W = 3_000.0
NOW = "0001-01-01T00:00:00Z"  # the specification's 'now'


@dataclass
class Vtn:
    d: Deployment
    prosumers: list[Sender]
    ctx: AppContext
    http: httpx.Client
    auth: dict[str, str]


@pytest.fixture
def vtn(tmp_path: Path) -> Iterator[Vtn]:
    with start_anvil() as anvil:
        d, aggregator = deploy_new(anvil.rpc_url)
        prosumers = [Sender(d.chain, k) for k in dev_keys(10)[4:7]]
        expiry = int(d.chain.w3.eth.get_block("latest")["timestamp"]) + 86_400
        for p in prosumers:
            terms = Terms(SourceKind.SOLAR, 8_000, 20_000, 2_000, 2_000, 7_200, 2 * 10**17, 10**17)
            consented_register(d.registry, p, terms, expiry)
        settings = make_settings(
            tmp_path, sim_start=datetime.now(UTC), sim_speed=SPEED, openadr_min_lead_s=900
        )
        dispatcher = Dispatcher(d, aggregator, POLICY, block_time_s=1.0)
        services: list[Service] = [ChainSync(d, poll_s=0.1), dispatcher, OpenadrService(poll_s=0.2)]
        app = create_app(settings, registry_view=TrustedRegistryView({}), services=services)
        ctx: AppContext = app.state.ctx
        ctx.control = ChainRequestControl(ctx.requests, d, aggregator, ctx.clock, POLICY, lambda: 1.0)
        with serve(app) as base, client(base) as http:
            token = http.post(
                f"{PREFIX}/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "grid-operator",
                    "client_secret": GRID,
                },
            ).json()["access_token"]
            yield Vtn(d, prosumers, ctx, http, bearer(token))


class Prosumers(threading.Thread):
    """Scripted prosumers: each accepts every request that opens and delivers its share (readings every
    10 simulated seconds from 15 minutes before the window to 15 minutes after it)."""

    def __init__(self, v: Vtn) -> None:
        super().__init__(daemon=True)
        self.v, self.stop, self.answered = v, threading.Event(), set[int]()

    def run(self) -> None:
        while not self.stop.is_set():
            for req in self.v.ctx.requests.list("open"):
                if req.chain_request_id is None or req.id in self.answered:
                    continue
                self.answered.add(req.id)
                for p in self.v.prosumers:
                    self.v.d.market.accept(p, req.chain_request_id)
                    assert req.start is not None and req.end is not None
                    self._deliver(p, req.start, req.end, req.power_w / len(self.v.prosumers), req.direction)
            time.sleep(0.1)

    def _deliver(self, p: Sender, start: int, end: int, share_w: float, direction: str) -> None:
        clock = self.v.ctx.clock.clock
        s0, s1 = clock.sim_time(start).timestamp(), clock.sim_time(end).timestamp()
        sign = 1.0 if direction == "up" else -1.0
        rows, t, seq = [], s0 - 900, self.v.ctx.store.last_seq(p.address.lower()) or 0
        while t < s1 + 900:
            seq += 1
            power = BASE_W + (sign * share_w if s0 <= t < s1 else 0.0)
            rows.append(
                (p.address.lower(), seq, t, int(SourceKind.SOLAR), power, 0.0, None, 0, time.time(), None)
            )
            t += 10
        self.v.ctx.store.insert(rows)


def wait_for(what: str, check: Any, timeout_s: float = 120.0) -> Any:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_event_settles_on_chain_and_the_report_says_what_was_delivered(vtn: Vtn) -> None:
    v = vtn
    program = v.http.post(f"{PREFIX}/programs", json=make_program(), headers=v.auth).json()
    body = make_event(program["id"], NOW, 3, 1.5, duration="PT15M")
    event = v.http.post(f"{PREFIX}/events", json=body, headers=v.auth)
    assert event.status_code == 201, event.text
    event_id = event.json()["id"]
    prosumers = Prosumers(v)
    prosumers.start()
    try:
        report = wait_for(
            "the event's report",
            lambda: v.http.get(f"{PREFIX}/reports", params={"eventID": event_id}, headers=v.auth).json(),
            timeout_s=180,
        )[0]
    finally:
        prosumers.stop.set()
    first, second = v.ctx.requests.list()[::-1]
    assert (first.status, second.status) == ("settled", "settled"), (first.error, second.error)
    assert (first.power_w, second.power_w) == (3_000, 1_500)
    assert first.chain_request_id is not None and second.chain_request_id == first.chain_request_id + 1
    assert first.end is not None and second.start is not None and second.start > first.end  # one at a time
    for req in (first, second):
        result = v.d.market.result(req.chain_request_id)  # type: ignore[arg-type]
        assert (result.participants, result.compliant) == (3, 3)

    assert errors("report", report) == [] and report["objectType"] == "REPORT"
    assert report["eventID"] == event_id and report["clientID"] == "flexsim-aggregator"
    aggregated = report["resources"][0]
    assert aggregated["resourceName"] == "AGGREGATED_REPORT" and len(aggregated["intervals"]) == 2
    for interval, req in zip(aggregated["intervals"], (first, second), strict=True):
        values = {p["type"]: p["values"] for p in interval["payloads"]}
        assert values["REQUEST_STATUS"] == ["settled"] and values["FLEXIBILITY_REQUEST"] == [req.id]
        assert values["REQUESTED_POWER"] == [req.power_w / 1000]
        assert values["DELIVERED_POWER"][0] == pytest.approx(req.power_w / 1000, rel=0.02)
        assert values["COMPLIANCE"][0] == pytest.approx(100, abs=2)
        assert values["PARTICIPANTS"] == [3] and values["COMPLIANT_PARTICIPANTS"] == [3]
    # chain sync adds each prosumer's delivery; the report is updated with them
    report = wait_for(
        "the participants in the report",
        lambda: [
            r for r in v.http.get(f"{PREFIX}/reports", headers=v.auth).json() if len(r["resources"]) == 4
        ],
    )[0]
    names = sorted(r["resourceName"] for r in report["resources"][1:])
    assert names == sorted(p.address.lower() for p in v.prosumers)
    for resource in report["resources"][1:]:
        assert [
            {p["type"]: p["values"] for p in i["payloads"]}["COMPLIANT"] for i in resource["intervals"]
        ] == [[True]] * 2


def test_an_event_cannot_be_deleted_once_its_request_started(vtn: Vtn) -> None:
    v = vtn
    program = v.http.post(f"{PREFIX}/programs", json=make_program(), headers=v.auth).json()
    event = v.http.post(
        f"{PREFIX}/events", json=make_event(program["id"], NOW, 2, duration="PT30M"), headers=v.auth
    ).json()
    prosumers = Prosumers(v)
    prosumers.start()
    try:
        req = wait_for("the request's window", lambda: [r for r in v.ctx.requests.list("delivering")])[0]
        reply = v.http.delete(f"{PREFIX}/events/{event['id']}", headers=v.auth)
        assert reply.status_code == 409, reply.text
        assert (
            f"request {req.id} of this event" in reply.json()["detail"]
            and errors("problem", reply.json()) == []
        )
        assert v.http.get(f"{PREFIX}/events/{event['id']}", headers=v.auth).status_code == 200  # still there
        changed = make_event(program["id"], NOW, 4, duration="PT30M")
        assert v.http.put(f"{PREFIX}/events/{event['id']}", json=changed, headers=v.auth).status_code == 409
        wait_for("settlement", lambda: v.ctx.requests.get(req.id).status == "settled")
    finally:
        prosumers.stop.set()
