"""Fixtures of the aggregator tests.

- `tmp_settings`: settings with a SQLite file in the test's temporary folder and known credentials.
- `db`: a `Database`, parametrised over SQLite (a temporary file) and PostgreSQL (a throwaway schema
  in FLEXSIM_TEST_POSTGRES_URL, default postgresql:///flexsim_test; `scripts/ensure-postgres.sh` sets
  it up, and the tests fail, not skip, when it is unreachable).
- `fleet` + `api`: an app over a `TrustedRegistryView` of three prosumers (solar, consumer, battery)
  and a TestClient with the lifespan running; `logged` holds their Authorization headers.
- `chain_fleet` (marker `chain`): one anvil per session with the contracts deployed and the same three
  kinds registered on the Registry by anvil's dev keys 2-4; dev key 5 is an unregistered stranger.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import text

from aggregator.app import create_app
from aggregator.db import Database, make_engine
from aggregator.registry import ChainRegistryView, TrustedRegistryView
from aggregator.settings import AggregatorSettings
from contracts.anvil import Anvil, AnvilConfig, dev_keys, start_anvil
from contracts.deploy import write_manifest
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import SourceKind
from tests.aggregator.factories import login, make_registration, make_settings, make_terms
from tests.contracts.consent import register as consented_register

POSTGRES_URL = os.environ.get("FLEXSIM_TEST_POSTGRES_URL", "postgresql:///flexsim_test")
KINDS = (SourceKind.SOLAR, SourceKind.CONSUMER, SourceKind.BATTERY)


@pytest.fixture
def tmp_settings(tmp_path: Path) -> AggregatorSettings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}): run "
            "scripts/ensure-postgres.sh, or set FLEXSIM_TEST_POSTGRES_URL"
        )
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A schema that exists for one test only."""
    schema = "flexsim_" + uuid.uuid4().hex[:12]
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database.connect(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        schema = request.getfixturevalue("pg_schema")
        database = Database.connect(request.getfixturevalue("postgres_url"), schema=schema)
    try:
        yield database
    finally:
        database.dispose()


# ---------------------------------------------------------------------------------- chain-free API


@dataclass
class Fleet:
    solar: LocalAccount
    consumer: LocalAccount
    battery: LocalAccount
    stranger: LocalAccount
    registry: TrustedRegistryView

    @property
    def members(self) -> list[LocalAccount]:
        return [self.solar, self.consumer, self.battery]


@pytest.fixture
def fleet() -> Fleet:
    solar, consumer, battery, stranger = (Account.create() for _ in range(4))
    registry = TrustedRegistryView(
        {
            solar.address: make_registration(SourceKind.SOLAR),
            consumer.address: make_registration(SourceKind.CONSUMER, capacity_w=4_000, flex_w=1_000),
            battery.address: make_registration(SourceKind.BATTERY, capacity_w=5_000, flex_w=1_250),
        }
    )
    return Fleet(solar, consumer, battery, stranger, registry)


@pytest.fixture
def api(tmp_settings: AggregatorSettings, fleet: Fleet) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_settings, registry_view=fleet.registry)) as client:
        yield client


@pytest.fixture
def logged(api: TestClient, fleet: Fleet) -> dict[str, dict[str, str]]:
    """Authorization headers of the fleet's members, by kind."""
    return {
        "solar": login(api, fleet.solar),
        "consumer": login(api, fleet.consumer),
        "battery": login(api, fleet.battery),
    }


# ---------------------------------------------------------------------------------- chain


@dataclass
class ChainFleet:
    anvil: Anvil
    deployment: Deployment
    manifest: Path
    prosumers: dict[SourceKind, LocalAccount]
    stranger: LocalAccount

    def view(self, ttl_s: float = 0.0) -> ChainRegistryView:
        return ChainRegistryView(self.deployment.registry, ttl_s)


@pytest.fixture(scope="session")
def chain_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainFleet]:
    from simulation.bootstrap import deploy_new

    with start_anvil(AnvilConfig()) as anvil:
        deployment, _ = deploy_new(anvil.rpc_url)
        assert deployment.artifacts is not None
        manifest = write_manifest(
            deployment, deployment.artifacts, tmp_path_factory.mktemp("chain") / "manifest.json"
        )
        keys = dev_keys(6)
        chain = deployment.chain
        expiry = int(chain.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
        prosumers: dict[SourceKind, LocalAccount] = {}
        for kind, key in zip(KINDS, keys[2:5], strict=True):
            consented_register(deployment.registry, Sender(chain, key), make_terms(kind), expiry)
            prosumers[kind] = Account.from_key(key)
        yield ChainFleet(anvil, deployment, manifest, prosumers, Account.from_key(keys[5]))


def chain_settings(tmp_path: Path, fleet: ChainFleet, **overrides: Any) -> AggregatorSettings:
    return make_settings(tmp_path, rpc_url=fleet.anvil.rpc_url, manifest=fleet.manifest, **overrides)
