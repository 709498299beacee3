"""The grid operator's client under load, against a real HTTP server that misbehaves on purpose: it
backs off and retries (503 with Retry-After, a refused connection) instead of exiting, and a request
whose answer was lost is found, not sent twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aggregator.wire_market import DirectionName, FlexRequestIn, FlexRequestOut, RequestState
from contracts.anvil import free_port
from grid_operator.operator import AggregatorClient, GridError


def request_out(rid: int, body: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return FlexRequestOut(
        id=rid, direction=body["direction"], power_w=body["power_w"], duration_s=body["duration_s"],
        lead_time_s=body["lead_time_s"], strategy="fair", status=RequestState.QUEUED, chain_request_id=None,
        opened_tx=None, start=None, end=None, deadline=None, requested_wh=None, committed_wh=None,
        delivered_wh=None, participants=None, compliant=None, paid=None, created_at=now, updated_at=now,
        error=None,
    ).model_dump(mode="json")  # fmt: skip


class Aggregator(ThreadingHTTPServer):
    """Stores requests; `busy` answers 503 that many times first; `drop_next_answer` stores the next
    request and closes the connection without answering."""

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.requests: list[dict[str, Any]] = []
        self.busy = 0
        self.drop_next_answer = False
        self.calls: list[str] = []


class Handler(BaseHTTPRequestHandler):
    server: Aggregator

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self.server.calls.append(f"GET {self.path}")
        if self.server.busy > 0:
            self.server.busy -= 1
            self._send(503, {"error": "queue_full", "detail": "busy"}, {"Retry-After": "1"})
        elif self.path.startswith("/requests?"):
            self._send(200, {"requests": list(reversed(self.server.requests))})
        else:
            rid = int(self.path.rsplit("/", 1)[1])
            self._send(200, self.server.requests[rid - 1])

    def do_POST(self) -> None:  # noqa: N802
        self.server.calls.append(f"POST {self.path}")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        stored = request_out(len(self.server.requests) + 1, body)
        self.server.requests.append(stored)
        if self.server.drop_next_answer:
            self.server.drop_next_answer = False
            self.close_connection = True
            self.connection.shutdown(2)  # stored, but the answer is lost
            return
        self._send(200, stored)


@pytest.fixture
def port() -> int:
    return free_port()


def serve(port: int) -> Aggregator:
    server = Aggregator(port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def aggregator(port: int) -> Iterator[Aggregator]:
    server = serve(port)
    yield server
    server.shutdown()
    server.server_close()


REQUEST = FlexRequestIn(direction=DirectionName.UP, power_w=5_000, duration_s=600, lead_time_s=900)


def test_a_busy_aggregator_is_waited_out_with_its_retry_after(aggregator: Aggregator, port: int) -> None:
    slept: list[float] = []
    client = AggregatorClient(f"http://127.0.0.1:{port}", "token", timeout_s=5, sleep=slept.append)
    first = client.submit(REQUEST)
    aggregator.busy = 7  # more 503s than the old client's six attempts
    assert client.get(first.id).id == first.id
    assert slept == [1.0] * 7 and client.retries == 7


def test_an_unreachable_aggregator_is_retried_until_it_answers(port: int) -> None:
    started: list[Aggregator] = []
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        if len(slept) == 8:  # the aggregator comes back after eight failed attempts
            started.append(serve(port))

    client = AggregatorClient(f"http://127.0.0.1:{port}", "token", timeout_s=5, sleep=sleep)
    try:
        assert client.submit(REQUEST).id == 1
    finally:
        for s in started:
            s.shutdown()
            s.server_close()
    assert slept == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]  # backoff, capped


def test_a_request_whose_answer_was_lost_is_found_not_sent_twice(aggregator: Aggregator, port: int) -> None:
    client = AggregatorClient(f"http://127.0.0.1:{port}", "token", timeout_s=5, sleep=lambda s: None)
    aggregator.drop_next_answer = True
    sent = client.submit(REQUEST)
    assert sent.id == 1 and len(aggregator.requests) == 1
    assert aggregator.calls == ["POST /requests", "GET /requests?limit=20"]


def test_a_deadline_ends_the_retries_with_an_error_that_says_so(aggregator: Aggregator, port: int) -> None:
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    client = AggregatorClient(
        f"http://127.0.0.1:{port}", "token", timeout_s=5, sleep=sleep, wall=lambda: now[0]
    )
    first = client.submit(REQUEST)
    aggregator.busy = 100
    with pytest.raises(GridError, match="busy"):
        client.get(first.id, give_up_at=10.0)
    assert now[0] <= 10.0 and client.retries == 10
