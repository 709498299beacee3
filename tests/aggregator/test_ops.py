"""Operations: /health, /metrics (Prometheus text), settings, and the OpenAPI document's examples."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.context import AppContext
from aggregator.metrics import Metrics
from aggregator.settings import AggregatorSettings
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login, make_reading, make_settings


def test_health(api: TestClient) -> None:
    reply = api.get("/health")
    assert reply.status_code == 200
    assert reply.json() == {
        "status": "ok",
        "database": True,
        "writer_alive": True,
        "queue_rows": 0,
        "services": {},
    }


class Ticker:
    """A background service like chain sync: it runs until cancelled and feeds a metric."""

    name = "ticker"

    def __init__(self, crash: bool = False) -> None:
        self.crash = crash
        self.cancelled = False

    async def run(self, ctx: AppContext) -> None:
        if self.crash:
            raise RuntimeError("boom")
        try:
            while True:
                ctx.metrics.gauge("chain_lag_blocks").set(3)
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def test_services_run_in_the_lifespan_and_show_in_health(tmp_path: Path, fleet: Fleet) -> None:
    ticker = Ticker()
    with TestClient(
        create_app(make_settings(tmp_path), registry_view=fleet.registry, services=[ticker])
    ) as api:
        api.get("/health")
        assert api.get("/health").json()["services"] == {"ticker": True}
        assert "flexsim_aggregator_chain_lag_blocks 3" in api.get("/metrics").text
    assert ticker.cancelled


def test_a_crashed_service_degrades_health(tmp_path: Path, fleet: Fleet) -> None:
    services = [Ticker(crash=True)]
    with TestClient(
        create_app(make_settings(tmp_path), registry_view=fleet.registry, services=services)
    ) as api:
        reply = api.get("/health")
        assert reply.status_code == 503
        assert reply.json()["status"] == "degraded" and reply.json()["services"] == {"ticker": False}


def test_metrics_after_ingest(api: TestClient, logged: dict) -> None:
    api.post("/readings", json=make_reading(1), headers=logged["solar"])
    api.post("/readings", json=make_reading(1), headers=logged["solar"])
    reply = api.get("/metrics")
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = reply.text
    for line in (
        "flexsim_aggregator_readings_ingested_total 1",
        "flexsim_aggregator_readings_duplicate_total 1",
        "flexsim_aggregator_writer_queue_rows 0",
        "flexsim_aggregator_chain_lag_blocks 0",
        "flexsim_aggregator_tx_failures_total 0",
        'flexsim_aggregator_writer_batch_rows_bucket{le="+Inf"} 2',
        "flexsim_aggregator_writer_commit_seconds_count 2",
    ):
        assert line in text.splitlines(), line
    for name in re.findall(r"^# TYPE (\S+) (\w+)$", text, re.M):
        assert name[1] in ("counter", "gauge", "histogram")


def test_metrics_registry() -> None:
    m = Metrics()
    c = m.counter("tx_failures_total", "failed transactions")
    c.inc()
    c.inc(2, reason='nonce "low"')
    assert m.counter("tx_failures_total") is c and c.value() == 1 and c.value(reason='nonce "low"') == 2
    h = m.histogram("lat", buckets=(0.1, 1))
    for v in (0.05, 0.5, 5):
        h.observe(v)
    text = m.render()
    assert 'flexsim_aggregator_tx_failures_total{reason="nonce \\"low\\""} 2' in text
    assert (
        'flexsim_aggregator_lat_bucket{le="0.1"} 1' in text
        and 'flexsim_aggregator_lat_bucket{le="+Inf"} 3' in text
    )
    assert "flexsim_aggregator_lat_sum 5.55" in text and "flexsim_aggregator_lat_count 3" in text
    with pytest.raises(TypeError):
        m.gauge("lat")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGGREGATOR_PORT", "9001")
    monkeypatch.setenv("AGGREGATOR_GRID_TOKEN", GRID)
    monkeypatch.setenv("AGGREGATOR_SIM_START", "2025-06-01T00:00:00Z")
    s = AggregatorSettings(_env_file=None)  # type: ignore[call-arg]
    assert s.port == 9001 and s.grid_token is not None and s.grid_token.get_secret_value() == GRID
    assert GRID not in repr(s)
    assert s.sim_start is not None and s.sim_start.year == 2025
    with pytest.raises(ValueError, match="batch_max_items"):
        AggregatorSettings(_env_file=None, batch_max_items=10, writer_queue_rows=5)  # type: ignore[call-arg]


def test_login_without_a_chain_says_how_to_configure_one(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, rpc_url=""))) as api:
        address = "0x" + "12" * 20
        ch = api.post("/auth/challenge", json={"address": address}).json()
        from eth_account import Account

        from tests.aggregator.factories import sign

        account = Account.create()
        ch = api.post("/auth/challenge", json={"address": account.address}).json()
        body = {"address": account.address, "nonce": ch["nonce"], "signature": sign(account, ch["message"])}
        reply = api.post("/auth/login", json=body)
        assert reply.status_code == 503 and "AGGREGATOR_RPC_URL" in reply.json()["detail"]
        assert "Retry-After" in reply.headers


def _has_example(node: object) -> bool:
    if isinstance(node, dict):
        if "example" in node or "examples" in node:
            return True
        return any(_has_example(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_example(v) for v in node)
    return False


def test_every_endpoint_is_documented_with_examples(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def resolve(node: object) -> object:
        if isinstance(node, dict):
            if "$ref" in node:
                return schemas[node["$ref"].rsplit("/", 1)[1]]
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    operations = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(operations) >= 18
    for path, method, op in operations:
        ok = op["responses"].get("200") or op["responses"].get("201") or op["responses"].get("202")
        assert ok is not None and _has_example(resolve(ok)), f"{method} {path}: success without example"
        if "requestBody" in op:
            assert _has_example(resolve(op["requestBody"])), f"{method} {path}: body without example"
        for param in op.get("parameters", []):
            assert "example" in param or "examples" in param or _has_example(param.get("schema", {})), (
                f"{method} {path}: parameter {param['name']} without example"
            )
    reading_body = doc["paths"]["/readings"]["post"]
    assert reading_body["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReadingIn")
    assert reading_body["security"] == [{"HTTPBearer": []}]
    assert "ReadingBatchIn" in schemas and "ReadingIn" in schemas


def test_grid_can_read_everything_and_the_api_says_how_to_log_in(api: TestClient, fleet: Fleet) -> None:
    assert api.get("/readings", headers=bearer(GRID)).json()["count"] == 0
    login(api, fleet.solar)
    reply = api.get("/readings", headers=bearer("nope"))
    assert reply.status_code == 401 and "/auth/challenge" in reply.json()["detail"]
