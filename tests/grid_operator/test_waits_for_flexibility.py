"""A request waits, a bounded time, for deliverable flexibility: a fleet still registering when the
first request is due does not make the grid operator skip it (`GRID_FLEX_WAIT_S`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from contracts.anvil import free_port
from domain.request_process import PlannedRequest
from grid_operator.operator import AggregatorClient, GridOperator
from grid_operator.plan import RequestPlan
from tests.grid_operator.test_client import request_out

PLANNED = PlannedRequest(index=0, at_s=0.0, direction="up", size=0.5, lead_time_s=900, duration_s=600)


class Aggregator(ThreadingHTTPServer):
    """`/overview` says nothing is deliverable for its first `empty` answers, then 8 kW up."""

    def __init__(self, port: int, empty: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.empty = empty
        self.overviews = 0
        self.posted: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    server: Aggregator

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self.server.overviews += 1
        deliverable = 0 if self.server.overviews <= self.server.empty else 8_000
        self._send({
            "at": datetime.now(UTC).isoformat(), "production_w": 0.0, "consumption_w": 0.0, "net_w": 0.0,
            "flex_up_w": 8_000, "flex_down_w": 0, "prosumers_online": 2, "incidents": 0, "by_kind": {},
            "deliverable_up_w": deliverable, "deliverable_down_w": 0,
        })  # fmt: skip

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posted.append(body)
        self._send(request_out(len(self.server.posted), body))


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Aggregator] = []

    def start(empty: int) -> Aggregator:
        server = Aggregator(free_port(), empty)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def operator(server: Aggregator, flex_wait_s: float) -> GridOperator:
    client = AggregatorClient(f"http://127.0.0.1:{server.server_address[1]}", "t" * 43)
    plan = RequestPlan(seed=1, duration_s=3600)
    naps: list[float] = []
    return GridOperator(plan, client, 0.0, sleep=naps.append, flex_wait_s=flex_wait_s)


def test_a_request_due_before_the_fleet_declares_waits_for_it_and_is_sent(serve: Any) -> None:
    server = serve(empty=3)
    sent = operator(server, flex_wait_s=30.0)._send(PLANNED)
    assert sent.error is None and sent.request_id == 1
    assert server.overviews == 4 and server.posted[0]["power_w"] == 4_000  # half of the 8 kW


def test_with_nothing_deliverable_for_the_whole_wait_the_request_is_skipped_and_says_why(serve: Any) -> None:
    server = serve(empty=10**6)
    sent = operator(server, flex_wait_s=0.0)._send(PLANNED)
    assert sent.error == "no flexibility deliverable" and sent.request_id is None and not server.posted
