"""The hot path (`aggregator.api.reading_path`) answers POST /readings and POST /readings/batch exactly as
the FastAPI routes do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from aggregator.api.reading_path import ReadingPath
from aggregator.app import create_app
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login, make_reading, make_settings

NOW = datetime.now(UTC)
# (name, body, headers beyond the prosumer's token or in its place); run in this order on both apps
CASES: list[tuple[str, Any, dict[str, str] | None]] = [
    ("stored", make_reading(1), None),
    ("duplicate", make_reading(1), None),
    ("next", make_reading(2, power_w=-100.0), None),
    ("no token", make_reading(3), {}),
    ("not bearer", make_reading(3), {"Authorization": "Basic abc"}),
    ("unknown token", make_reading(3), bearer("not-a-token")),
    ("grid token", make_reading(3), bearer(GRID)),
    ("not json", b"{not json", None),
    ("strict types", {**make_reading(3), "power_w": "lots"}, None),
    ("unknown field", {**make_reading(3), "colour": "red"}, None),
    ("too much power", make_reading(3, power_w=12_001.0), None),
    ("from the future", make_reading(3, at=NOW + timedelta(hours=2)), None),
    ("soc of a solar", make_reading(3, soc=0.5), None),
    ("too large", b"{" + b" " * 70_000 + b"}", None),
]
# the same for POST /readings/batch
BATCH_CASES: list[tuple[str, Any, dict[str, str] | None]] = [
    ("batch stored", {"readings": [make_reading(10), make_reading(11)]}, None),
    ("batch duplicate and new", {"readings": [make_reading(10), make_reading(12)]}, None),
    ("batch item rejected", {"readings": [make_reading(13, power_w=12_001.0), make_reading(14)]}, None),
    ("batch item malformed", {"readings": [{"seq": 15}, make_reading(16)]}, None),
    ("batch empty", {"readings": []}, None),
    ("batch other field", {"readings": [make_reading(17)], "colour": "red"}, None),
    ("batch not json", b"{not json", None),
    ("batch not utf-8", b'{"readings": [\xff\xfe]}', None),
    ("batch absurd seq", {"readings": [{**make_reading(19), "seq": 10**30}]}, None),
    ("batch not a list", {"readings": {"seq": 19}}, None),
    ("batch no token", {"readings": [make_reading(18)]}, {}),
    ("batch grid token", {"readings": [make_reading(18)]}, bearer(GRID)),
]


def _answer(
    client: TestClient, body: Any, headers: dict[str, str], path: str = "/readings"
) -> tuple[int, Any, dict[str, str]]:
    if isinstance(body, bytes):
        reply = client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
    else:
        reply = client.post(path, json=body, headers=headers)
    kept = {k: v for k, v in reply.headers.items() if k in ("content-type", "www-authenticate", "connection")}
    return reply.status_code, reply.json(), kept


def _answers(client: TestClient, token: dict[str, str]) -> list[tuple[str, tuple[int, Any, dict[str, str]]]]:
    single = [(name, _answer(client, body, token if h is None else h)) for name, body, h in CASES]
    batch = [
        (name, _answer(client, body, token if h is None else h, "/readings/batch"))
        for name, body, h in BATCH_CASES
    ]
    return single + batch


@pytest.fixture
def route_only(tmp_path: Path, fleet: Fleet) -> Iterator[TestClient]:
    """The app with the hot path taken out: FastAPI's route answers."""
    app = create_app(make_settings(tmp_path / "route"), registry_view=fleet.registry)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not ReadingPath]
    with TestClient(app) as client:
        yield client


@pytest.fixture
def served(tmp_path: Path, fleet: Fleet) -> Iterator[tuple[FastAPI, TestClient]]:
    """The app as built, with its lifespan (the writer) running."""
    app = create_app(make_settings(tmp_path / "hot"), registry_view=fleet.registry)
    with TestClient(app) as client:
        yield app, client


def test_the_hot_path_answers_as_the_route(
    served: tuple[FastAPI, TestClient], route_only: TestClient, fleet: Fleet
) -> None:
    app, client = served
    assert [getattr(m.cls, "__name__", "") for m in app.user_middleware] == ["BodyLimit", "ReadingPath"]

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError(f"{scope['method']} {scope['path']} reached the router")

    limit = app.user_middleware[0]  # the app's own BodyLimit, around the hot path alone
    hot = limit.cls(ReadingPath(refuse), *limit.args, **limit.kwargs)

    async def probe(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it before the middleware
        await hot(scope, receive, send)

    hot_answers = _answers(TestClient(probe), login(client, fleet.solar))
    route_answers = _answers(route_only, login(route_only, fleet.solar))
    for (name, got), (_, want) in zip(hot_answers, route_answers, strict=True):
        assert got == want, name
    statuses = {name: got[0] for name, got in hot_answers}
    assert statuses["stored"] == statuses["duplicate"] == 200
    assert hot_answers[1][1][1] == {"seq": 1, "status": "duplicate"}
    assert (statuses["no token"], statuses["grid token"], statuses["not json"]) == (401, 403, 422)
    assert (statuses["too much power"], statuses["too large"]) == (422, 413)
    batch = {name: got for name, got in hot_answers if name.startswith("batch")}
    assert batch["batch stored"][1]["stored"] == 2
    assert (
        batch["batch duplicate and new"][1]["stored"],
        batch["batch duplicate and new"][1]["duplicates"],
    ) == (1, 1)
    assert [i["status"] for i in batch["batch item rejected"][1]["items"]] == ["rejected", "stored"]
    assert [i["status"] for i in batch["batch item malformed"][1]["items"]] == ["rejected", "stored"]
    assert [batch[n][0] for n in ("batch empty", "batch other field", "batch not json")] == [422] * 3
    assert (batch["batch no token"][0], batch["batch grid token"][0]) == (401, 403)


def test_other_requests_go_on_to_the_router(served: tuple[FastAPI, TestClient]) -> None:
    _, client = served
    assert client.get("/readings", headers=bearer(GRID)).status_code == 200
    assert client.put("/readings", json={}).status_code == 405
    assert client.post("/readings/roots", json={}).status_code == 401
