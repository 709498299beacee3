"""What the live console reads from the aggregator: the latest reading of every prosumer, and `/docs`
served offline from the pinned swagger-ui-dist package."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.aggregator.factories import GRID, bearer, make_reading


def test_the_latest_reading_of_every_prosumer_with_its_sequence(api: TestClient, logged: dict) -> None:
    assert api.get("/overview/prosumers").status_code == 401
    assert api.get("/overview/prosumers", headers=logged["solar"]).status_code == 403
    assert api.get("/overview/prosumers", headers=bearer(GRID)).json() == {"prosumers": []}
    for seq, power in ((1, 4000.0), (2, 4200.0)):
        assert api.post(
            "/readings", json=make_reading(seq, power_w=power), headers=logged["solar"]
        ).is_success
    battery = make_reading(7, soc=0.4, power_w=-1500, status="outage")
    assert api.post("/readings/batch", json={"readings": [battery]}, headers=logged["battery"]).is_success
    rows = {r["kind"]: r for r in api.get("/overview/prosumers", headers=bearer(GRID)).json()["prosumers"]}
    assert rows["solar"]["seq"] == 2 and rows["solar"]["power_w"] == 4200.0 and rows["solar"]["online"]
    assert rows["battery"]["seq"] == 7 and rows["battery"]["status"] == "outage"
    assert rows["solar"]["prosumer"].startswith("0x") and rows["solar"]["received_at"]


def test_docs_are_served_without_a_cdn(api: TestClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text and "cdn" not in page.text.lower()
    bundle = api.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert api.get("/docs/assets/swagger-ui.css").status_code == 200
    assert api.get("/docs/assets/../../etc/passwd").status_code == 404
    assert api.get("/docs/assets/index.html").status_code == 404  # only the files the page needs
