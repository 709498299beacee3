"""Signed readings roots in, settlement proofs out (issue 16): the aggregator takes a prosumer's signed
root only when it matches the stored readings, so a reading altered or missing in the database is caught;
and it serves each prosumer the proof of its leaf."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import text

from aggregator.app import create_app
from aggregator.evidence import EvidenceRepo, Leaf, Span, leaf_hashes, ordered_leaves
from contracts.anchor import (
    LeafReading,
    merkle_root,
    process_proof,
    readings_root,
    settlement_leaf,
    sign_root,
)
from contracts.manifest import CompilerInfo, ContractAddresses, Manifest
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import login, make_reading, make_settings

CHAIN_ID = 73799
ANCHOR = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"
REQUEST = 7


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    m = Manifest(
        chain_id=CHAIN_ID,
        contracts=ContractAddresses(registry=ANCHOR, token=ANCHOR, market=ANCHOR, anchor=ANCHOR),
        deployer=ANCHOR,
        aggregator=ANCHOR,
        block=1,
        deployed_at=datetime.now(UTC),
        compiler=CompilerInfo(solc_version="0.8.30", evm_version="london", optimizer_runs=200, origin="npm"),
        abis={},
    )
    return m.save(tmp_path / "deployment" / "manifest.json", {})


@pytest.fixture
def client(tmp_path: Path, fleet: Fleet, manifest: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(make_settings(tmp_path, manifest=manifest), registry_view=fleet.registry)
    ) as c:
        yield c


@pytest.fixture
def heads(client: TestClient, fleet: Fleet) -> dict[str, dict[str, str]]:
    """Authorization headers of the fleet's members on this app, by kind."""
    return {"solar": login(client, fleet.solar), "consumer": login(client, fleet.consumer),
            "battery": login(client, fleet.battery)}  # fmt: skip


def send_readings(
    client: TestClient, headers: dict[str, str], producer: bool = True, n: int = 12
) -> list[dict]:
    at = datetime.now(UTC) - timedelta(seconds=n * 5)
    extra = {"available_w": 5_000.5} if producer else {}
    readings = [
        make_reading(seq=i, at=at + timedelta(seconds=5 * i), power_w=1_000.0 + 7.25 * i, **extra)
        for i in range(n)
    ]
    reply = client.post("/readings/batch", json={"readings": readings}, headers=headers)
    assert reply.status_code == 200 and reply.json()["stored"] == n, reply.text
    return readings


def as_leaves(readings: list[dict]) -> list[LeafReading]:
    return [
        LeafReading(r["seq"], datetime.fromisoformat(r["timestamp"]).timestamp(), r["power_w"],
                    r["energy_wh"], r.get("available_w"))
        for r in readings
    ]  # fmt: skip


def signed_body(key: bytes | str, prosumer: str, readings: list[dict], from_ms: int, to_ms: int) -> dict:
    leaves = [r for r in as_leaves(readings) if from_ms <= r.timestamp_ms <= to_ms]
    root = readings_root(prosumer, leaves)
    s = sign_root(key, CHAIN_ID, ANCHOR, REQUEST, from_ms, to_ms, len(leaves), root)
    return {"request_id": REQUEST, "from_ms": from_ms, "to_ms": to_ms, "count": len(leaves),
            "root": "0x" + root.hex(), "signature": "0x" + s.signature().hex()}  # fmt: skip


def span(readings: list[dict], first: int = 0, last: int = -1) -> tuple[int, int]:
    leaves = as_leaves(readings)
    return leaves[first].timestamp_ms, leaves[last].timestamp_ms


def test_a_root_over_the_stored_readings_is_taken_once(client, fleet, heads):
    readings = send_readings(client, heads["solar"])
    body = signed_body(fleet.solar.key, fleet.solar.address, readings, *span(readings, 2, 9))
    reply = client.post("/readings/roots", json=body, headers=heads["solar"])
    assert reply.status_code == 200, reply.text
    assert (reply.json()["status"], reply.json()["count"], reply.json()["root"]) == (
        "stored",
        8,
        body["root"],
    )
    again = client.post("/readings/roots", json=body, headers=heads["solar"])
    assert again.json()["status"] == "duplicate"
    other = signed_body(fleet.solar.key, fleet.solar.address, readings, *span(readings, 0, 9))
    clash = client.post("/readings/roots", json=other, headers=heads["solar"])
    assert clash.status_code == 409 and "signed once per request" in clash.json()["detail"]


def test_a_tampered_reading_in_the_database_is_detected(client, fleet, heads, tmp_path):
    readings = send_readings(client, heads["solar"])
    body = signed_body(fleet.solar.key, fleet.solar.address, readings, *span(readings))
    # someone with write access to the database lowers one reading by 1 W
    engine = client.app.state.ctx.db.engine
    with engine.begin() as conn:
        changed = conn.execute(
            text("UPDATE readings SET power_w = power_w - 1 WHERE prosumer = :p AND seq = 5"),
            {"p": fleet.solar.address.lower()},
        ).rowcount
    assert changed == 1
    reply = client.post("/readings/roots", json=body, headers=heads["solar"])
    assert reply.status_code == 409
    assert "missing or were altered" in reply.json()["detail"] and body["root"] in reply.json()["detail"]


