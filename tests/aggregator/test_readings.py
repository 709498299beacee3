"""POST /readings and /readings/batch: validation (422 with the reason), idempotency, per-item answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.wire import BatchAck
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login, make_reading, make_settings

NOW = datetime.now(UTC)


def stored(api: TestClient, **params: str) -> list[dict]:
    return api.get("/readings", params=params, headers=bearer(GRID)).json()["readings"]


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"power_w": 12_001.0}, "exceeds 1.5 x the registered capacity of 8000 W"),
        ({"power_w": -12_500.0}, "exceeds 1.5 x"),
        ({"timestamp": (NOW + timedelta(hours=2)).isoformat()}, "ahead of the aggregator's simulated clock"),
        ({"timestamp": "2025-06-01T12:00:00"}, "timezone"),
        ({"timestamp": "1960-01-01T00:00:00Z"}, "before 1970"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"soc": 0.5}, "soc is only for batteries"),
        ({"soc": 1.5}, "less than or equal to 1"),
        ({"seq": -1}, "greater than or equal to 0"),
        ({"seq": 1.5}, "seq"),
        ({"power_w": "lots"}, "power_w"),
        ({"status": "broken"}, "'ok', 'outage' or 'modulating'"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
        ({"energy_wh": None}, "energy_wh"),
        ({"available_w": -1.0}, "greater than or equal to 0"),
        ({"available_w": 3_000.0}, "exceeds available_w = 3000 W"),  # power 4,000 W: more than the sun
        ({"available_w": 12_001.0}, "available_w = 12001 W exceeds 1.5 x"),
    ],
)
def test_invalid_readings_are_refused_with_the_reason(
    api: TestClient, logged: dict, overrides: dict, needle: str
) -> None:
    reply = api.post("/readings", json={**make_reading(1), **overrides}, headers=logged["solar"])
    assert reply.status_code == 422, reply.text
    assert needle in reply.json()["detail"]
    assert stored(api) == []


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_refused(api: TestClient, logged: dict, literal: bytes) -> None:
    body = b'{"seq": 1, "timestamp": "%s", "power_w": %s, "energy_wh": 1.0}' % (
        NOW.isoformat().encode(),
        literal,
    )
    reply = api.post(
        "/readings", content=body, headers={**logged["solar"], "Content-Type": "application/json"}
    )
    assert reply.status_code == 422 and "finite" in reply.json()["detail"]


def test_malformed_json_is_refused(api: TestClient, logged: dict) -> None:
    reply = api.post("/readings", content=b"{not json", headers=logged["solar"])
    assert reply.status_code == 422 and reply.json()["error"] == "invalid"


def test_battery_sends_state_of_charge_and_consumers_negative_power(api: TestClient, logged: dict) -> None:
    assert api.post(
        "/readings", json=make_reading(1, soc=0.42, power_w=-2_500), headers=logged["battery"]
    ).is_success
    assert api.post("/readings", json=make_reading(1, power_w=-5_900), headers=logged["consumer"]).is_success
    rows = {r["kind"]: r for r in stored(api)}
    assert rows["battery"]["soc"] == 0.42 and rows["battery"]["power_w"] == -2_500
    assert rows["consumer"]["power_w"] == -5_900 and rows["consumer"]["soc"] is None


def test_the_same_sequence_number_is_stored_once_and_acknowledged_twice(
    api: TestClient, logged: dict
) -> None:
    first = api.post("/readings", json=make_reading(5, power_w=100.0), headers=logged["solar"])
    again = api.post("/readings", json=make_reading(5, power_w=999.0), headers=logged["solar"])
    assert (first.status_code, first.json()) == (200, {"seq": 5, "status": "stored"})
    assert (again.status_code, again.json()) == (200, {"seq": 5, "status": "duplicate"})
    rows = stored(api)
    assert len(rows) == 1 and rows[0]["power_w"] == 100.0  # the first one wins


def test_sequence_numbers_are_per_prosumer(api: TestClient, logged: dict) -> None:
    assert api.post("/readings", json=make_reading(1), headers=logged["solar"]).json()["status"] == "stored"
    assert (
        api.post("/readings", json=make_reading(1, power_w=-1), headers=logged["consumer"]).json()["status"]
        == "stored"
    )
    assert len(stored(api)) == 2


def test_a_batch_is_answered_per_item(api: TestClient, logged: dict) -> None:
    api.post("/readings", json=make_reading(2), headers=logged["solar"])
    batch = [
        make_reading(1),
        make_reading(2),  # stored before
        make_reading(3, power_w=99_999.0),  # impossible
        {"seq": 4, "power_w": 1.0},  # malformed
        make_reading(5),
        make_reading(5),  # repeated inside the batch
        "not an object",
    ]
    reply = api.post("/readings/batch", json={"readings": batch}, headers=logged["solar"])
    assert reply.status_code == 200
    ack = BatchAck.model_validate(reply.json())
    assert (ack.stored, ack.duplicates, ack.rejected) == (2, 2, 3)
    assert [i.status for i in ack.items] == [
        "stored",
        "duplicate",
        "rejected",
        "rejected",
        "stored",
        "duplicate",
        "rejected",
    ]
    assert [i.seq for i in ack.items] == [1, 2, 3, 4, 5, 5, None]
    assert "exceeds 1.5 x" in (ack.items[2].reason or "")
    assert "timestamp: Field required" in (ack.items[3].reason or "")
    assert sorted(r["seq"] for r in stored(api)) == [1, 2, 5]


def test_a_valid_batch_takes_the_fast_path_and_stores_everything(api: TestClient, logged: dict) -> None:
    readings = [make_reading(i, power_w=float(i)) for i in range(500)]
    ack = api.post("/readings/batch", json={"readings": readings}, headers=logged["solar"]).json()
    assert (ack["stored"], ack["duplicates"], ack["rejected"]) == (500, 0, 0)
    assert [item["index"] for item in ack["items"]] == list(range(500))
    again = api.post("/readings/batch", json={"readings": readings}, headers=logged["solar"]).json()
    assert (again["stored"], again["duplicates"]) == (0, 500)
    assert api.get("/readings", headers=bearer(GRID)).json()["count"] == 500


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"[]", "must be an object"),
        (b'{"readings": []}', "1 to 20 readings"),
        (b'{"readings": 3}', "must be an object"),
        (b"{oops", "not JSON"),
    ],
)
def test_an_invalid_batch_is_refused_whole(tmp_path: Path, fleet: Fleet, body: bytes, needle: str) -> None:
    settings = make_settings(tmp_path, batch_max_items=20)
    with TestClient(create_app(settings, registry_view=fleet.registry)) as api:
        reply = api.post("/readings/batch", content=body, headers=login(api, fleet.solar))
        assert reply.status_code == 422 and needle in reply.json()["detail"]


def test_a_batch_over_the_limit_is_refused(tmp_path: Path, fleet: Fleet) -> None:
    settings = make_settings(tmp_path, batch_max_items=20)
    with TestClient(create_app(settings, registry_view=fleet.registry)) as api:
        body = {"readings": [make_reading(i) for i in range(21)]}
        reply = api.post("/readings/batch", json=body, headers=login(api, fleet.solar))
        assert reply.status_code == 422 and "got 21: split it" in reply.json()["detail"]
        assert api.get("/readings", headers=bearer(GRID)).json()["count"] == 0


def test_future_skew_follows_the_simulated_clock(api: TestClient, logged: dict) -> None:
    from tests.aggregator.factories import ADMIN

    start = datetime(2025, 6, 1, tzinfo=UTC)
    assert api.put(
        "/admin/clock", json={"sim_start": start.isoformat(), "speed": 60.0}, headers=bearer(ADMIN)
    ).is_success
    ok = api.post(
        "/readings", json=make_reading(1, at=start + timedelta(minutes=10)), headers=logged["solar"]
    )
    late = api.post(
        "/readings", json=make_reading(2, at=start + timedelta(minutes=20)), headers=logged["solar"]
    )
    real_now = api.post("/readings", json=make_reading(3), headers=logged["solar"])
    assert ok.status_code == 200
    assert late.status_code == 422 and "ahead of the aggregator's simulated clock" in late.json()["detail"]
    assert real_now.status_code == 422  # today is far in the simulated future


def test_rejections_are_counted(api: TestClient, logged: dict) -> None:
    api.post("/readings", json=make_reading(1, power_w=1e9), headers=logged["solar"])
    api.post("/readings", json={"seq": "x"}, headers=logged["solar"])
    api.post("/readings/batch", json={"readings": [make_reading(2, soc=3)]}, headers=logged["solar"])
    metrics = api.get("/metrics").text
    assert "flexsim_aggregator_readings_rejected_total 3" in metrics


def test_available_power_is_stored_for_producers_and_refused_for_others(
    api: TestClient, logged: dict
) -> None:
    ok = api.post("/readings", json=make_reading(1, available_w=4_500.0), headers=logged["solar"])
    assert ok.is_success, ok.text
    reply = api.post(
        "/readings", json=make_reading(1, power_w=-500.0, available_w=0.0), headers=logged["consumer"]
    )
    assert reply.status_code == 422 and "available_w is only for producers" in reply.json()["detail"]
    (row,) = stored(api)
    assert row["available_w"] == 4_500.0
