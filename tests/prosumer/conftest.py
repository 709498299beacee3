"""Fixtures of the prosumer tests that need a chain and a real aggregator.

- `market` (session): one anvil with the contracts deployed; the deployer (anvil's dev key 0) is the
  aggregator account and funds prosumers.
- `AggregatorService`: `python -m aggregator` as a subprocess on a fixed port (so it can be stopped and
  started again), SQLite in the test's folder, optionally with its chain services (dispatcher) and a
  simulated clock.
- `ProsumerProcess`: `python -m prosumer` as a subprocess with its own key file and log.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from contracts.anvil import dev_keys, free_port, start_anvil
from contracts.deploy import write_manifest
from contracts.deployment import Deployment
from contracts.sender import Sender
from domain.clock import SimClock
from prosumer.identity import load_or_create_key
from tests.prosumer.factories import SEED

GRID = secrets.token_urlsafe(32)  # strong credentials, as the service demands
ADMIN = secrets.token_urlsafe(32)
ENROLMENT = secrets.token_urlsafe(32)


@dataclass
class Market:
    rpc_url: str
    manifest: Path
    d: Deployment
    aggregator_key: str
    funder: Sender

    def fund(self, key: str, wei: int = 10**18) -> str:
        address = Account.from_key(key).address
        self.funder.send_value(address, wei)
        return address


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    from simulation.bootstrap import deploy_new

    with start_anvil() as anvil:
        d, deployer = deploy_new(anvil.rpc_url)
        assert d.artifacts is not None
        manifest = write_manifest(d, d.artifacts, tmp_path_factory.mktemp("chain") / "manifest.json")
        yield Market(anvil.rpc_url, manifest, d, dev_keys(1)[0], deployer)


def clock_env(prefix: str, clock: SimClock | None) -> dict[str, str]:
    if clock is None:
        return {}
    return {
        f"{prefix}SIM_START": clock.sim_start.isoformat(),
        f"{prefix}SIM_SPEED": repr(clock.speed),
        f"{prefix}SIM_REAL_START_EPOCH": repr(clock.real_start_epoch_s),
    }


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class AggregatorService:
    def __init__(
        self, workdir: Path, market: Market, chain_services: bool = False, clock: SimClock | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "aggregator.log"
        self.env = {
            **os.environ,
            "AGGREGATOR_PORT": str(self.port),
            "AGGREGATOR_DATABASE_URL": f"sqlite:///{workdir / 'aggregator.db'}",
            "AGGREGATOR_RPC_URL": market.rpc_url,
            "AGGREGATOR_MANIFEST": str(market.manifest),
            "AGGREGATOR_GRID_TOKEN": GRID,
            "AGGREGATOR_ADMIN_TOKEN": ADMIN,
            "AGGREGATOR_REGISTRY_CACHE_TTL_S": "0",
            "AGGREGATOR_CHAIN_SERVICES": "true" if chain_services else "false",
            "AGGREGATOR_BLOCK_TIME_S": "1",
            "AGGREGATOR_AGGREGATOR_KEY": market.aggregator_key,  # signs consents even without chain services
            "AGGREGATOR_ENROLMENT_TOKEN": ENROLMENT,
            **clock_env("AGGREGATOR_", clock),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aggregator"], env=self.env, stdout=log, stderr=log
            )
        wait_for(self._healthy, 30, f"the aggregator at {self.url}")

    def _healthy(self) -> bool:
        assert self.proc is not None
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return httpx.get(self.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def get(self, path: str, **params: Any) -> Any:
        reply = httpx.get(self.url + path, params=params, headers={"Authorization": f"Bearer {GRID}"})
        assert reply.status_code == 200, reply.text
        return reply.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        reply = httpx.post(self.url + path, json=body, headers={"Authorization": f"Bearer {GRID}"})
        assert reply.status_code in (200, 201), reply.text
        return reply.json()

    def readings(self, address: str, **params: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.get("/readings", prosumer=address, limit=100_000, **params)[
            "readings"
        ]
        return rows


@pytest.fixture
def aggregator_factory(tmp_path: Path, market: Market) -> Iterator[Callable[..., AggregatorService]]:
    started: list[AggregatorService] = []

    def make(**kwargs: Any) -> AggregatorService:
        service = AggregatorService(tmp_path, market, **kwargs)
        service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


class ProsumerProcess:
    """One `python -m prosumer` with its own key file (funded unless told otherwise)."""

    def __init__(
        self,
        workdir: Path,
        market: Market,
        aggregator: AggregatorService,
        index: int,
        clock: SimClock | None = None,
        fund: bool = True,
        **settings: str,
    ) -> None:
        self.index = index
        self.key_file = workdir / f"prosumer-{index}.key"
        self.key = load_or_create_key(self.key_file)
        self.address = Account.from_key(self.key).address
        if fund:
            market.fund(self.key)
        self.log = workdir / f"prosumer-{index}.log"
        self.env = {
            **os.environ,
            "PROSUMER_SEED": str(SEED),
            "PROSUMER_INDEX": str(index),
            "PROSUMER_KEY_FILE": str(self.key_file),
            "PROSUMER_STATE_DIR": str(workdir),
            "PROSUMER_AGGREGATOR_URL": aggregator.url,
            "PROSUMER_RPC_URL": market.rpc_url,
            "PROSUMER_MANIFEST": str(market.manifest),
            "PROSUMER_ENROLMENT_TOKEN": ENROLMENT,
            "PROSUMER_READING_INTERVAL_S": "0.25",
            "PROSUMER_EVENT_POLL_S": "0.3",
            "PROSUMER_WILLINGNESS": "1",
            "PROSUMER_OUTAGE_RATE_PER_HOUR": "0",
            "PROSUMER_RENEGOTIATION_RATE_PER_HOUR": "0",
            **clock_env("PROSUMER_", clock),
            **{f"PROSUMER_{k.upper()}": v for k, v in settings.items()},
        }
        self.env.pop("PROSUMER_KEY", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ProsumerProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "prosumer"], env=self.env, stdout=log, stderr=log
            )
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.running():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()
