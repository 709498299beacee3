"""`POST /answers` and `GET /answers/{id}`: prosumers' signed answers, checked by the aggregator and
relayed on chain in batches (`aggregator.relay`), on a real anvil with the contracts deployed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.registry import ChainRegistryView
from aggregator.relay import AnswerRelay, batch_size, fits
from contracts.answers import SECP256K1_N, SignedAnswer, sign_answer
from contracts.anvil import Anvil, dev_keys, start_anvil
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import Direction, Response, Strategy
from domain.vocabulary import AnswerAction
from tests.aggregator.factories import login, make_settings, make_terms
from tests.contracts.consent import register as consented_register

pytestmark = pytest.mark.chain

ACCEPT, UP_TO, APPLY, DECLINE = AnswerAction


@dataclass
class World:
    anvil: Anvil
    d: Deployment
    aggregator: Sender
    members: list[LocalAccount]

    def now(self) -> int:
        return int(self.d.chain.w3.eth.get_block("latest")["timestamp"])

    def open(self, strategy: Strategy = Strategy.FAIR, deadline_in: int = 120) -> int:
        now = max(self.now(), int(time.time()))
        rid, _ = self.d.market.open_request(
            self.aggregator, Direction.UP, 3_000, 3_600, now + 300, now + 3_900, now + deadline_in, strategy
        )
        return rid

    def cancel_open(self) -> None:
        rid = self.d.market.current_request_id()
        if rid:
            self.d.market.cancel_request(self.aggregator, rid)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from simulation.bootstrap import deploy_new

    with start_anvil() as anvil:
        d, deployer = deploy_new(anvil.rpc_url)  # the deployer (dev key 0) is the aggregator
        chain = d.chain
        expiry = int(chain.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
        members = [Account.from_key(k) for k in dev_keys(5)[2:5]]
        for m in members:
            consented_register(d.registry, Sender(chain, "0x" + bytes(m.key).hex()), make_terms(), expiry)
        yield World(anvil, d, deployer, members)


@dataclass
class Api:
    client: TestClient
    relay: AnswerRelay
    world: World

    def sign(self, who: LocalAccount, rid: int, action: AnswerAction, value: int = 0) -> SignedAnswer:
        d = self.world.d
        return sign_answer(who.key, d.chain.chain_id, d.market.address, rid, action, value)

    def post(self, headers: dict[str, str] | None, a: SignedAnswer, **override: Any) -> Any:
        body = {
            "request_id": a.request_id,
            "action": a.action.label,
            "value": a.value,
            "v": a.v,
            "r": "0x" + a.r.hex(),
            "s": "0x" + a.s.hex(),
            **override,
        }
        return self.client.post("/answers", json=body, headers=headers or {})


@pytest.fixture
def api(world: World, tmp_path: Path) -> Iterator[Api]:
    settings = make_settings(
        tmp_path,
        rpc_url=world.anvil.rpc_url,
        chain_services=False,
        relay_max_pending=2,
    )
    app = create_app(settings, registry_view=ChainRegistryView(world.d.registry, 0.0))
    relay = AnswerRelay(world.d, world.aggregator, every_s=0.2, max_pending=settings.relay_max_pending)
    app.state.ctx.relay = relay
    world.cancel_open()
    try:
        with TestClient(app) as client:
            yield Api(client, relay, world)
    finally:
        world.cancel_open()


def test_a_signed_answer_is_queued_relayed_and_recorded(api: Api) -> None:
    w = api.world
    rid = w.open()
    p, q = w.members[:2]
    hp, hq = login(api.client, p), login(api.client, q)

    first = api.post(hp, api.sign(p, rid, ACCEPT))
    second = api.post(hq, api.sign(q, rid, DECLINE, 5))

    assert (first.status_code, first.json()["state"]) == (202, "queued"), first.text
    assert second.status_code == 202
    assert api.client.get(f"/answers/{rid}", headers=hp).json()["state"] == "queued"
    assert api.relay.step() == 2
    mine = api.client.get(f"/answers/{rid}", headers=hp).json()
    assert (mine["state"], mine["action"], mine["prosumer"]) == ("recorded", "accept", p.address)
    assert mine["tx_hash"]
    assert w.d.market.commitment_of(rid, p.address).response == Response.ACCEPTED
    assert w.d.market.commitment_of(rid, q.address).response == Response.DECLINED
    assert api.relay.stats.relayed == 2 and api.relay.stats.gas_used > 0
    assert api.client.get(f"/answers/{rid}", headers=login(api.client, w.members[2])).status_code == 404
    # the same answer again is idempotent; another answer to the same request is a conflict
    again = api.post(hp, api.sign(p, rid, ACCEPT))
    assert (again.status_code, again.json()["state"]) == (202, "recorded")
    assert api.post(hp, api.sign(p, rid, DECLINE, 1)).status_code == 409


def test_what_the_contract_refuses_is_reported(api: Api) -> None:
    w = api.world
    rid = w.open()
    p = w.members[0]
    h = login(api.client, p)
    assert api.post(h, api.sign(p, rid, UP_TO, 1)).status_code == 202  # below its share
    assert api.relay.step() == 1
    mine = api.client.get(f"/answers/{rid}", headers=h).json()
    assert (mine["state"], mine["reason"]) == ("refused", "LimitBelowShare")
    # refused: the prosumer may answer again
    assert api.post(h, api.sign(p, rid, ACCEPT)).status_code == 202


def test_hostile_answers_are_refused(api: Api) -> None:
    w = api.world
    rid = w.open()
    p, q = w.members[:2]
    h = login(api.client, p)
    good = api.sign(p, rid, ACCEPT)
    high_s = (SECP256K1_N - int.from_bytes(good.s, "big")).to_bytes(32, "big")

    assert api.post(None, good).status_code == 401
    assert api.post({"Authorization": "Bearer nonsense"}, good).status_code == 401
    assert api.post(h, api.sign(q, rid, ACCEPT)).status_code == 422  # another prosumer's signature
    assert api.post(h, api.sign(p, rid + 1, ACCEPT)).status_code == 409  # not the open request
    assert api.post(h, api.sign(p, rid, APPLY)).status_code == 422  # apply under the fair strategy
    assert api.post(h, api.sign(p, rid, DECLINE, 99)).status_code == 422  # no such reason
    assert api.post(h, good, v=29).status_code == 422
    assert api.post(h, good, s="0x" + high_s.hex(), v=55 - good.v).status_code == 422
    assert api.post(h, good, r="0x1234").status_code == 422
    assert api.post(h, good, value=-1).status_code == 422
    assert api.post(h, good, action="grab").status_code == 422
    assert api.post(h, good, value="0").status_code == 422  # strict: no strings for numbers
    assert api.post(h, good, extra=1).status_code == 422
    assert api.post(h, good, value=7).status_code == 422  # signed for another value: not p's signature
    assert api.relay.stats.relayed == 0 and api.relay.state(p.address, rid) is None


def test_answers_after_the_deadline_are_refused_and_queued_ones_dropped(api: Api) -> None:
    w = api.world
    rid = w.open(deadline_in=3)
    p = w.members[0]
    h = login(api.client, p)
    assert api.post(h, api.sign(p, rid, ACCEPT)).status_code == 202
    time.sleep(max(0.0, w.d.market.request(rid).deadline - time.time()) + 1.1)
    assert api.post(login(api.client, w.members[1]), api.sign(w.members[1], rid, ACCEPT)).status_code == 409
    assert api.relay.step() == 0
    mine = api.client.get(f"/answers/{rid}", headers=h).json()
    assert mine["state"] == "dropped" and "closed" in mine["reason"]


def test_the_queue_is_bounded(api: Api) -> None:
    w = api.world
    rid = w.open(strategy=Strategy.REPUTATION)
    replies = [api.post(login(api.client, m), api.sign(m, rid, APPLY)) for m in w.members]
    assert [r.status_code for r in replies] == [202, 202, 503]
    assert "Retry-After" in replies[2].headers
    assert api.relay.step() == 2
    assert api.post(login(api.client, w.members[2]), api.sign(w.members[2], rid, APPLY)).status_code == 202


def test_without_a_relay_answers_are_unavailable(world: World, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rpc_url=world.anvil.rpc_url, chain_services=False)
    with TestClient(create_app(settings, registry_view=ChainRegistryView(world.d.registry, 0.0))) as c:
        h = login(c, world.members[0])
        reply = c.get("/answers/1", headers=h)
        posted = c.post("/answers", headers=h, json={})
        api = Api(c, AnswerRelay(world.d, world.aggregator), world)
        signed = api.post(h, api.sign(world.members[0], 1, ACCEPT))
    assert reply.status_code == 404 and posted.status_code == 422
    assert signed.status_code == 409 and "relays no answers" in signed.json()["detail"]


def test_batches_follow_the_gas_budget_and_the_strategy() -> None:
    assert batch_size(6_000_000, 40_000, 1_000) == 150
    assert batch_size(6_000_000, 21_000, 1_000) == 285
    assert batch_size(6_000_000, 21_000, 7) == 7
    assert batch_size(10_000, 40_000, 5) == 1
    assert fits(Strategy.FAIR, ACCEPT) and fits(Strategy.FAIR, DECLINE) and not fits(Strategy.FAIR, APPLY)
    assert fits(Strategy.REPUTATION, APPLY) and not fits(Strategy.REPUTATION, UP_TO)