def test_a_deleted_reading_and_a_root_signed_by_another_key_are_refused(client, fleet, heads):
    readings = send_readings(client, heads["consumer"], producer=False)
    with client.app.state.ctx.db.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM readings WHERE prosumer = :p AND seq = 3"),
            {"p": fleet.consumer.address.lower()},
        )
    body = signed_body(fleet.consumer.key, fleet.consumer.address, readings, *span(readings))
    reply = client.post("/readings/roots", json=body, headers=heads["consumer"])
    assert reply.status_code == 409 and "11 readings stored" in reply.json()["detail"]
    readings = send_readings(client, heads["battery"], producer=False)
    forged = signed_body(Account.create().key, fleet.battery.address, readings, *span(readings))
    reply = client.post("/readings/roots", json=forged, headers=heads["battery"])
    assert reply.status_code == 409 and "recovers to" in reply.json()["detail"]


def test_a_prosumer_reads_the_proof_of_its_own_leaf(client, fleet, heads):
    repo = EvidenceRepo(client.app.state.ctx.db, client.app.state.ctx.store)
    members = [fleet.solar.address, fleet.consumer.address, fleet.battery.address]
    leaves = ordered_leaves([Leaf(a.lower(), 100 + i, bytes([i + 1]) * 32) for i, a in enumerate(members)])
    root = merkle_root(leaf_hashes(REQUEST, leaves))
    repo.save_anchor(REQUEST, root, leaves, Span(0, 1_000.0, 1_900.0, 900.0), "0x" + "ab" * 32, 12)

    reply = client.get(f"/anchors/{REQUEST}/proof", headers=heads["consumer"])
    assert reply.status_code == 200, reply.text
    proof = reply.json()
    assert (proof["delivered_wh"], proof["leaf_count"], proof["root"]) == (101, 3, "0x" + root.hex())
    leaf = settlement_leaf(REQUEST, fleet.consumer.address, 101, bytes.fromhex(proof["readings_root"][2:]))
    assert process_proof(leaf, [bytes.fromhex(p[2:]) for p in proof["proof"]]) == root

    other = client.get(f"/anchors/{REQUEST}/proof?prosumer={fleet.solar.address}", headers=heads["consumer"])
    assert other.status_code == 403
    assert client.get(f"/anchors/{REQUEST + 1}/proof", headers=heads["consumer"]).status_code == 404
    assert client.get(f"/anchors/{REQUEST}/proof").status_code == 401


def test_every_participant_s_proof_comes_from_one_hashing_of_the_tree(client, monkeypatch):
    """Hundreds of participants ask for their proofs right after a settlement: the tree is hashed
    once per anchor (again only when the anchor is saved again), and every proof still holds."""
    import aggregator.evidence as evidence
    from aggregator.errors import NotFound

    repo = EvidenceRepo(client.app.state.ctx.db, client.app.state.ctx.store)
    members = [Account.create().address for _ in range(37)]
    leaves = ordered_leaves([Leaf(a.lower(), 10 + i, bytes([i + 1]) * 32) for i, a in enumerate(members)])
    root = merkle_root(leaf_hashes(REQUEST, leaves))
    span = Span(0, 1_000.0, 1_900.0, 900.0)
    repo.save_anchor(REQUEST, root, leaves, span, "0x" + "ab" * 32, 12)
    hashed = []
    monkeypatch.setattr(evidence, "leaf_hashes", lambda rid, xs: hashed.append(rid) or leaf_hashes(rid, xs))

    for a in members:
        record, leaf, position, proof = repo.proof(REQUEST, a)
        assert leaves[position] == leaf and record.root == "0x" + root.hex()
        hashed_leaf = settlement_leaf(REQUEST, a, leaf.delivered_wh, leaf.readings_root)
        assert process_proof(hashed_leaf, proof) == root
    assert hashed == [REQUEST]
    with pytest.raises(NotFound):
        repo.proof(REQUEST, Account.create().address)
    with pytest.raises(NotFound):
        repo.proof(REQUEST + 1, members[0])

    repo.save_anchor(REQUEST, root, leaves, span, "0x" + "cd" * 32, 13)  # recovered: saved again
    assert repo.proof(REQUEST, members[0])[0].tx_hash == "0x" + "cd" * 32
    assert hashed == [REQUEST, REQUEST]

    repo.save_anchor(REQUEST + 1, root, leaves, span, None, None)  # asked above before it was anchored
    assert repo.proof(REQUEST + 1, members[0])[1].prosumer == members[0].lower()
