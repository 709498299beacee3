"""Request body limits over real HTTP: 413 before an oversized body is read, declared or chunked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.settings import AggregatorSettings
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login, make_settings
from tests.aggregator.live import client, raw_request, serve

MIB = 1024 * 1024


@pytest.fixture
def live(tmp_path: Path, fleet: Fleet) -> Iterator[str]:
    with serve(create_app(make_settings(tmp_path), registry_view=fleet.registry)) as base:
        yield base


def status_and_body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def stored(base: str) -> int:
    with client(base) as c:
        return int(c.get("/readings", headers=bearer(GRID)).json()["count"])


@pytest.mark.parametrize("path", ["/auth/challenge", "/readings/batch", "/readings", "/requests"])
def test_a_declared_64_mib_body_is_refused_before_a_byte_is_sent(live: str, fleet: Fleet, path: str) -> None:
    with client(live) as c:
        token = login(c, fleet.solar)["Authorization"]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {64 * MIB}\r\n"
    ).encode()
    status, body = status_and_body(raw_request(live, head))  # no body sent at all: the answer comes first
    assert status == 413 and body["error"] == "too_large" and "bytes" in body["detail"]
    assert stored(live) == 0


def test_a_chunked_body_is_refused_as_soon_as_it_crosses_the_limit(live: str, fleet: Fleet) -> None:
    with client(live) as c:
        token = login(c, fleet.solar)["Authorization"]
    limit = AggregatorSettings(_env_file=None).batch_body_bytes  # type: ignore[call-arg]
    piece = b'{"readings": [' + b" " * (64 * 1024 - 14)
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)]
    filler = b" " * (64 * 1024)
    chunks += [b"%x\r\n%s\r\n" % (len(filler), filler)] * (limit // len(filler) + 1)
    head = (
        f"POST /readings/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    ).encode()
    # The body never ends (no last chunk): a server that read it whole before answering would hang here.
    status, body = status_and_body(raw_request(live, head, chunks))
    assert status == 413 and body["error"] == "too_large"
    assert stored(live) == 0


def test_a_full_batch_of_the_largest_readings_fits_the_default_limit(live: str, fleet: Fleet) -> None:
    settings = AggregatorSettings(_env_file=None)  # type: ignore[call-arg]
    now = datetime.now(UTC)
    reading = {
        "seq": 1_764_000_000_000,
        "timestamp": now.isoformat(),  # microseconds and +00:00
        "power_w": -1234.567890123456,
        "energy_wh": -123456789.12345678,
        "soc": None,
        "status": "modulating",
        "available_w": None,
    }
    first = int(reading["seq"])  # type: ignore[call-overload]
    batch = [{**reading, "seq": first + i} for i in range(settings.batch_max_items)]
    body = json.dumps({"readings": batch}).encode()  # json.dumps' spaces, as a plain client sends
    assert settings.max_body_bytes < len(body) <= settings.batch_body_bytes
    with client(live) as c:
        headers = {**login(c, fleet.consumer), "Content-Type": "application/json"}
        reply = c.post("/readings/batch", content=body, headers=headers)
    assert reply.status_code == 200 and reply.json()["stored"] == settings.batch_max_items


def test_limits_are_configurable_and_every_other_route_has_the_smaller_one(
    tmp_path: Path, fleet: Fleet
) -> None:
    settings = make_settings(tmp_path, max_body_bytes=2048, max_batch_body_bytes=4096)
    with TestClient(create_app(settings, registry_view=fleet.registry)) as api:
        headers = login(api, fleet.solar)
        padded = {"direction": "up", "power_w": 1000, "duration_s": 600, "strategy": None}
        big = json.dumps(padded).encode() + b" " * 3000
        reply = api.post(
            "/requests", content=big, headers={**bearer(GRID), "Content-Type": "application/json"}
        )
        assert reply.status_code == 413 and reply.headers["Connection"] == "close"
        assert api.get("/requests", headers=bearer(GRID)).json()["requests"] == []
        batch = b'{"readings": [' + b" " * 3000 + b"]}"
        answer = api.post(
            "/readings/batch", content=batch, headers={**headers, "Content-Type": "application/json"}
        )
        assert answer.status_code == 422  # 3 kB is under the batch route's 4 kB: parsed, and empty
        assert api.post("/readings/batch", content=batch + b" " * 2000, headers=headers).status_code == 413
