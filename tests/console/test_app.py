"""The console's web application without a run: access, actions and their record, the fragments.

The fleet here is a recording stand-in (the browser test drives the real one); the page, the token
check, the forms and the action log are the real code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from console import view
from console.app import create_app
from console.controls import ActionLog, DerIn, FleetMember, RenegotiateIn
from console.hub import Hub

TOKEN = "t" * 43


class Fleet:
    def __init__(self) -> None:
        self.done: list[str] = []

    def members(self) -> list[FleetMember]:
        return [FleetMember(0, "0x" + "ab" * 20, True, False)]

    def add(self, der: DerIn) -> str:
        self.done.append(f"add {der.kind} {der.capacity_w}")
        return "prosumer 1 starting"

    def remove(self, index: int) -> str:
        if index != 0:
            raise ValueError(f"prosumer {index} is not running")
        self.done.append("remove 0")
        return "removed"

    def outage(self, index: int, duration_s: int) -> str:
        self.done.append(f"outage {index} {duration_s}")
        return "outage"

    def renegotiate(self, index: int, terms: RenegotiateIn) -> str:
        return "renegotiated"


class NoFeed:
    state = view.State()

    def poll(self) -> view.State:
        return self.state

    def rows(self, indices: dict[str, int]) -> list[view.ProsumerRow]:
        return []


@pytest.fixture
def app(tmp_path: Path) -> tuple[TestClient, Fleet, ActionLog]:
    fleet = Fleet()
    actions = ActionLog(tmp_path / "console-actions.json")
    hub = Hub(NoFeed(), lambda: {}, 0.1)  # type: ignore[arg-type]
    client = TestClient(create_app(TOKEN, hub, fleet, None, actions))  # type: ignore[arg-type]
    return client, fleet, actions


HX = {"HX-Request": "true"}


def test_the_token_becomes_a_cookie_and_nothing_opens_without_it(
    app: tuple[TestClient, Fleet, ActionLog],
) -> None:
    client, fleet, _ = app
    assert client.get("/").status_code == 401
    assert client.get("/?token=" + "x" * 43).status_code == 401
    assert client.get("/events").status_code == 401
    assert client.post("/actions/der", content="kind=solar&capacity_w=5000", headers=HX).status_code == 401
    r = client.get("/?token=" + TOKEN, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = client.get("/")
    assert page.status_code == 200 and 'sse-connect="/events"' in page.text and TOKEN not in page.text
    assert client.post("/actions/der", content="kind=solar&capacity_w=5000").status_code == 403  # no HX
    assert fleet.done == []


def test_actions_are_done_recorded_and_answered_as_a_log_line(
    app: tuple[TestClient, Fleet, ActionLog],
) -> None:
    client, fleet, actions = app
    client.get("/?token=" + TOKEN)
    r = client.post("/actions/der", content="kind=solar&capacity_w=5000&flex_up_w=", headers=HX)
    assert r.status_code == 200 and 'data-action="add DER"' in r.text and "prosumer 1 starting" in r.text
    assert client.post("/actions/der/0/outage", content="duration_s=600", headers=HX).status_code == 200
    failed = client.post("/actions/der/3/remove", headers=HX)
    assert failed.status_code == 200 and 'class="fail"' in failed.text and "not running" in failed.text
    bad = client.post("/actions/der", content="kind=coal&capacity_w=5000", headers=HX)
    assert bad.status_code == 422 and "refused" in bad.text
    assert fleet.done == ["add solar 5000", "outage 0 600"]
    saved = json.loads(actions.path.read_text())  # type: ignore[union-attr]
    assert [(a["action"], a["ok"]) for a in saved] == [
        ("add DER", True),
        ("outage", True),
        ("remove DER", False),
    ]
    assert saved[0]["params"] == {"kind": "solar", "capacity_w": 5000} and saved[0]["real_t"] > 0


def test_fragments_escape_what_they_show() -> None:
    row = view.ProsumerRow(
        2, "0x<script>", "solar", 8000, 400, 1600, True, "online", 512, 10**18, 4200.0, 17,
        datetime(2025, 6, 21, tzinfo=UTC),
    )  # fmt: skip
    out = view.prosumers_html([row])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert 'data-seen="reading:0x&lt;script&gt;:17"' in out and "4,200 W" in out and "1.0000" in out
    assert 'data-action="outage" data-index="2"' in out
    removed = view.prosumers_html([view.ProsumerRow(**{**row.__dict__, "status": "removed"})])
    assert "data-action" not in removed


def test_a_request_form_reaches_the_strict_wire_model() -> None:
    import asyncio

    from starlette.requests import Request

    from aggregator.wire_market import FlexRequestIn
    from console.app import _form

    body = b"direction=up&power_w=800&duration_s=600&lead_time_s=900&strategy=fair"

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    parsed = asyncio.run(_form(request, FlexRequestIn))
    assert parsed.power_w == 800 and parsed.direction.value == "up" and parsed.lead_time_s == 900
