"""The real service: `python -m aggregator` (uvicorn) on loopback against the session's anvil chain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from contracts.anvil import free_port
from contracts.types import SourceKind
from tests.aggregator.conftest import ChainFleet
from tests.aggregator.factories import ADMIN, GRID, bearer, login, make_reading

pytestmark = pytest.mark.chain


class Service:
    def __init__(self, tmp_path: Path, fleet: ChainFleet) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "aggregator.log"
        self.env = {
            **os.environ,
            "AGGREGATOR_PORT": str(self.port),
            "AGGREGATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'aggregator.db'}",
            "AGGREGATOR_RPC_URL": fleet.anvil.rpc_url,
            "AGGREGATOR_MANIFEST": str(fleet.manifest),
            "AGGREGATOR_GRID_TOKEN": GRID,
            "AGGREGATOR_ADMIN_TOKEN": ADMIN,
            "AGGREGATOR_LOG_FORMAT": "json",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aggregator"], env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"the aggregator did not start: {self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM: uvicorn drains, runs the lifespan's shutdown, then re-raises the signal."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(20) in (0, -signal.SIGTERM)
        assert self.log.read_text().count("Application shutdown complete") == self.starts


@pytest.fixture
def service(tmp_path: Path, chain_fleet: ChainFleet) -> Iterator[Service]:
    svc = Service(tmp_path, chain_fleet)
    svc.start()
    try:
        yield svc
    finally:
        if svc.proc is not None and svc.proc.poll() is None:
            svc.proc.kill()


def test_the_real_service_ingests_survives_a_restart_and_logs_json(
    service: Service, chain_fleet: ChainFleet
) -> None:
    consumer = chain_fleet.prosumers[SourceKind.CONSUMER]
    with httpx.Client(base_url=service.url, timeout=10) as client:
        headers = login(client, consumer)

        def post(i: int) -> httpx.Response:
            return client.post("/readings", json=make_reading(i, power_w=-1_000.0 - i), headers=headers)

        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(post, range(64)))
        assert all(r.status_code == 200 and r.json()["status"] == "stored" for r in replies)
        batch = {"readings": [make_reading(i, power_w=-500.0) for i in range(60, 100)]}
        ack = client.post("/readings/batch", json=batch, headers=headers).json()
        assert (ack["stored"], ack["duplicates"]) == (36, 4)
        assert client.get("/readings", headers=bearer(GRID)).json()["count"] == 100
        assert "flexsim_aggregator_readings_ingested_total 100" in client.get("/metrics").text
        assert client.get("/openapi.json").json()["info"]["title"] == "flexsim aggregator"
    service.stop()

    service.start()
    with httpx.Client(base_url=service.url, timeout=10) as client:
        assert client.get("/readings", headers=bearer(GRID)).json()["count"] == 100  # durable
        stale = client.post("/readings", json=make_reading(100), headers=headers)
        assert stale.status_code == 401  # tokens live in memory: log in again
        headers = login(client, consumer)
        assert client.post("/readings", json=make_reading(5), headers=headers).json()["status"] == "duplicate"
    service.stop()
    lines = [json.loads(line) for line in service.log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("prosumer") == consumer.address and "logged in" in line["message"] for line in lines)


def test_the_cli_starts_the_service(tmp_path: Path, chain_fleet: ChainFleet) -> None:
    port = free_port()
    env = {**os.environ, "AGGREGATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    cmd = [
        sys.executable,
        "-m",
        "flexsim.cli",
        "aggregator",
        "--port",
        str(port),
        "--rpc-url",
        chain_fleet.anvil.rpc_url,
        "--manifest",
        str(chain_fleet.manifest),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert reply.status_code == 200 and reply.json()["database"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) in (0, -signal.SIGTERM)


def test_a_bad_database_url_fails_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "AGGREGATOR_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "flexsim.cli", "aggregator"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("flexsim: error: cannot open the database") and "AGGREGATOR_DATABASE_URL" in last


@pytest.mark.slow
def test_ingest_benchmark_runs_and_loses_nothing() -> None:
    cmd = [
        sys.executable,
        "-m",
        "flexsim.cli",
        "bench",
        "ingest",
        "--json",
        "--prosumers",
        "4",
        "--seconds",
        "1",
        "--batch-readings",
        "4000",
        "--batch-clients",
        "2",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["integrity"]["lost"] == 0 and report["integrity"]["rows_in_db"] > 4000
    assert report["batch"]["stored"] == 4000 and report["single"]["errors"] == {}
    assert set(report["targets"]) == {"single_vs_bare", "batch_vs_raw", "lost"}
    assert report["targets"]["lost"] == {"measured": 0, "target_max": 0, "met": True}
    assert report["raw_store"]["readings_per_s"] > 0 and "cpus" in report["machine"]
    bare = report["bare_framework"]
    assert bare["clients"] == 4 and bare["errors"] == {} and bare["readings_per_s"] > 0
    assert report["ratios"]["single_vs_bare"] == round(
        report["single"]["readings_per_s"] / bare["readings_per_s"], 3
    )
