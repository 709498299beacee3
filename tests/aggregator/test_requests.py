"""Flexibility requests: the `RequestQueue` repository (SQLite and PostgreSQL) and the grid operator's API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from aggregator.db import Database
from aggregator.errors import Conflict, InvalidInput, NotFound
from aggregator.requests_repo import RequestQueue
from aggregator.wire_market import FlexRequestOut
from tests.aggregator.factories import GRID, bearer

P1, P2 = "0x" + "a1" * 20, "0x" + "b2" * 20


def test_queue_runs_oldest_first_and_claims_atomically(db: Database) -> None:
    q = RequestQueue(db)
    first = q.enqueue("up", 20_000, 3_600, 900, "fair")
    second = q.enqueue("down", 5_000, 600, 0, "reputation")
    assert (first.status, first.id < second.id) == ("queued", True)
    assert q.next_queued().id == first.id  # type: ignore[union-attr]
    claimed = q.claim_next()
    assert claimed is not None and claimed.id == first.id and claimed.status == "opening"
    assert q.next_queued().id == second.id  # type: ignore[union-attr]
    q.cancel_queued(second.id)
    assert q.claim_next() is None
    assert [r.id for r in q.in_progress()] == [first.id]


def test_mark_moves_a_request_and_checks_its_state(db: Database) -> None:
    q = RequestQueue(db)
    req = q.claim_next() or q.enqueue("up", 1_000, 600, 60, "fair")
    opened = q.mark(
        req.id,
        "open",
        chain_request_id=3,
        opened_tx="0x" + "ab" * 32,
        start=1_000,
        end=1_600,
        deadline=940,
        requested_wh=167,
    )
    assert (opened.status, opened.chain_request_id, opened.start, opened.requested_wh) == (
        "open",
        3,
        1_000,
        167,
    )
    assert opened.updated_at >= opened.created_at
    with pytest.raises(Conflict, match="is open; this needs it to be queued"):
        q.mark(req.id, "cancelled", expect=["queued"])
    settled = q.mark(
        req.id, "settled", expect=["open"], paid=10**24, delivered_wh=160, compliant=2, participants=2
    )
    assert settled.paid == 10**24  # beyond 64 bits: stored as text
    with pytest.raises(NotFound):
        q.mark(999, "open")
    with pytest.raises(InvalidInput, match="unknown request field"):
        q.mark(req.id, "open", colour="red")
    with pytest.raises(ValueError):
        q.mark(req.id, "exploded")


def test_responses_are_recorded_once_per_kind(db: Database) -> None:
    q = RequestQueue(db)
    req = q.enqueue("up", 4_000, 3_600, 900, "fair")
    q.record_response(req.id, P1, "accepted", committed_w=2_000, tx_hash="0x01", block=10)
    q.record_response(req.id, P2.upper().replace("0X", "0x"), "declined", reason="outage")
    q.record_response(req.id, P1, "accepted", committed_w=2_000, tx_hash="0x01", block=10)  # replayed event
    q.record_response(req.id, P1, "delivered", delivered_wh=1_950, compliant=True, paid=4 * 10**17)
    got = [(r.prosumer, r.kind, r.committed_w, r.reason, r.compliant) for r in q.responses(req.id)]
    assert got == [
        (P1, "accepted", 2_000, None, None),
        (P2, "declined", None, "outage", None),
        (P1, "delivered", None, None, True),
    ]
    assert [r.kind for r in q.responses_of(P1.upper().replace("0X", "0x"))] == ["accepted", "delivered"]
    with pytest.raises(NotFound):
        q.record_response(999, P1, "accepted")
    with pytest.raises(ValueError):
        q.record_response(req.id, P1, "shrugged")
    with pytest.raises(InvalidInput):
        q.record_response(req.id, P1, "accepted", mood="happy")


def test_modify_and_cancel_only_while_queued(db: Database) -> None:
    q = RequestQueue(db)
    req = q.enqueue("up", 4_000, 3_600, 900, "fair")
    changed = q.modify_queued(req.id, power_w=6_000, lead_time_s=None)
    assert (changed.power_w, changed.lead_time_s) == (6_000, 900)
    with pytest.raises(InvalidInput):
        q.modify_queued(req.id, direction="down")
    q.mark(req.id, "opening")
    with pytest.raises(Conflict):
        q.modify_queued(req.id, power_w=1)
    with pytest.raises(Conflict):
        q.cancel_queued(req.id)


def test_list_by_status_newest_first(db: Database) -> None:
    q = RequestQueue(db)
    ids = [q.enqueue("up", 1_000 + i, 600, 60, "fair").id for i in range(5)]
    q.cancel_queued(ids[1])
    assert [r.id for r in q.list()] == ids[::-1]
    assert [r.id for r in q.list(status="cancelled")] == [ids[1]]
    assert [r.id for r in q.list(limit=2, offset=1)] == [ids[3], ids[2]]


# ---------------------------------------------------------------------------------------------- API

GRID_H = bearer(GRID)


def test_grid_operator_queues_inspects_modifies_and_cancels(api: TestClient) -> None:
    created = api.post(
        "/requests", json={"direction": "up", "power_w": 20_000, "duration_s": 3_600}, headers=GRID_H
    )
    assert created.status_code == 201
    req = FlexRequestOut.model_validate(created.json())
    assert (req.status, req.strategy, req.lead_time_s) == ("queued", "fair", 900)
    other = api.post(
        "/requests",
        json={
            "direction": "down",
            "power_w": 1,
            "duration_s": 60,
            "lead_time_s": 0,
            "strategy": "reputation",
        },
        headers=GRID_H,
    ).json()
    assert other["strategy"] == "reputation"
    patched = api.patch(f"/requests/{req.id}", json={"power_w": 15_000}, headers=GRID_H)
    assert patched.json()["power_w"] == 15_000 and patched.json()["duration_s"] == 3_600
    assert api.patch(f"/requests/{req.id}", json={}, headers=GRID_H).status_code == 422
    ctx = api.app.state.ctx  # type: ignore[attr-defined]
    ctx.requests.record_response(req.id, "0x" + "cd" * 20, "accepted", committed_w=2_000)
    detail = api.get(f"/requests/{req.id}", headers=GRID_H).json()
    assert [(r["kind"], r["committed_w"]) for r in detail["responses"]] == [("accepted", 2_000)]
    listed = api.get("/requests", params={"status": "queued"}, headers=GRID_H).json()["requests"]
    assert [r["id"] for r in listed] == [other["id"], req.id] and listed[0]["responses"] == []
    assert api.post(f"/requests/{req.id}/cancel", headers=GRID_H).json()["status"] == "cancelled"
    again = api.post(f"/requests/{req.id}/cancel", headers=GRID_H)
    assert again.status_code == 409 and "is cancelled" in again.json()["detail"]
    ctx.requests.mark(other["id"], "open")
    assert api.patch(f"/requests/{other['id']}", json={"power_w": 2}, headers=GRID_H).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"direction": "sideways", "power_w": 1, "duration_s": 60},
        {"direction": "up", "power_w": 0, "duration_s": 60},
        {"direction": "up", "power_w": 1, "duration_s": -5},
        {"direction": "up", "power_w": 1},
        {"direction": "up", "power_w": 1, "duration_s": 60, "strategy": "random"},
        {"direction": "up", "power_w": 1, "duration_s": 60, "priority": 9},
    ],
)
def test_invalid_requests_are_refused(api: TestClient, body: dict) -> None:
    reply = api.post("/requests", json=body, headers=GRID_H)
    assert reply.status_code == 422 and reply.json()["error"] == "invalid"
    assert api.get("/requests", headers=GRID_H).json()["requests"] == []


def test_unknown_request(api: TestClient) -> None:
    for reply in (api.get("/requests/42", headers=GRID_H), api.post("/requests/42/cancel", headers=GRID_H)):
        assert reply.status_code == 404 and reply.json()["error"] == "not_found"
    assert api.get("/requests/0", headers=GRID_H).status_code == 422
