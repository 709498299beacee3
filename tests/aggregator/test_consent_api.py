"""`POST /consent`: the aggregator consents to prosumers' contract terms under its policy (issue 10,
item 4), for callers holding the enrolment credential and the prosumer's key, on a real chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.registry import ChainRegistryView
from aggregator.wire_consent import TermsIn
from contracts.anvil import Anvil, dev_keys, start_anvil
from contracts.consent import Consent
from contracts.deploy import write_manifest
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import SourceKind, Terms
from tests.aggregator.factories import make_settings, sign

pytestmark = pytest.mark.chain

ENROLMENT = "enrolment-credential-of-this-test-0123456789"
TERMS = Terms(SourceKind.SOLAR, 8_000, 20_000, 400, 2_000, 3_600, 2 * 10**17, 15 * 10**16)


@dataclass
class World:
    anvil: Anvil
    d: Deployment
    manifest: Path
    aggregator_key: str

    def now(self) -> int:
        return int(self.d.chain.w3.eth.get_block("latest")["timestamp"])

    def account(self) -> tuple[LocalAccount, Sender]:
        """A fresh account with native tokens for gas."""
        account = Account.create()
        self.d.chain.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**19)])  # type: ignore[arg-type]
        return account, Sender(self.d.chain, "0x" + bytes(account.key).hex())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from simulation.bootstrap import deploy_new

    with start_anvil() as anvil:
        d, deployer = deploy_new(anvil.rpc_url)  # the deployer (dev key 0) is the aggregator
        assert d.artifacts is not None
        manifest = write_manifest(d, d.artifacts, tmp_path_factory.mktemp("chain") / "manifest.json")
        yield World(anvil, d, manifest, dev_keys(1)[0])


def client(world: World, tmp_path: Path, **overrides: Any) -> TestClient:
    values: dict[str, Any] = {
        "rpc_url": world.anvil.rpc_url,
        "manifest": world.manifest,
        "aggregator_key": world.aggregator_key,
        "enrolment_token": ENROLMENT,
        "chain_services": False,
    }
    values.update(overrides)
    settings = make_settings(tmp_path, **values)
    return TestClient(create_app(settings, registry_view=ChainRegistryView(world.d.registry, 0.0)))


def ask(
    api: TestClient, account: LocalAccount, terms: Terms, expiry: int, override: dict[str, Any] | None = None
) -> Any:
    """Challenge, signature and `POST /consent`; `override` replaces (or adds) body fields."""
    challenge = api.post("/auth/challenge", json={"address": account.address}).json()
    payload = {
        "address": account.address,
        "nonce": challenge["nonce"],
        "signature": sign(account, challenge["message"]),
        "enrolment_token": ENROLMENT,
        "terms": TermsIn.of(terms).model_dump(mode="json"),
        "expiry": expiry,
        **(override or {}),
    }
    return api.post("/consent", json=payload)


def consent_of(reply: Any) -> Consent:
    doc = reply.json()
    return Consent(doc["deadline"], doc["v"], bytes.fromhex(doc["r"][2:]), bytes.fromhex(doc["s"][2:]))


def test_a_consent_registers_on_chain(world: World, tmp_path: Path) -> None:
    account, sender = world.account()
    expiry = world.now() + 7 * 86_400
    with client(world, tmp_path) as api:
        reply = ask(api, account, TERMS, expiry)
    assert reply.status_code == 200, reply.text
    doc = reply.json()
    assert (doc["prosumer"], doc["expiry"], doc["nonce"]) == (account.address, expiry, 0)
    assert (doc["registry"], doc["chain_id"]) == (world.d.registry.address, world.d.chain.chain_id)
    assert TermsIn.model_validate_json(json.dumps(doc["terms"])).to_terms() == TERMS
    world.d.registry.register(sender, TERMS, expiry, consent_of(reply))
    assert world.d.registry.is_active(account.address)


def test_a_renewal_gets_consent_and_the_same_contract_again_does_not(world: World, tmp_path: Path) -> None:
    account, sender = world.account()
    expiry = world.now() + 86_400
    with client(world, tmp_path) as api:
        world.d.registry.register(sender, TERMS, expiry, consent_of(ask(api, account, TERMS, expiry)))
        again = ask(api, account, TERMS, expiry)
        assert again.status_code == 409, again.text
        renewal = ask(api, account, TERMS, expiry + 86_400)
        assert renewal.status_code == 200, renewal.text
        assert renewal.json()["nonce"] == 1
    world.d.registry.renegotiate(sender, TERMS, expiry + 86_400, consent_of(renewal))
    assert world.d.registry.registration_of(account.address).expiry == expiry + 86_400


POLICY_BREACHES = [
    pytest.param(dict(capacity_w=100_001, expected_wh_per_day=0), "capacity_w 100001", id="capacity"),
    pytest.param(dict(flex_up_w=8_001), "flex_up_w 8001", id="flex-over-capacity"),
    pytest.param(dict(max_duration_s=86_401), "max_duration_s 86401", id="duration"),
    pytest.param(dict(max_duration_s=0), "max_duration_s 0", id="no-duration"),
    pytest.param(dict(tariff_up=10**18 + 1), "tariff_up", id="tariff"),
    pytest.param(dict(expected_wh_per_day=8_000 * 24 + 1), "expected_wh_per_day", id="expected-energy"),
]


@pytest.mark.parametrize(("change", "reason"), POLICY_BREACHES)
def test_terms_outside_the_policy_are_refused(
    world: World, tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    account, _ = world.account()
    with client(world, tmp_path) as api:
        reply = ask(api, account, replace(TERMS, **change), world.now() + 86_400)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == "invalid"
    assert reason in reply.json()["detail"]


def test_an_expiry_beyond_the_longest_term_is_refused(world: World, tmp_path: Path) -> None:
    account, _ = world.account()
    with client(world, tmp_path, consent_max_term_s=30 * 86_400) as api:
        reply = ask(api, account, TERMS, world.now() + 31 * 86_400)
    assert reply.status_code == 422
    assert "expiry" in reply.json()["detail"]


def test_the_aggregator_stops_at_its_limit_of_contracts(world: World, tmp_path: Path) -> None:
    account, _ = world.account()
    registered = world.d.registry.totals()[2]
    with client(world, tmp_path, consent_max_prosumers=max(1, registered)) as api:
        reply = ask(api, account, TERMS, world.now() + 86_400)
    assert reply.status_code == 422
    assert "limit" in reply.json()["detail"]


def test_an_outsider_gets_no_consent(world: World, tmp_path: Path) -> None:
    account, _ = world.account()
    expiry = world.now() + 86_400
    with client(world, tmp_path) as api:
        wrong = ask(api, account, TERMS, expiry, {"enrolment_token": "guessed"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "unauthorized"
        impostor = Account.create()  # signs the challenge issued to `account`
        challenge = api.post("/auth/challenge", json={"address": account.address}).json()
        body = {
            "address": account.address, "nonce": challenge["nonce"],
            "signature": sign(impostor, challenge["message"]), "enrolment_token": ENROLMENT,
            "terms": TermsIn.of(TERMS).model_dump(mode="json"), "expiry": expiry,
        }  # fmt: skip
        assert api.post("/consent", json=body).status_code == 401
        assert api.post("/consent", json=body).status_code == 401  # the nonce was used up


def test_without_an_enrolment_credential_the_aggregator_takes_no_enrolments(
    world: World, tmp_path: Path
) -> None:
    account, _ = world.account()
    with client(world, tmp_path, enrolment_token=None) as api:
        reply = ask(api, account, TERMS, world.now() + 86_400)
    assert reply.status_code == 403
    assert "AGGREGATOR_ENROLMENT_TOKEN" in reply.json()["detail"]


def test_without_a_signing_key_consent_is_unavailable(world: World, tmp_path: Path) -> None:
    account, _ = world.account()
    with client(world, tmp_path, aggregator_key=None) as api:
        reply = ask(api, account, TERMS, world.now() + 86_400)
    assert reply.status_code == 503
    assert "AGGREGATOR_AGGREGATOR_KEY" in reply.json()["detail"]
    assert "Retry-After" in reply.headers


@pytest.mark.parametrize(
    "body",
    [
        {"unknown": 1},
        {"expiry": "1767225600"},
        {"expiry": True},
        {"terms": {**TermsIn.of(TERMS).model_dump(mode="json"), "kind": "nuclear"}},
        {"terms": {**TermsIn.of(TERMS).model_dump(mode="json"), "capacity_w": 8000.0}},
        {"terms": {**TermsIn.of(TERMS).model_dump(mode="json"), "extra": 0}},
    ],
    ids=["unknown-field", "string-expiry", "bool-expiry", "unknown-kind", "float-capacity", "extra-term"],
)
def test_malformed_bodies_are_refused(world: World, tmp_path: Path, body: dict[str, Any]) -> None:
    account, _ = world.account()
    with client(world, tmp_path) as api:
        reply = ask(api, account, TERMS, world.now() + 86_400, body)
    assert reply.status_code == 422, reply.text
