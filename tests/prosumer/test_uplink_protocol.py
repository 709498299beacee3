"""The uplink's HTTP protocol against a scripted server: login, batches, 401, 503 + Retry-After,
rejected readings, and a stop that flushes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from prosumer.uplink import ReadingBuffer, Uplink, availability_news
from tests.prosumer.conftest import wait_for
from tests.prosumer.factories import make_reading

ACCOUNT = Account.create()
KEY = "0x" + ACCOUNT.key.hex().removeprefix("0x")
LATER = (datetime.now(UTC) + timedelta(hours=1)).isoformat()


class Server:
    """Answers like the aggregator; `readings` decides each readings answer (default: stored)."""

    def __init__(self, readings: Callable[[httpx.Request, int], httpx.Response] | None = None) -> None:
        self.calls: list[tuple[float, str, httpx.Request]] = []
        self.stored: list[int] = []
        self.logins = 0
        self.readings = readings
        self.declared: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append((time.monotonic(), path, request))
        if path == "/auth/challenge":
            return httpx.Response(200, json={
                "address": ACCOUNT.address, "nonce": "n1", "message": "sign me", "expires_at": LATER,
            })  # fmt: skip
        if path == "/auth/login":
            body = json.loads(request.content)
            signer = Account.recover_message(encode_defunct(text="sign me"), signature=body["signature"])
            assert signer == ACCOUNT.address
            self.logins += 1
            return httpx.Response(200, json={
                "access_token": f"t{self.logins}", "token_type": "bearer", "expires_at": LATER,
                "address": ACCOUNT.address,
            })  # fmt: skip
        if path == "/availability":
            body = json.loads(request.content)
            self.declared.append((body["up_w"], body["down_w"]))
            return httpx.Response(200, json=body)
        n = sum(1 for _, p, _ in self.calls if p.startswith("/readings"))
        if self.readings is not None:
            return self.readings(request, n)
        return self.store(request)

    def store(self, request: httpx.Request, reject: frozenset[int] = frozenset()) -> httpx.Response:
        body = json.loads(request.content)
        items = body["readings"] if "readings" in body else [body]
        acks = []
        for i, item in enumerate(items):
            if item["seq"] in reject:
                acks.append({"index": i, "seq": item["seq"], "status": "rejected", "reason": "bad"})
            else:
                self.stored.append(item["seq"])
                acks.append({"index": i, "seq": item["seq"], "status": "stored", "reason": None})
        if "readings" not in body:
            return httpx.Response(200, json={"seq": items[0]["seq"], "status": "stored"})
        stored = sum(a["status"] == "stored" for a in acks)
        return httpx.Response(
            200, json={"stored": stored, "duplicates": 0, "rejected": len(acks) - stored, "items": acks}
        )


def uplink(server: Server, buffer: ReadingBuffer, batch: int = 100) -> Uplink:
    client = httpx.Client(base_url="http://aggregator", transport=httpx.MockTransport(server))
    return Uplink("http://aggregator", KEY, buffer, batch=batch, client=client)


def test_one_reading_posts_alone_many_go_in_batches_with_the_token() -> None:
    server, buffer = Server(), ReadingBuffer(100)
    up = uplink(server, buffer, batch=4)
    buffer.put(make_reading(1))
    assert up.send_once() == 1
    for seq in range(2, 12):
        buffer.put(make_reading(seq))
    while len(buffer):
        up.send_once()
    paths = [p for _, p, _ in server.calls]
    assert paths == ["/auth/challenge", "/auth/login", "/readings", *["/readings/batch"] * 3]
    assert server.stored == list(range(1, 12))
    assert all(r.headers["Authorization"] == "Bearer t1" for _, p, r in server.calls if "readings" in p)


@pytest.mark.parametrize("busy", [503, 429])
def test_401_logs_in_again_and_503_or_429_waits_retry_after(busy: int) -> None:
    def answers(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(401, json={"error": "unauthorized", "detail": "expired"})
        if n == 2:
            return httpx.Response(busy, headers={"Retry-After": "0.4"}, json={"error": "busy", "detail": ""})
        return server.store(request)

    server, buffer = Server(answers), ReadingBuffer(100)
    up = uplink(server, buffer)
    buffer.put(make_reading(1))
    up.start()
    try:
        wait_for(lambda: server.stored == [1], 5, "the reading to be stored")
    finally:
        up.stop(1.0)
    assert server.logins == 2
    times = {n: t for n, (t, p, _) in enumerate(c for c in server.calls if c[1] == "/readings")}
    assert times[2] - times[1] >= 0.35  # waited what Retry-After said


def test_rejected_readings_are_dropped_with_their_reason(caplog: pytest.LogCaptureFixture) -> None:
    server = Server(lambda request, n: server.store(request, reject=frozenset({3})))
    buffer = ReadingBuffer(100)
    up = uplink(server, buffer)
    for seq in range(1, 6):
        buffer.put(make_reading(seq))
    assert up.send_once() == 5 and len(buffer) == 0
    assert server.stored == [1, 2, 4, 5]
    assert any("rejected reading 3: bad" in m for m in caplog.messages)


def test_an_invalid_reading_never_enters_the_buffer(caplog: pytest.LogCaptureFixture) -> None:
    buffer = ReadingBuffer(10)
    buffer.put(make_reading(1, power_w=float("nan")))
    assert len(buffer) == 0 and any("not valid on the wire" in m for m in caplog.messages)


def test_stop_flushes_what_it_can_then_reports_the_rest() -> None:
    def down(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    server, buffer = Server(down), ReadingBuffer(100)
    up = uplink(server, buffer)
    for seq in range(1, 4):
        buffer.put(make_reading(seq))
    up.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    assert up.stop(0.5) == 3
    assert time.monotonic() - t0 < 2.0


def test_a_reading_is_serialised_once_to_what_the_server_validates() -> None:
    from aggregator.wire import ReadingIn

    for reading in (make_reading(7), make_reading(8, soc=0.5, available_w=1200.0, status="modulating")):
        body = reading.wire_json()
        assert body is not None
        assert ReadingIn.model_validate_json(body) == ReadingIn.model_validate_json(
            json.dumps(reading.wire())
        )
    assert make_reading(9, energy_wh=float("inf")).wire_json() is None


def test_the_sender_waits_for_a_few_readings_or_for_the_oldest_to_age() -> None:
    now = [100.0]
    buffer = ReadingBuffer(100, clock=lambda: now[0])
    buffer.put(make_reading(1))
    assert not buffer.wait(0.0, count=2, hold_s=1.5)  # one waits, and it is fresh: not yet
    buffer.put(make_reading(2))
    assert buffer.wait(0.0, count=2, hold_s=1.5)  # two wait: send them together
    buffer.ack(2)
    buffer.put(make_reading(3))
    now[0] += 1.5
    assert buffer.wait(0.0, count=2, hold_s=1.5)  # alone, but it has waited long enough
    assert [q.seq for q in buffer.peek(10)] == [3]


def test_a_pacing_uplink_sends_pairs_and_flushes_the_rest_at_stop() -> None:
    server, buffer = Server(), ReadingBuffer(100)
    client = httpx.Client(base_url="http://aggregator", transport=httpx.MockTransport(server))
    up = Uplink("http://aggregator", KEY, buffer, batch=100, client=client, every=2, hold_s=60.0)
    up.start()
    try:
        for seq in (1, 3):
            buffer.put(make_reading(seq))
            buffer.put(make_reading(seq + 1))
            wait_for(lambda: len(server.stored) >= 2, 5, "a pair to be sent")
            wait_for(lambda: not len(buffer), 5, "the pair to be acknowledged")
        buffer.put(make_reading(5))
    finally:
        up.stop(2.0)  # the fifth waits for a partner until the stop, then goes alone
    posts = [json.loads(r.content) for _, p, r in server.calls if p.startswith("/readings")]
    sizes = [len(b["readings"]) if "readings" in b else 1 for b in posts]
    assert server.stored == [1, 2, 3, 4, 5] and sizes == [2, 2, 1]


def test_availability_is_declared_when_it_is_news() -> None:
    assert availability_news(None, (5, 5), 0.0, 20.0, 0.02)  # nothing declared yet
    assert not availability_news((1000, 500), (1015, 495), 5.0, 20.0, 0.02)  # within 2 %
    assert availability_news((1000, 500), (1000, 489), 5.0, 20.0, 0.02)  # down moved by 2.2 %
    assert availability_news((1000, 500), (1000, 500), 20.0, 20.0, 0.02)  # due for a refresh
    assert availability_news((0, 0), (2, 0), 1.0, 20.0, 0.02)  # from nothing, any watt is news
    assert availability_news((1000, 500), (1001, 500), 1.0, 20.0, 0.0)  # tolerance 0: any change


def test_an_unchanged_availability_is_not_declared_again_until_it_changes() -> None:
    server, buffer = Server(), ReadingBuffer(100)
    up = uplink(server, buffer)
    now = [(1000, 500)]
    up.declare_availability(lambda: now[0], every_s=0.01, refresh_s=60.0, tolerance=0.02)
    buffer.put(make_reading(1))  # logs in: declarations need a session
    up.start()
    try:
        wait_for(lambda: server.declared == [(1000, 500)], 5, "the first declaration")
        buffer.put(make_reading(2))
        buffer.put(make_reading(3))
        wait_for(lambda: server.stored == [1, 2, 3], 5, "more readings")
        time.sleep(1.2)  # more turns of the uplink's loop, each asking the source
        assert server.declared == [(1000, 500)]
        now[0] = (1000, 400)
        wait_for(lambda: server.declared == [(1000, 500), (1000, 400)], 5, "the change to be declared")
    finally:
        up.stop(1.0)
