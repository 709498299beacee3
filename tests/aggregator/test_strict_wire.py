"""Strict wire types (422, nothing stored or changed): no bool or string as a number, no float as an
integer, no epoch number as a time, no unknown field, in every body."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import ADMIN, GRID, bearer, make_reading

LOOSE_READING = {"seq": 5.0, "timestamp": 1700000000, "power_w": True, "energy_wh": "12"}


def stored(api: TestClient) -> list[dict]:
    return api.get("/readings", headers=bearer(GRID)).json()["readings"]


def assert_invalid(reply, *fields: str) -> None:  # type: ignore[no-untyped-def]
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error"] == "invalid" and set(body) == {"error", "detail", "errors"}
    located = {tuple(e["loc"][1:]) for e in body["errors"]}
    for field in fields:
        assert (field,) in located, (field, body["errors"])


def test_the_loose_reading_of_the_issue_is_refused_field_by_field(api: TestClient, logged: dict) -> None:
    reply = api.post("/readings", json=LOOSE_READING, headers=logged["solar"])
    assert_invalid(reply, "seq", "timestamp", "power_w", "energy_wh")
    assert stored(api) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"seq": 5.0},
        {"seq": "5"},
        {"seq": True},
        {"timestamp": 1700000000},
        {"timestamp": 1.7e9},
        {"power_w": True},
        {"power_w": "4000"},
        {"energy_wh": "12"},
        {"energy_wh": False},
        {"soc": True},
        {"available_w": "1"},
        {"status": 0},
    ],
)
def test_one_loose_field_is_refused_alone_and_in_a_batch(
    api: TestClient, logged: dict, overrides: dict
) -> None:
    (field,) = overrides
    reading = {**make_reading(1), **overrides}
    assert_invalid(api.post("/readings", json=reading, headers=logged["battery"]), field)
    batch = {"readings": [{**reading, "seq": 2} if field != "seq" else reading, make_reading(3)]}
    ack = api.post("/readings/batch", json=batch, headers=logged["battery"]).json()
    assert [i["status"] for i in ack["items"]] == ["rejected", "stored"]
    assert ack["items"][0]["reason"].startswith(field)
    assert [r["seq"] for r in stored(api)] == [3]


def test_integers_and_floats_that_fit_are_taken(api: TestClient, logged: dict) -> None:
    reading = make_reading(7, power_w=4000, energy_wh=12, available_w=4500)  # JSON integers for floats
    assert api.post("/readings", json=reading, headers=logged["solar"]).json() == {
        "seq": 7,
        "status": "stored",
    }
    (row,) = stored(api)
    assert (row["power_w"], row["energy_wh"], row["available_w"]) == (4000.0, 12.0, 4500.0)


def test_unknown_top_level_fields_of_a_batch_are_refused(api: TestClient, logged: dict) -> None:
    body = {"readings": [make_reading(1)], "prosumer": "0x" + "11" * 20}
    reply = api.post("/readings/batch", json=body, headers=logged["solar"])
    assert reply.status_code == 422 and "'prosumer'" in reply.json()["detail"]
    body = {"readings": [make_reading(1), {"seq": "x"}], "extra": 1}  # type: ignore[dict-item]  # per item
    assert api.post("/readings/batch", json=body, headers=logged["solar"]).status_code == 422
    assert stored(api) == []


REQUEST = {"direction": "up", "power_w": 20_000, "duration_s": 3_600, "lead_time_s": 900}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lead_time_s": False}, "lead_time_s"),
        ({"lead_time_s": 900.0}, "lead_time_s"),
        ({"power_w": "20000"}, "power_w"),
        ({"power_w": True}, "power_w"),
        ({"duration_s": 60.5}, "duration_s"),
        ({"direction": 1}, "direction"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_a_loose_flexibility_request_is_refused(api: TestClient, overrides: dict, field: str) -> None:
    reply = api.post("/requests", json={**REQUEST, **overrides}, headers=bearer(GRID))
    assert_invalid(reply, field)
    assert api.get("/requests", headers=bearer(GRID)).json()["requests"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [({"power_w": True}, "power_w"), ({"duration_s": "600"}, "duration_s"), ({"colour": "red"}, "colour")],
)
def test_a_loose_modification_changes_nothing(api: TestClient, change: dict, field: str) -> None:
    created = api.post("/requests", json=REQUEST, headers=bearer(GRID)).json()
    reply = api.patch(f"/requests/{created['id']}", json=change, headers=bearer(GRID))
    assert_invalid(reply, field)
    after = api.get(f"/requests/{created['id']}", headers=bearer(GRID)).json()
    assert (after["power_w"], after["duration_s"]) == (20_000, 3_600)


def test_auth_and_admin_bodies_refuse_unknown_fields_and_loose_types(api: TestClient, fleet: Fleet) -> None:
    address = fleet.solar.address
    assert_invalid(api.post("/auth/challenge", json={"address": address, "role": "admin"}), "role")
    assert_invalid(api.post("/auth/challenge", json={"address": 12}), "address")
    login = {"address": address, "nonce": "n" * 10, "signature": "0x" + "ab" * 65, "remember": True}
    assert_invalid(api.post("/auth/login", json=login), "remember")
    before = api.get("/admin/clock", headers=bearer(ADMIN)).json()
    for body, field in [
        ({"sim_start": "2025-06-01T00:00:00Z", "speed": "60"}, "speed"),
        ({"sim_start": "2025-06-01T00:00:00Z", "speed": True}, "speed"),
        ({"sim_start": "2025-06-01T00:00:00Z", "speed": 60, "paused": True}, "paused"),
        ({"sim_start": 1748736000}, "sim_start"),
    ]:
        assert_invalid(api.put("/admin/clock", json=body, headers=bearer(ADMIN)), field)
    after = api.get("/admin/clock", headers=bearer(ADMIN)).json()
    assert (after["sim_start"], after["speed"]) == (before["sim_start"], before["speed"])
    assert_invalid(
        api.post("/admin/revoke", json={"address": address, "all": True}, headers=bearer(ADMIN)), "all"
    )


def test_a_body_that_is_not_utf8_json_is_a_422_in_the_error_shape(api: TestClient, logged: dict) -> None:
    for path, headers in [
        ("/auth/challenge", {}),
        ("/requests", bearer(GRID)),
        ("/readings", logged["solar"]),
        ("/admin/clock", bearer(ADMIN)),
    ]:
        call = api.put if path == "/admin/clock" else api.post
        reply = call(path, content=b"\xff\xfe\x00", headers={**headers, "Content-Type": "application/json"})
        assert reply.status_code == 422 and reply.json()["error"] == "invalid", (path, reply.text)


@pytest.mark.parametrize("value", ["0.5", "1700000000", "-1"])
def test_a_query_time_is_iso_text_never_epoch_seconds(api: TestClient, value: str) -> None:
    for param in ("start", "end"):
        reply = api.get("/readings", params={param: value}, headers=bearer(GRID))
        assert reply.status_code == 422 and reply.json()["errors"][0]["loc"] == ["query", param], reply.text
