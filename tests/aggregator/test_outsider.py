"""An outsider's tour of the API with valid and hostile input: never a 5xx, never a lost reading.

Runs on SQLite and on PostgreSQL (the app's own URL, with a throwaway schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login, make_reading, make_settings

HOSTILE_READINGS: list[object] = [
    {},
    [],
    "reading",
    None,
    {"seq": 2**63, "timestamp": "2025-06-01T00:00:00Z", "power_w": 1.0, "energy_wh": 1.0},
    {"seq": 1, "timestamp": "0001-01-01T00:00:00Z", "power_w": 1.0, "energy_wh": 1.0},
    {"seq": 1, "timestamp": "9999-12-31T23:59:59Z", "power_w": 1.0, "energy_wh": 1.0},
    {"seq": 1, "timestamp": "2025-06-01T00:00:00+25:00", "power_w": 1.0, "energy_wh": 1.0},
    {"seq": 1, "timestamp": 1e300, "power_w": 1.0, "energy_wh": 1.0},
    {"seq": 1, "timestamp": "2025-06-01T00:00:00Z", "power_w": 1e308, "energy_wh": 1e308},
    {"seq": 1, "timestamp": "2025-06-01T00:00:00Z", "power_w": [1], "energy_wh": {"a": 1}},
    {"seq": "1" * 400, "timestamp": "2025-06-01T00:00:00Z", "power_w": 1.0, "energy_wh": 1.0},
    {"seq": 1, "timestamp": "\u0000", "power_w": 1.0, "energy_wh": 1.0, "status": "\ud7ff"},
]
RAW_BODIES = [
    b"",
    b"\xff\xfe\x00",
    b"null",
    b"1e999",
    b'{"readings": [' + b"[" * 2000 + b"]" * 2000 + b"]}",
    b'{"readings": [' + b"[" * 200_000 + b"]}",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def outsider_api(request: pytest.FixtureRequest, tmp_path: Path, fleet: Fleet) -> Iterator[TestClient]:
    overrides = {}
    if request.param == "postgresql":
        url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        overrides["database_url"] = f"{url}?options={quote('-csearch_path=' + schema)}"
    with TestClient(create_app(make_settings(tmp_path, **overrides), registry_view=fleet.registry)) as client:
        assert client.app.state.ctx.db.dialect == request.param  # type: ignore[attr-defined]
        yield client


def test_hostile_input_never_gets_a_5xx_and_loses_nothing(outsider_api: TestClient, fleet: Fleet) -> None:
    api = outsider_api
    me = login(api, fleet.solar)
    statuses = []
    for item in HOSTILE_READINGS:
        statuses.append(api.post("/readings", json=item, headers=me).status_code)
        batch = api.post(
            "/readings/batch", json={"readings": [item, make_reading(len(statuses))]}, headers=me
        )
        statuses.append(batch.status_code)
        assert batch.status_code == 200 and batch.json()["items"][1]["status"] == "stored", batch.text
    for body in RAW_BODIES:
        for path in ("/readings", "/readings/batch"):
            statuses.append(
                api.post(path, content=body, headers={**me, "Content-Type": "application/json"}).status_code
            )
    for path in ("/auth/challenge", "/auth/login", "/requests"):  # FastAPI parses these bodies itself
        for body in RAW_BODIES:
            headers = {**bearer(GRID), "Content-Type": "application/json"}
            statuses.append(api.post(path, content=body, headers=headers).status_code)
    for path, params in [
        ("/readings", {"limit": 10**12}),
        ("/readings", {"start": "0001-01-01T00:00:00Z", "resolution_s": 366 * 86_400}),
        ("/readings", {"prosumer": "0x" + "zz" * 20}),
        ("/readings.csv", {"kind": "solar", "incident": "maybe"}),
        ("/requests/99999999999", {}),
        ("/requests", {"limit": 0}),
        (f"/prosumers/{fleet.stranger.address}/profile", {"horizon_s": 10**9}),
        ("/prosumers/not-an-address/profile", {}),
    ]:
        statuses.append(api.get(path, params=params, headers=bearer(GRID)).status_code)
    bodies: list[Any] = [{"direction": "up", "power_w": 2**63, "duration_s": 1}, {"direction": None}, [1, 2]]
    for body in bodies:
        statuses.append(api.post("/requests", json=body, headers=bearer(GRID)).status_code)
    statuses.append(api.patch("/requests/1", json={"power_w": -1}, headers=bearer(GRID)).status_code)
    statuses.append(
        api.post(
            "/auth/login",
            json={"address": fleet.solar.address, "nonce": "x" * 99, "signature": "0x" + "zz" * 65},
        ).status_code
    )
    statuses.append(api.post("/auth/challenge", json={"address": "0x" + "00" * 19}).status_code)
    assert all(s < 500 for s in statuses), statuses
    assert set(statuses) <= {200, 401, 404, 413, 422}  # never the undocumented 400
    stored = api.get("/readings", headers=bearer(GRID)).json()["readings"]
    assert sorted(r["seq"] for r in stored) == list(range(1, 2 * len(HOSTILE_READINGS), 2))
