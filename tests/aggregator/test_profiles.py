"""Profiles (R5): the pure functions, and GET /prosumers/{address}/profile."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from aggregator import profiles as p
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import ADMIN, GRID, bearer, make_reading

DAY = 86_400
T0 = datetime(2025, 6, 1, tzinfo=UTC).timestamp()


def test_participation_and_compliance() -> None:
    facts = [
        p.ResponseFact(1, "accepted"),
        p.ResponseFact(1, "delivered", compliant=True, paid=5),
        p.ResponseFact(2, "declined"),
        p.ResponseFact(3, "applied"),
        p.ResponseFact(3, "selected"),
        p.ResponseFact(3, "delivered", compliant=False, paid=0),
        p.ResponseFact(4, "applied"),
        p.ResponseFact(4, "displaced"),
    ]
    part = p.participation(facts)
    assert (part.requests, part.participated, part.declined, part.displaced, part.rate) == (4, 2, 1, 1, 0.5)
    comp = p.compliance(facts)
    assert (comp.deliveries, comp.compliant, comp.rate, comp.paid) == (2, 1, 0.5, 5)
    assert p.participation([]).rate is None and p.compliance([]).rate is None


def test_daily_energy_and_trend() -> None:
    buckets = [
        p.PowerBucket(T0 + d * DAY + h * 3600, 1_000.0 * (d + 1) if h < 12 else -500.0, 10)
        for d in range(3)
        for h in range(24)
    ]
    days = p.daily_energy(buckets, 3600)
    assert [(d.day, d.produced_wh, d.consumed_wh) for d in days] == [
        ("2025-06-01", 12_000.0, 6_000.0),
        ("2025-06-02", 24_000.0, 6_000.0),
        ("2025-06-03", 36_000.0, 6_000.0),
    ]
    assert p.linear_trend([d.produced_wh for d in days]) == pytest.approx(12_000.0)
    assert p.linear_trend([d.consumed_wh for d in days]) == pytest.approx(0.0, abs=1e-6)
    assert p.linear_trend([5.0]) is None


def clear_sky(t: float) -> float:
    """A toy clear sky: a half sine from 06:00 to 18:00 UTC peaking at 800 W/kWp."""
    hour = (t % DAY) / 3600
    return 800.0 * math.sin(math.pi * (hour - 6) / 12) if 6 < hour < 18 else 0.0


def test_solar_forecast_scales_clear_sky_by_recent_output() -> None:
    now = T0 + DAY + 12 * 3600  # day 2, noon
    history = [p.PowerBucket(t, 0.6 * 5 * clear_sky(t), 3) for t in range(int(now - DAY), int(now), 900)]
    fc = p.forecast("solar", history, now, 8_000, 900, 4 * 3600, clear_sky)
    assert "clear-sky" in fc.method and "3.000 kWp" in fc.method  # 0.6 x 5 kWp
    assert [t for t, _ in fc.points][:2] == [now + 900, now + 1800] and len(fc.points) == 16
    for t, w in fc.points:
        assert w == pytest.approx(3.0 * clear_sky(t), abs=1e-3)
    night = p.forecast("solar", [], now, 8_000, 900, 3600, clear_sky)
    assert "registered capacity" in night.method and night.points[0][1] == pytest.approx(
        8 * clear_sky(now + 900)
    )


def test_outage_buckets_do_not_drag_the_solar_ratio_down() -> None:
    now = T0 + 12 * 3600
    good = [p.PowerBucket(t, 2 * clear_sky(t), 3) for t in range(int(now - 6 * 3600), int(now), 900)]
    outage = [
        p.PowerBucket(t, 0.0, 3, incidents=3) for t in range(int(now - 9 * 3600), int(now - 6 * 3600), 900)
    ]
    assert "2.000 kWp" in p.forecast("solar", outage + good, now, 8_000, 900, 900, clear_sky).method


def test_consumer_forecast_uses_the_same_time_of_previous_days() -> None:
    now = T0 + 3 * DAY
    history = [
        p.PowerBucket(t, -100.0 * ((t % DAY) // 3600) - 1_000.0 * ((t - T0) // DAY), 5)
        for t in range(int(T0), int(now), 900)
    ]
    fc = p.forecast("consumer", history, now, 4_000, 900, 7_200, None)
    assert "same time of day" in fc.method
    # at 00:15 the previous days gave -0, -1000, -2000 -> mean -1000
    assert fc.points[0] == (now + 900, -1_000.0)
    assert fc.points[4] == (now + 4_500, -1_100.0)


def test_wind_and_sparse_history_use_persistence() -> None:
    now = T0 + 5 * 3600
    history = [p.PowerBucket(now - 3600 + 900 * i, 1_000.0 * i, 1 + i) for i in range(4)]
    fc = p.forecast("wind", history, now, 2_000_000, 900, 1_800, None)
    assert "persistence" in fc.method
    assert fc.points == [(now + 900, 2_000.0), (now + 1_800, 2_000.0)]  # weighted by samples: 0,2,6,12 / 10
    assert p.forecast("battery", [], now, 5_000, 900, 900, None).points == [(now + 900, 0.0)]


def test_profile_endpoint(api: TestClient, logged: dict, fleet: Fleet) -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    clock = {"sim_start": (start + timedelta(days=2)).isoformat(), "speed": 1.0}
    assert api.put("/admin/clock", json=clock, headers=bearer(ADMIN)).status_code == 200
    readings = [
        make_reading(i, at=start + timedelta(minutes=15 * i), power_w=-1_000.0) for i in range(2 * 96)
    ]
    assert (
        api.post("/readings/batch", json={"readings": readings}, headers=logged["consumer"]).json()["stored"]
        == 192
    )
    ctx = api.app.state.ctx  # type: ignore[attr-defined]
    req = ctx.requests.enqueue("up", 1_000, 600, 60, "fair")
    ctx.requests.record_response(req.id, fleet.consumer.address, "accepted", committed_w=250)
    ctx.requests.record_response(
        req.id, fleet.consumer.address, "delivered", delivered_wh=40, compliant=True, paid=7
    )
    profile = api.get(
        f"/prosumers/{fleet.consumer.address}/profile", params={"horizon_s": 3600}, headers=bearer(GRID)
    )
    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert (body["kind"], body["capacity_w"]) == ("consumer", 4_000)
    assert body["participation"]["rate"] == 1.0 and body["compliance"] == {
        "deliveries": 1,
        "compliant": 1,
        "rate": 1.0,
        "paid": 7,
    }
    assert [(d["day"], d["consumed_wh"]) for d in body["energy"]["days"]] == [
        ("2025-06-01", 24_000.0),
        ("2025-06-02", 24_000.0),
    ]
    assert body["energy"]["consumed_trend_wh_per_day"] == pytest.approx(0.0, abs=1e-6)
    fc = body["forecast"]
    assert "same time of day" in fc["method"] and len(fc["points"]) == 4
    assert all(pt["power_w"] == -1_000.0 for pt in fc["points"])
    own = api.get(f"/prosumers/{fleet.consumer.address}/profile", headers=logged["consumer"])
    assert own.status_code == 200


def test_solar_profile_uses_the_site_clear_sky(api: TestClient, logged: dict, fleet: Fleet) -> None:
    noon = datetime(2025, 6, 1, 11, tzinfo=UTC)
    assert (
        api.put("/admin/clock", json={"sim_start": noon.isoformat()}, headers=bearer(ADMIN)).status_code
        == 200
    )
    readings = [make_reading(i, at=noon - timedelta(minutes=15 * (8 - i)), power_w=3_000.0) for i in range(8)]
    api.post("/readings/batch", json={"readings": readings}, headers=logged["solar"])
    body = api.get(f"/prosumers/{fleet.solar.address}/profile", headers=bearer(GRID)).json()
    assert "clear-sky" in body["forecast"]["method"] and "kWp equivalent" in body["forecast"]["method"]
    first = body["forecast"]["points"][0]["power_w"]
    assert 2_000 < first < 4_500  # around noon in June: close to the recent 3 kW


def test_profile_of_an_unknown_prosumer(api: TestClient, fleet: Fleet) -> None:
    reply = api.get(f"/prosumers/{fleet.stranger.address}/profile", headers=bearer(GRID))
    assert reply.status_code == 404 and "never registered" in reply.json()["detail"]
