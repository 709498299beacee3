"""Who may do what: prosumer login against the real chain registry, and every refusal (401 / 403)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from aggregator.app import create_app
from contracts.sender import Sender
from contracts.types import SourceKind
from tests.aggregator.conftest import ChainFleet, chain_settings
from tests.aggregator.factories import ADMIN, GRID, bearer, login, make_reading, sign

pytestmark = pytest.mark.chain

SOLAR, CONSUMER = SourceKind.SOLAR, SourceKind.CONSUMER


@pytest.fixture
def client(tmp_path: Path, chain_fleet: ChainFleet) -> Iterator[TestClient]:
    with TestClient(create_app(chain_settings(tmp_path, chain_fleet))) as c:
        yield c


def challenge(client: TestClient, address: str) -> dict[str, str]:
    reply = client.post("/auth/challenge", json={"address": address})
    assert reply.status_code == 200
    return reply.json()


def assert_refused(reply, status: int, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) >= {"error", "detail"}
    for needle in needles:
        assert needle in body["detail"], body["detail"]


def test_registered_prosumer_logs_in_and_stores_its_reading(
    client: TestClient, chain_fleet: ChainFleet
) -> None:
    account = chain_fleet.prosumers[SOLAR]
    ch = challenge(client, account.address)
    assert ch["nonce"] in ch["message"] and account.address in ch["message"]
    reply = client.post(
        "/auth/login",
        json={"address": account.address, "nonce": ch["nonce"], "signature": sign(account, ch["message"])},
    )
    assert reply.status_code == 200
    token = reply.json()
    assert token["token_type"] == "bearer" and token["address"] == account.address
    posted = client.post("/readings", json=make_reading(1), headers=bearer(token["access_token"]))
    assert posted.json() == {"seq": 1, "status": "stored"}


def test_bad_signature_is_refused(client: TestClient, chain_fleet: ChainFleet) -> None:
    account = chain_fleet.prosumers[SOLAR]
    ch = challenge(client, account.address)
    forged = sign(Account.create(), ch["message"])
    reply = client.post(
        "/auth/login", json={"address": account.address, "nonce": ch["nonce"], "signature": forged}
    )
    assert_refused(reply, 401, "does not recover")


def test_malformed_signature_is_refused(client: TestClient, chain_fleet: ChainFleet) -> None:
    account = chain_fleet.prosumers[SOLAR]
    ch = challenge(client, account.address)
    reply = client.post(
        "/auth/login", json={"address": account.address, "nonce": ch["nonce"], "signature": "0x1234"}
    )
    assert_refused(reply, 401, "does not recover")


def test_signature_of_another_message_is_refused(client: TestClient, chain_fleet: ChainFleet) -> None:
    account = chain_fleet.prosumers[SOLAR]
    ch = challenge(client, account.address)
    other = sign(account, ch["message"].replace(ch["nonce"], "x" + ch["nonce"]))
    reply = client.post(
        "/auth/login", json={"address": account.address, "nonce": ch["nonce"], "signature": other}
    )
    assert_refused(reply, 401, "does not recover")


def test_replayed_nonce_is_refused(client: TestClient, chain_fleet: ChainFleet) -> None:
    account = chain_fleet.prosumers[SOLAR]
    ch = challenge(client, account.address)
    body = {"address": account.address, "nonce": ch["nonce"], "signature": sign(account, ch["message"])}
    assert client.post("/auth/login", json=body).status_code == 200
    assert_refused(client.post("/auth/login", json=body), 401, "already used")


def test_failed_login_consumes_the_nonce(client: TestClient, chain_fleet: ChainFleet) -> None:
    account = chain_fleet.prosumers[SOLAR]
    ch = challenge(client, account.address)
    bad = {
        "address": account.address,
        "nonce": ch["nonce"],
        "signature": sign(Account.create(), ch["message"]),
    }
    assert client.post("/auth/login", json=bad).status_code == 401
    good = {**bad, "signature": sign(account, ch["message"])}
    assert_refused(client.post("/auth/login", json=good), 401, "already used")


def test_nonce_of_another_address_is_refused(client: TestClient, chain_fleet: ChainFleet) -> None:
    owner, thief = chain_fleet.prosumers[SOLAR], chain_fleet.prosumers[CONSUMER]
    ch = challenge(client, owner.address)
    reply = client.post(
        "/auth/login",
        json={"address": thief.address, "nonce": ch["nonce"], "signature": sign(thief, ch["message"])},
    )
    assert_refused(reply, 401, "issued to")


def test_expired_nonce_is_refused(tmp_path: Path, chain_fleet: ChainFleet) -> None:
    account = chain_fleet.prosumers[SOLAR]
    with TestClient(create_app(chain_settings(tmp_path, chain_fleet, nonce_ttl_s=0.2))) as client:
        ch = challenge(client, account.address)
        time.sleep(0.3)
        body = {"address": account.address, "nonce": ch["nonce"], "signature": sign(account, ch["message"])}
        assert_refused(client.post("/auth/login", json=body), 401, "expired")


def test_expired_token_is_refused(tmp_path: Path, chain_fleet: ChainFleet) -> None:
    with TestClient(create_app(chain_settings(tmp_path, chain_fleet, token_ttl_s=0.3))) as client:
        headers = login(client, chain_fleet.prosumers[SOLAR])
        assert client.post("/readings", json=make_reading(1), headers=headers).status_code == 200
        time.sleep(0.4)
        assert_refused(client.post("/readings", json=make_reading(2), headers=headers), 401, "expired")


def test_unregistered_prosumer_cannot_log_in(client: TestClient, chain_fleet: ChainFleet) -> None:
    stranger = chain_fleet.stranger
    ch = challenge(client, stranger.address)
    body = {"address": stranger.address, "nonce": ch["nonce"], "signature": sign(stranger, ch["message"])}
    assert_refused(client.post("/auth/login", json=body), 403, "not an active prosumer")


def test_removed_prosumer_cannot_log_in(client: TestClient, chain_fleet: ChainFleet) -> None:
    chain = chain_fleet.deployment.chain
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    account = chain_fleet.prosumers[CONSUMER]
    sender = Sender(chain, "0x" + bytes(account.key).hex())
    try:
        chain_fleet.deployment.registry.remove(sender)
        ch = challenge(client, account.address)
        body = {"address": account.address, "nonce": ch["nonce"], "signature": sign(account, ch["message"])}
        assert_refused(client.post("/auth/login", json=body), 403, "not an active prosumer")
    finally:
        chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    assert chain_fleet.deployment.registry.is_active(account.address)


def test_a_prosumer_cannot_touch_another_prosumers_readings(
    client: TestClient, chain_fleet: ChainFleet
) -> None:
    solar, consumer = chain_fleet.prosumers[SOLAR], chain_fleet.prosumers[CONSUMER]
    headers = login(client, solar)
    # A reading has no prosumer field: it always belongs to the token's owner; naming another is refused.
    spoof = client.post("/readings", json={**make_reading(7), "prosumer": consumer.address}, headers=headers)
    assert spoof.status_code == 422 and "prosumer" in spoof.json()["detail"]
    assert_refused(
        client.get("/readings", params={"prosumer": consumer.address}, headers=headers), 403, "its own"
    )
    assert_refused(client.get(f"/prosumers/{consumer.address}/profile", headers=headers), 403, "its own")
    own = client.get("/readings", headers=headers).json()
    assert own["count"] == 0
    everything = client.get("/readings", headers=bearer(GRID)).json()
    assert everything["count"] == 0  # the spoofed reading was not stored anywhere


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/requests", {"direction": "up", "power_w": 1000, "duration_s": 600}),
        ("get", "/requests", None),
        ("get", "/overview", None),
    ],
)
def test_grid_endpoints_need_the_grid_credential(
    client: TestClient, chain_fleet: ChainFleet, method: str, path: str, body: dict | None
) -> None:
    prosumer = login(client, chain_fleet.prosumers[SOLAR])
    call = getattr(client, method)
    kwargs = {"json": body} if body is not None else {}
    assert_refused(call(path, **kwargs), 401, "missing bearer token")
    assert_refused(call(path, headers=bearer("not-a-credential"), **kwargs), 401, "unknown bearer token")
    assert_refused(call(path, headers=prosumer, **kwargs), 403, "grid operator")
    assert call(path, headers=bearer(GRID), **kwargs).status_code in (200, 201)
    assert call(path, headers=bearer(ADMIN), **kwargs).status_code in (200, 201)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/admin/clock", None),
        ("put", "/admin/clock", {"sim_start": "2025-06-01T00:00:00Z", "speed": 60}),
        ("post", "/admin/revoke", {"address": "0x" + "11" * 20}),
    ],
)
def test_admin_endpoints_need_the_admin_credential(
    client: TestClient, chain_fleet: ChainFleet, method: str, path: str, body: dict | None
) -> None:
    prosumer = login(client, chain_fleet.prosumers[SOLAR])
    call = getattr(client, method)
    kwargs = {"json": body} if body is not None else {}
    assert_refused(call(path, **kwargs), 401, "missing bearer token")
    assert_refused(call(path, headers=bearer(GRID), **kwargs), 403, "admin credential")
    assert_refused(call(path, headers=prosumer, **kwargs), 403, "admin credential")
    assert call(path, headers=bearer(ADMIN), **kwargs).status_code == 200


def test_readings_need_a_prosumer_token(client: TestClient) -> None:
    reply = client.post("/readings", json=make_reading(1))
    assert_refused(reply, 401, "missing bearer token")
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert_refused(
        client.post("/readings", json=make_reading(1), headers={"Authorization": "Basic abc"}), 401
    )
    assert_refused(client.post("/readings", json=make_reading(1), headers=bearer(GRID)), 403, "prosumer")
    assert_refused(
        client.post("/readings/batch", json={"readings": [make_reading(1)]}, headers=bearer(ADMIN)), 403
    )


def test_revoked_tokens_are_refused(client: TestClient, chain_fleet: ChainFleet) -> None:
    account = chain_fleet.prosumers[SOLAR]
    headers = login(client, account)
    reply = client.post("/admin/revoke", json={"address": account.address}, headers=bearer(ADMIN))
    assert reply.json() == {"address": account.address, "revoked": 1}
    assert_refused(
        client.post("/readings", json=make_reading(1), headers=headers), 401, "unknown bearer token"
    )
