"""The prosumer's evidence keeper (issue 16) against a real anvil and the real aggregator app: right after
finalisation it fetches its leaf and proof, checks them against the chain, and disputes on chain when
the aggregator anchored another delivery than the market recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.context import AppContext
from aggregator.evidence import EvidenceRepo, Leaf, Span, leaf_hashes, ordered_leaves
from aggregator.registry import TrustedRegistryView
from contracts.anchor import merkle_root, sign_root
from contracts.anvil import dev_keys, start_anvil
from contracts.deploy import write_manifest
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import Registration, SourceKind, Terms
from domain.clock import SimClock
from prosumer.chain_side import ChainSide
from prosumer.evidence import EvidenceKeeper, Stage, Watched
from prosumer.settings import ProsumerSettings
from prosumer.uplink import AckedReadings
from simulation.bootstrap import deploy_new
from tests.aggregator.factories import login, make_settings
from tests.contracts.clock import Clock
from tests.contracts.consent import register as consented_register
from tests.contracts.flows import accept_all, open_request, record

pytestmark = pytest.mark.chain

TERMS = Terms(SourceKind.SOLAR, 8_000, 20_000, 2_000, 2_000, 7_200, 2 * 10**17, 10**17)
SIGNED = b"\x5a" * 32


@dataclass
class World:
    d: Deployment
    aggregator: Sender
    prosumers: list[Sender]
    client: TestClient
    ctx: AppContext


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with start_anvil() as anvil:
        d, aggregator = deploy_new(anvil.rpc_url)
        assert d.artifacts is not None
        manifest = write_manifest(d, d.artifacts, tmp_path / "deployment" / "manifest.json")
        prosumers = [Sender(d.chain, k) for k in dev_keys(10)[4:6]]
        expiry = int(d.chain.w3.eth.get_block("latest")["timestamp"]) + 86_400
        for p in prosumers:
            consented_register(d.registry, p, TERMS, expiry)
        view = TrustedRegistryView({p.address: Registration(TERMS, expiry, 1, True) for p in prosumers})
        app = create_app(make_settings(tmp_path, manifest=manifest), registry_view=view)
        with TestClient(app) as client:
            yield World(d, aggregator, prosumers, client, app.state.ctx)


def recorded_request(w: World, recorded: dict[str, int]) -> int:
    """A request whose deliveries are recorded, not finalised yet (`anchor` finalises it)."""
    clock = Clock(w.d.chain.w3)
    rid, schedule = open_request(w.d, w.aggregator, clock, 2_000)
    accept_all(w.d, w.prosumers, rid)
    record(w.d, w.aggregator, clock, rid, schedule, recorded)
    return rid


def anchor(w: World, rid: int, leaves: list[Leaf]) -> None:
    """The aggregator's side: finalise with the leaves' root anchored, keep them for the proof endpoint."""
    ordered = ordered_leaves(leaves)
    root = merkle_root(leaf_hashes(rid, ordered))
    w.d.market.finalise_anchored(w.aggregator, rid, root, len(ordered))
    EvidenceRepo(w.ctx.db, w.ctx.store).save_anchor(
        rid, root, ordered, Span(0, 0.0, 900.0, 900.0), None, None
    )


def keeper(w: World, p: Sender, rid: int) -> EvidenceKeeper:
    """The prosumer's keeper at the check stage of `rid`, its signed root for it in hand."""
    headers = login(w.client, p.account)

    def authed(method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return w.client.request(method, path, json=body, headers=headers)

    def no_consent(terms: Terms, expiry: int) -> Any:
        raise AssertionError("checking a leaf needs no consent")

    chain = ChainSide(w.d, p, ProsumerSettings(), no_consent)
    clock = SimClock(datetime.now(UTC))
    k = EvidenceKeeper(chain, p.account.key, clock, AckedReadings(), authed, 960.0, time.time)
    signed = sign_root(p.account.key, w.d.chain.chain_id, w.d.anchor.address, rid, 0, 1, 1, SIGNED)
    k.watched[rid] = Watched(rid, 0.0, time.time(), Stage.CHECK, signed)
    return k


def test_the_prosumer_disputes_a_leaf_that_differs_from_its_recorded_delivery(world: World) -> None:
    w = world
    a, b = w.prosumers
    rid = recorded_request(w, {a.address: 500, b.address: 480})
    # the aggregator anchors 450 Wh for A (the market recorded 500) and B's honest leaf
    anchor(w, rid, [Leaf(a.address.lower(), 450, SIGNED), Leaf(b.address.lower(), 480, SIGNED)])

    cheated = keeper(w, a, rid)
    cheated.tick()
    assert cheated.disputes == [rid] and rid not in cheated.watched
    assert w.d.anchor.is_upheld(rid, a.address) and w.d.anchor.faults() == 1

    honest = keeper(w, b, rid)
    honest.tick()
    assert honest.disputes == [] and not w.d.anchor.is_upheld(rid, b.address)


def test_the_prosumer_disputes_a_leaf_without_its_signed_root(world: World) -> None:
    w = world
    a, b = w.prosumers
    rid = recorded_request(w, {a.address: 500, b.address: 480})
    anchor(w, rid, [Leaf(a.address.lower(), 500, b"\x01" * 32), Leaf(b.address.lower(), 480, SIGNED)])
    k = keeper(w, a, rid)
    k.tick()
    assert k.disputes == [rid] and w.d.anchor.is_upheld(rid, a.address)
