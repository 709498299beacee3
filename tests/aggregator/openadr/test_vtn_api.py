"""The VTN over real HTTP (uvicorn on loopback, SQLite), without a chain: OAuth client credentials,
roles, objects, and what events do to the native request queue (the dispatcher is tested on chain in
test_vtn_chain.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from aggregator.app import create_app
from aggregator.openadr import PREFIX
from aggregator.settings import AggregatorSettings
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login
from tests.aggregator.live import client, serve
from tests.aggregator.openadr.factories import make_event, make_program
from tests.aggregator.openadr.spec import errors


@pytest.fixture
def base(tmp_settings: AggregatorSettings, fleet: Fleet) -> Iterator[str]:
    with serve(create_app(tmp_settings, registry_view=fleet.registry)) as url:
        yield url


@pytest.fixture
def http(base: str) -> Iterator[httpx.Client]:
    with client(base) as c:
        yield c


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def bl_token(http: httpx.Client) -> dict[str, str]:
    reply = http.post(
        f"{PREFIX}/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic("grid-operator", GRID),
    )
    assert reply.status_code == 200, reply.text
    return bearer(reply.json()["access_token"])


def soon(minutes: float = 30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def create_event(http: httpx.Client, auth: dict[str, str], *values: float, **kw: Any) -> dict[str, Any]:
    program = http.post(f"{PREFIX}/programs", json=make_program(f"p-{len(values)}-{values[0]}"), headers=auth)
    assert program.status_code == 201, program.text
    reply = http.post(
        f"{PREFIX}/events", json=make_event(program.json()["id"], soon(), *values, **kw), headers=auth
    )
    assert reply.status_code == 201, reply.text
    return reply.json()  # type: ignore[no-any-return]


def native_requests(http: httpx.Client) -> list[dict[str, Any]]:
    return http.get("/requests", headers=bearer(GRID)).json()["requests"][::-1]  # type: ignore[no-any-return]


def test_discovery_and_client_credentials(http: httpx.Client, base: str) -> None:
    info = http.get(f"{PREFIX}/auth/server")
    assert info.status_code == 200 and info.json() == {"tokenURL": f"{base}{PREFIX}/auth/token"}
    assert errors("authServerInfo", info.json()) == []
    by_form = http.post(
        f"{PREFIX}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "grid-operator",
            "client_secret": GRID,
            "scope": "read_all",
        },
    )
    assert by_form.status_code == 200 and by_form.json()["token_type"] == "Bearer"
    assert by_form.json()["expires_in"] == 3600 and by_form.json()["scope"] == "read_all"
    assert errors("clientCredentialResponse", by_form.json()) == []
    assert http.get(f"{PREFIX}/programs", headers=bl_token(http)).json() == []
    assert (
        http.get(f"{PREFIX}/programs", headers=bearer(GRID)).status_code == 200
    )  # bearerAuth: the native credential


@pytest.mark.parametrize(
    ("data", "headers", "status", "oauth_error"),
    [
        ({"grant_type": "client_credentials"}, basic("grid-operator", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, basic("someone", GRID), 401, "invalid_client"),
        ({"grant_type": "password"}, basic("grid-operator", GRID), 400, "unsupported_grant_type"),
        ({"client_id": "grid-operator", "client_secret": GRID}, {}, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, {}, 400, "invalid_request"),
    ],
)
def test_token_refusals_are_problems_with_the_oauth_error(
    http: httpx.Client, data: dict[str, str], headers: dict[str, str], status: int, oauth_error: str
) -> None:
    reply = http.post(f"{PREFIX}/auth/token", data=data, headers=headers)
    assert reply.status_code == status
    body = reply.json()
    assert body["status"] == status and body["error"] == oauth_error and body["detail"]
    assert errors("problem", body) == []


def test_a_prosumer_is_a_ven_with_its_login_token(http: httpx.Client, fleet: Fleet) -> None:
    native = login(http, fleet.solar)["Authorization"].removeprefix("Bearer ")
    reply = http.post(
        f"{PREFIX}/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(fleet.solar.address, native),
    )
    assert reply.status_code == 200, reply.text
    ven = bearer(reply.json()["access_token"])
    wrong = http.post(
        f"{PREFIX}/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(fleet.battery.address, native),
    )
    assert wrong.status_code == 401  # another prosumer's token is not this address's secret
    event = create_event(http, bl_token(http), 5)
    assert http.get(f"{PREFIX}/events/{event['id']}", headers=ven).json()["id"] == event["id"]
    refused = http.post(f"{PREFIX}/programs", json=make_program("mine"), headers=ven)
    assert refused.status_code == 403 and errors("problem", refused.json()) == []
    mine = http.post(
        f"{PREFIX}/vens", json={"objectType": "VEN_VEN_REQUEST", "venName": "solar-1"}, headers=ven
    )
    assert mine.status_code == 201 and mine.json()["clientID"] == fleet.solar.address.lower()
    assert mine.json()["objectType"] == "VEN"
    report = {
        "eventID": event["id"],
        "clientName": "solar-1",
        "resources": [
            {
                "resourceName": "roof",
                "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]}],
            }
        ],
    }
    created = http.post(f"{PREFIX}/reports", json=report, headers=ven)
    assert created.status_code == 201, created.text
    assert (
        created.json()["clientID"] == fleet.solar.address.lower() and errors("report", created.json()) == []
    )
    assert http.post(f"{PREFIX}/reports", json=report, headers=bl_token(http)).status_code == 403


def test_objects_carry_the_server_set_fields_and_conform(http: httpx.Client) -> None:
    auth = bl_token(http)
    program = http.post(f"{PREFIX}/programs", json=make_program("capacity"), headers=auth).json()
    assert program["objectType"] == "PROGRAM" and program["id"].startswith("program-")
    assert errors("program", program) == []
    again = http.post(f"{PREFIX}/programs", json=make_program("capacity"), headers=auth)
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    renamed = http.put(
        f"{PREFIX}/programs/{program['id']}", json=make_program("capacity-2"), headers=auth
    ).json()
    assert renamed["createdDateTime"] == program["createdDateTime"]
    assert (
        renamed["modificationDateTime"] > program["modificationDateTime"]
        and renamed["programName"] == "capacity-2"
    )
    event = http.post(f"{PREFIX}/events", json=make_event(program["id"], soon(), 20, 10), headers=auth).json()
    assert event["objectType"] == "EVENT" and errors("event", event) == []
    listed = http.get(f"{PREFIX}/events", params={"programID": program["id"]}, headers=auth).json()
    assert [e["id"] for e in listed] == [event["id"]]
    assert (
        http.get(f"{PREFIX}/events", params={"active": "true"}, headers=auth).json() == []
    )  # starts in 30 min
    assert len(http.get(f"{PREFIX}/events", params={"active": "false"}, headers=auth).json()) == 1
    assert http.get(f"{PREFIX}/programs", params={"limit": 51}, headers=auth).status_code == 400
    gone = http.get(f"{PREFIX}/events/event-nope", headers=auth)
    assert gone.status_code == 404 and errors("problem", gone.json()) == []
    assert http.get(f"{PREFIX}/events").status_code == 401
    assert http.get(f"{PREFIX}/nothing-here", headers=auth).json()["status"] == 404
    busy = http.delete(f"{PREFIX}/programs/{program['id']}", headers=auth)
    assert busy.status_code == 400 and "delete them first" in busy.json()["detail"]


def test_capacity_intervals_become_native_requests(http: httpx.Client) -> None:
    auth = bl_token(http)
    event = create_event(http, auth, 20, 10)
    first, second = native_requests(http)
    assert (first["direction"], first["power_w"], first["duration_s"], first["status"]) == (
        "up",
        20_000,
        600,
        "queued",
    )
    assert (second["direction"], second["power_w"], second["duration_s"]) == ("up", 10_000, 600)
    assert 1_790 <= first["lead_time_s"] <= 1_800 and 2_390 <= second["lead_time_s"] <= 2_400
    assert first["strategy"] == "fair"  # the aggregator's default, as for POST /requests

    changed = make_event(event["programID"], soon(), 15, kind="EXPORT_CAPACITY_LIMIT")
    updated = http.put(f"{PREFIX}/events/{event['id']}", json=changed, headers=auth)
    assert updated.status_code == 200, updated.text
    reqs = {r["id"]: r for r in native_requests(http)}
    assert reqs[first["id"]]["status"] == "cancelled"  # the direction changed: cancelled and queued anew
    assert reqs[second["id"]]["status"] == "cancelled"  # the interval went away
    [new] = [r for r in reqs.values() if r["status"] == "queued"]
    assert (new["direction"], new["power_w"]) == ("down", 15_000)

    same_direction = make_event(event["programID"], soon(), 12, kind="EXPORT_CAPACITY_LIMIT")
    assert http.put(f"{PREFIX}/events/{event['id']}", json=same_direction, headers=auth).status_code == 200
    assert {r["id"]: r for r in native_requests(http)}[new["id"]]["power_w"] == 12_000  # modified in place

    deleted = http.delete(f"{PREFIX}/events/{event['id']}", headers=auth)
    assert deleted.status_code == 200 and deleted.json()["id"] == event["id"]
    assert all(r["status"] == "cancelled" for r in native_requests(http))
    assert http.get(f"{PREFIX}/events/{event['id']}", headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("kind", "detail"),
    [("PRICE", "not supported by this VTN"), ("SIMPLE", "not supported by this VTN")],
)
def test_other_payload_types_are_refused_and_queue_nothing(
    http: httpx.Client, kind: str, detail: str
) -> None:
    auth = bl_token(http)
    program = http.post(f"{PREFIX}/programs", json=make_program(), headers=auth).json()
    reply = http.post(f"{PREFIX}/events", json=make_event(program["id"], soon(), 1, kind=kind), headers=auth)
    assert (
        reply.status_code == 400
        and detail in reply.json()["detail"]
        and errors("problem", reply.json()) == []
    )
    assert native_requests(http) == [] and http.get(f"{PREFIX}/events", headers=auth).json() == []
    missing = http.post(f"{PREFIX}/events", json=make_event("program-none", soon(), 1), headers=auth)
    assert missing.status_code == 409 and "create it with POST /programs" in missing.json()["detail"]


def test_an_oversized_body_is_a_400_problem_under_the_vtn_and_a_413_elsewhere(http: httpx.Client) -> None:
    big = b"{" + b" " * 70_000 + b"}"
    headers = {**bl_token(http), "Content-Type": "application/json"}
    vtn = http.post(f"{PREFIX}/programs", content=big, headers=headers)
    assert (
        vtn.status_code == 400
        and "larger than" in vtn.json()["detail"]
        and errors("problem", vtn.json()) == []
    )
    native = http.post("/requests", content=big, headers={**bearer(GRID), "Content-Type": "application/json"})
    assert native.status_code == 413 and native.json()["error"] == "too_large"
