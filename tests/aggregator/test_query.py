"""Readings out: filters, downsampling, CSV export, and the live overview."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import ADMIN, GRID, bearer, make_reading

START = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def history(api: TestClient, logged: dict) -> None:
    """Solar: 12 readings 10 s apart from START (one outage); consumer: 6 readings; on a simulated clock."""
    clock = {"sim_start": (START + timedelta(hours=1)).isoformat(), "speed": 1.0}
    assert api.put("/admin/clock", json=clock, headers=bearer(ADMIN)).status_code == 200
    solar = [
        make_reading(
            i, at=START + timedelta(seconds=10 * i), power_w=100.0 * i, status="outage" if i == 7 else "ok"
        )
        for i in range(12)
    ]
    consumer = [make_reading(i, at=START + timedelta(seconds=10 * i), power_w=-1_000.0) for i in range(6)]
    assert (
        api.post("/readings/batch", json={"readings": solar}, headers=logged["solar"]).json()["stored"] == 12
    )
    assert (
        api.post("/readings/batch", json={"readings": consumer}, headers=logged["consumer"]).json()["stored"]
        == 6
    )


def get(api: TestClient, **params: object) -> dict:
    reply = api.get("/readings", params=params, headers=bearer(GRID))
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.mark.usefixtures("history")
def test_filters(api: TestClient, fleet: Fleet) -> None:
    assert get(api)["count"] == 18
    mine = get(api, prosumer=fleet.consumer.address.lower())
    assert mine["count"] == 6 and {r["prosumer"] for r in mine["readings"]} == {fleet.consumer.address}
    assert get(api, kind="solar")["count"] == 12
    window = get(
        api,
        start=(START + timedelta(seconds=20)).isoformat(),
        end=(START + timedelta(seconds=50)).isoformat(),
    )
    assert sorted((r["kind"], r["seq"]) for r in window["readings"]) == [
        ("consumer", 2),
        ("consumer", 3),
        ("consumer", 4),
        ("solar", 2),
        ("solar", 3),
        ("solar", 4),
    ]
    incidents = get(api, incident=True)
    assert [(r["seq"], r["status"]) for r in incidents["readings"]] == [(7, "outage")]
    limited = get(api, limit=5)
    assert limited["count"] == 5 and limited["truncated"] is True
    times = [r["timestamp"] for r in get(api)["readings"]]
    assert times == sorted(times)


@pytest.mark.usefixtures("history")
def test_downsampled_means(api: TestClient, fleet: Fleet) -> None:
    result = get(api, resolution_s=60, kind="solar")
    assert result["resolution_s"] == 60 and result["readings"] == []
    buckets = [(b["start"], b["power_w"], b["samples"], b["incidents"]) for b in result["buckets"]]
    assert buckets == [("2025-06-01T10:00:00Z", 250.0, 6, 0), ("2025-06-01T10:01:00Z", 850.0, 6, 1)]
    both = get(api, resolution_s=3600)
    assert {(b["kind"], b["power_w"]) for b in both["buckets"]} == {("solar", 550.0), ("consumer", -1000.0)}


@pytest.mark.usefixtures("history")
def test_a_prosumer_reads_its_own_readings(api: TestClient, logged: dict, fleet: Fleet) -> None:
    reply = api.get("/readings", headers=logged["consumer"]).json()
    assert reply["count"] == 6 and {r["prosumer"] for r in reply["readings"]} == {fleet.consumer.address}


@pytest.mark.usefixtures("history")
def test_csv_export(api: TestClient) -> None:
    reply = api.get("/readings.csv", params={"kind": "consumer"}, headers=bearer(GRID))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert (
        len(rows) == 6
        and rows[0]["power_w"] == "-1000.0"
        and rows[0]["soc"] == ""
        and rows[0]["status"] == "ok"
    )
    assert list(rows[0]) == [
        "prosumer",
        "kind",
        "seq",
        "timestamp",
        "power_w",
        "energy_wh",
        "soc",
        "status",
        "available_w",
    ]
    buckets = list(
        csv.DictReader(
            io.StringIO(
                api.get(
                    "/readings.csv", params={"resolution_s": 60, "kind": "solar"}, headers=bearer(GRID)
                ).text
            )
        )
    )
    assert [(b["start"], b["power_w"], b["incidents"]) for b in buckets] == [
        ("2025-06-01T10:00:00Z", "250.0", "0"),
        ("2025-06-01T10:01:00Z", "850.0", "1"),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "nuclear"},
        {"resolution_s": 0},
        {"start": "2025-06-01T00:00:00"},
        {"prosumer": "0x12"},
        {"start": "2025-06-02T00:00:00Z", "end": "2025-06-01T00:00:00Z"},
    ],
)
def test_bad_query_parameters(api: TestClient, params: dict) -> None:
    reply = api.get("/readings", params=params, headers=bearer(GRID))
    assert reply.status_code == 422 and reply.json()["detail"]


def test_overview(api: TestClient, logged: dict) -> None:
    api.post("/readings", json=make_reading(1, power_w=6_000.0), headers=logged["solar"])
    api.post("/readings", json=make_reading(1, power_w=-2_500.0), headers=logged["consumer"])
    api.post(
        "/readings",
        json=make_reading(1, power_w=1_000.0, soc=0.8, status="outage"),
        headers=logged["battery"],
    )
    older = datetime.now(UTC) - timedelta(minutes=5)
    api.post(
        "/readings", json=make_reading(0, at=older, power_w=1.0), headers=logged["solar"]
    )  # older: ignored
    o = api.get("/overview", headers=bearer(GRID)).json()
    assert (o["production_w"], o["consumption_w"], o["net_w"]) == (7_000.0, 2_500.0, 4_500.0)
    assert o["prosumers_online"] == 3 and o["incidents"] == 1
    assert (o["flex_up_w"], o["flex_down_w"]) == (
        3_000,
        3_000,
    )  # solar 2000 + consumer 1000; battery in outage
    assert o["by_kind"]["consumer"] == {"online": 1, "power_w": -2_500.0}


def test_overview_forgets_prosumers_gone_quiet(api: TestClient, logged: dict) -> None:
    live = api.app.state.ctx.live  # type: ignore[attr-defined]
    api.post("/readings", json=make_reading(1, power_w=6_000.0), headers=logged["solar"])
    assert live.overview(api.app.state.ctx.clock.wall() + 31, 30.0).online == 0  # type: ignore[attr-defined]
    assert api.get("/overview", headers=bearer(GRID)).json()["prosumers_online"] == 1


def test_deliverable_flexibility_is_what_online_prosumers_declare(api: TestClient, logged: dict) -> None:
    """Issue 12: prosumers declare what they can deliver now; the overview sums the declarations of the
    online prosumers not in outage, each capped at the prosumer's contracted offer."""
    # solar: 8 kW, flex 2 kW (offer 2000 W); consumer: 4 kW, flex 1 kW (offer 1000 W); battery in outage
    ack = api.put("/availability", json={"up_w": 5_000, "down_w": 300}, headers=logged["solar"])
    assert ack.status_code == 200 and ack.json() == {"up_w": 2_000, "down_w": 300}  # capped at the offer
    api.put("/availability", json={"up_w": 400, "down_w": 0}, headers=logged["consumer"])
    api.put("/availability", json={"up_w": 1_000, "down_w": 1_000}, headers=logged["battery"])
    before = api.get("/overview", headers=bearer(GRID)).json()
    assert (before["deliverable_up_w"], before["deliverable_down_w"]) == (0, 0)  # nobody online yet
    api.post("/readings", json=make_reading(1, power_w=6_000.0), headers=logged["solar"])
    api.post("/readings", json=make_reading(1, power_w=-2_500.0), headers=logged["consumer"])
    api.post(
        "/readings", json=make_reading(1, power_w=0.0, soc=0.5, status="outage"), headers=logged["battery"]
    )
    o = api.get("/overview", headers=bearer(GRID)).json()
    assert (o["deliverable_up_w"], o["deliverable_down_w"]) == (2_400, 300)
    assert o["flex_up_w"] == 3_000  # contracted, online and not in outage: more than can be delivered


@pytest.mark.parametrize(
    ("body", "status"),
    [({"up_w": -1, "down_w": 0}, 422), ({"up_w": 1.5, "down_w": 0}, 422), ({"up_w": 1}, 422), ({}, 422)],
)
def test_a_declaration_is_strict(api: TestClient, logged: dict, body: dict, status: int) -> None:
    assert api.put("/availability", json=body, headers=logged["solar"]).status_code == status


def test_only_a_prosumer_declares_its_own_availability(api: TestClient, logged: dict) -> None:
    assert api.put("/availability", json={"up_w": 1, "down_w": 1}, headers=bearer(GRID)).status_code == 403
    assert api.put("/availability", json={"up_w": 1, "down_w": 1}).status_code == 401
