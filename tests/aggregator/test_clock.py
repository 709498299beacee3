"""The simulated clock and time bounds: an invalid clock is a 422 that changes nothing, and no time the
service accepts (clock, reading, query parameter) makes a later answer fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from aggregator.errors import InvalidInput
from aggregator.simclock import ServerClock
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import ADMIN, GRID, bearer, make_reading, make_settings

START = "2025-06-01T00:00:00Z"


@pytest.mark.parametrize(
    "body",
    [
        {"sim_start": START, "speed": 1e300},
        {"sim_start": START, "speed": 1e6},
        {"sim_start": START, "speed": 0},
        {"sim_start": START, "speed": 60, "real_start_epoch": 1e300},
        {"sim_start": START, "speed": 60, "real_start_epoch": -1},
        {"sim_start": "0001-01-01T00:00:00Z"},
        {"sim_start": "9999-12-31T23:59:59Z"},
        {"sim_start": "1969-12-31T23:59:59Z"},
        {"sim_start": 0},
        # each field in range, but the clock would show 5,000 years from now
        {"sim_start": START, "speed": 10_000, "real_start_epoch": 0},
        # ... or a time before 1970
        {"sim_start": "1970-01-02T00:00:00Z", "speed": 2, "real_start_epoch": 4_000_000_000},
    ],
)
def test_an_invalid_clock_is_a_422_that_changes_nothing(api: TestClient, logged: dict, body: dict) -> None:
    before = api.get("/admin/clock", headers=bearer(ADMIN)).json()
    reply = api.put("/admin/clock", json=body, headers=bearer(ADMIN))
    assert reply.status_code == 422 and reply.json()["error"] == "invalid", reply.text
    after = api.get("/admin/clock", headers=bearer(ADMIN)).json()
    assert {k: after[k] for k in ("sim_start", "speed", "real_start_epoch")} == {
        k: before[k] for k in ("sim_start", "speed", "real_start_epoch")
    }
    # the service goes on working on the old clock
    assert api.post("/readings", json=make_reading(1), headers=logged["solar"]).status_code == 200
    assert api.get("/readings", headers=bearer(GRID)).json()["count"] == 1
    assert api.get("/overview", headers=bearer(GRID)).status_code == 200


def test_the_fastest_clock_at_its_limits_is_taken_and_everything_answers(
    api: TestClient, logged: dict, fleet: Fleet
) -> None:
    body = {"sim_start": "2199-12-31T00:00:00Z", "speed": 10_000}
    assert api.put("/admin/clock", json=body, headers=bearer(ADMIN)).status_code == 200
    late = make_reading(1, at=datetime(2199, 12, 31, 0, 10, tzinfo=UTC))
    assert api.post("/readings", json=late, headers=logged["solar"]).status_code == 200
    beyond = make_reading(2, at=datetime(2200, 1, 1, tzinfo=UTC) + timedelta(seconds=1))
    reply = api.post("/readings", json=beyond, headers=logged["solar"])
    assert reply.status_code == 422 and "after 2200" in reply.json()["detail"]
    for path in ("/readings", "/readings.csv", "/overview", "/admin/clock"):
        assert api.get(path, headers=bearer(ADMIN)).status_code == 200, path
    profile = api.get(f"/prosumers/{fleet.solar.address}/profile", headers=bearer(GRID))
    assert profile.status_code == 200, profile.text


EXTREME_TIMES = [
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
]


@pytest.mark.parametrize("when", EXTREME_TIMES)
def test_no_accepted_time_makes_a_later_query_fail(
    api: TestClient, logged: dict, fleet: Fleet, when: str
) -> None:
    for i, reading in enumerate([{**make_reading(1), "timestamp": when}, make_reading(2)]):
        api.post("/readings", json=reading, headers=logged["solar"])
        api.post("/readings/batch", json={"readings": [{**reading, "seq": 10 + i}]}, headers=logged["solar"])
    for params in (
        {"start": when},
        {"end": when},
        {"start": when, "resolution_s": 366 * 86_400},
        {"start": EXTREME_TIMES[0], "end": EXTREME_TIMES[2], "resolution_s": 1},
    ):
        for path in ("/readings", "/readings.csv"):
            reply = api.get(path, params=params, headers=bearer(GRID))
            assert reply.status_code in (200, 422), (path, params, reply.text)
    assert api.get("/readings", headers=bearer(GRID)).status_code == 200
    assert api.get("/overview", headers=bearer(GRID)).status_code == 200
    assert api.get(f"/prosumers/{fleet.solar.address}/profile", headers=bearer(GRID)).status_code == 200


def test_the_clock_is_checked_whole_before_it_replaces_the_old_one() -> None:
    wall = 1_750_000_000.0
    clock = ServerClock.create(datetime(2025, 6, 1, tzinfo=UTC), 60.0, wall, wall=lambda: wall)
    old = clock.clock
    with pytest.raises(InvalidInput, match="outside"):
        clock.set(datetime(2025, 6, 1, tzinfo=UTC), 10_000.0, 0.0)
    assert clock.clock is old and clock.now() == datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [("sim_speed", 1e300), ("sim_real_start_epoch", 1e300), ("sim_start", "0001-01-01T00:00:00Z")],
)
def test_an_out_of_range_clock_setting_is_refused_at_start(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        make_settings(tmp_path, **{field: value})
