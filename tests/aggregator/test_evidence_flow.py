"""Tamper evidence end to end on a real anvil (issue 16): the dispatcher settles a request and anchors
it with the prosumers' signed readings roots; `flexsim verify` and the independent script find
everything consistent, then both catch a reading altered in the database afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from aggregator.anchoring import recover_anchor
from aggregator.app import build_context
from aggregator.context import AppContext
from aggregator.dispatch import Dispatcher
from aggregator.evidence import AnchorSite, EvidenceRepo, leaf_hashes, signed_readings
from aggregator.planning import DispatchPolicy
from aggregator.registry import TrustedRegistryView
from aggregator.settlement import measurement_span
from aggregator.wire_market import RequestState
from contracts.anchor import merkle_root, milli, readings_root, sign_root
from contracts.anvil import dev_keys, start_anvil
from contracts.deploy import write_manifest
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import SourceKind, Terms
from flexsim.cli.app import main
from simulation.bootstrap import deploy_new
from simulation.verify import verify_folder
from tests.aggregator.factories import make_settings
from tests.contracts.consent import register as consented_register

pytestmark = [pytest.mark.chain, pytest.mark.slow]

SPEED = 300.0
MARGIN_S = 900.0
POLICY = DispatchPolicy(baseline_margin_s=MARGIN_S, reading_grace_s=0.5, poll_s=0.1, root_wait_s=5.0)
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_independent.py"


@dataclass
class World:
    d: Deployment
    prosumers: list[Sender]
    ctx: AppContext
    dispatcher: Dispatcher
    folder: Path
    rpc_url: str


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A run folder as `flexsim run` lays it out: aggregator.db and deployment/manifest.json."""
    with start_anvil() as anvil:
        d, aggregator = deploy_new(anvil.rpc_url)
        assert d.artifacts is not None
        write_manifest(d, d.artifacts, tmp_path / "deployment" / "manifest.json")
        prosumers = [Sender(d.chain, k) for k in dev_keys(10)[4:6]]
        now = int(d.chain.w3.eth.get_block("latest")["timestamp"])
        for p in prosumers:
            terms = Terms(SourceKind.SOLAR, 8_000, 20_000, 2_000, 2_000, 7_200, 2 * 10**17, 10**17)
            consented_register(d.registry, p, terms, now + 86_400)
        settings = make_settings(tmp_path, sim_start=datetime.now(UTC), sim_speed=SPEED)
        ctx = build_context(settings, TrustedRegistryView({}))
        ctx.writer.start()
        yield World(
            d, prosumers, ctx, Dispatcher(d, aggregator, POLICY, block_time_s=1.0), tmp_path, anvil.rpc_url
        )
        ctx.writer.stop()
        ctx.db.dispose()


def sim(w: World, real: float) -> float:
    return w.ctx.clock.clock.sim_time(real).timestamp()


def meter(w: World, p: Sender, start: int, end: int, extra_w: float) -> None:
    """Readings every 10 simulated seconds around the window, raised by `extra_w` inside it."""
    s0, s1 = sim(w, start), sim(w, end)
    rows, t, seq = [], s0 - 1_000, 0
    while t < s1 + 1_000:
        power = 3_000.0 + (extra_w if s0 <= t < s1 else 0.0) + (seq % 3) * 0.125
        rows.append(
            (p.address.lower(), seq, t, int(SourceKind.SOLAR), power, seq * 2.5, None, 0, time.time(), None)
        )
        t, seq = t + 10, seq + 1
    w.ctx.store.insert(rows)


def sign_and_send(w: World, p: Sender, rid: int, start: int, end: int) -> None:
    """What `prosumer.evidence` does: root over its readings in the window +- 960 simulated s, signed."""
    from_ms, to_ms = milli(sim(w, start) - 960), milli(sim(w, end) + 960)
    mine = signed_readings(w.ctx.store, p.address, from_ms, to_ms)
    root = readings_root(p.address, mine)
    signed = sign_root(
        p.account.key, w.d.chain.chain_id, w.d.anchor.address, rid, from_ms, to_ms, len(mine), root
    )
    site = AnchorSite(w.d.chain.chain_id, w.d.anchor.address)
    assert EvidenceRepo(w.ctx.db, w.ctx.store).accept_root(signed, site) is True


def independent(w: World) -> tuple[int, list[dict]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(w.folder), "--rpc-url", w.rpc_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def test_a_settlement_is_anchored_verified_and_a_later_tampering_caught(world: World, capsys) -> None:
    w = world
    rid = w.ctx.requests.enqueue("up", 2_000, 900, 900, "fair").id
    claimed = w.ctx.requests.claim_next()
    assert claimed is not None and claimed.id == rid
    thread = threading.Thread(target=w.dispatcher.process, args=(w.ctx, rid), daemon=True)
    thread.start()
    deadline = time.time() + 20
    while (req := w.ctx.requests.get(rid)).chain_request_id is None and time.time() < deadline:
        time.sleep(0.05)
    chain_rid = req.chain_request_id
    assert chain_rid is not None and req.start is not None and req.end is not None
    a, b = w.prosumers
    for p in (a, b):
        w.d.market.accept_up_to(p, chain_rid, 1_000)
    meter(w, a, req.start, req.end, 1_000.0)  # its 1000 W share: 250 Wh over 15 simulated minutes
    meter(w, b, req.start, req.end, 600.0)
    for p in (a, b):
        sign_and_send(w, p, chain_rid, req.start, req.end)
    thread.join(timeout=90)
    assert w.ctx.requests.get(rid).status == RequestState.SETTLED, w.ctx.requests.get(rid).error

    repo = EvidenceRepo(w.ctx.db, w.ctx.store)
    found = repo.anchor(chain_rid)
    assert found is not None
    record, leaves = found
    assert w.d.anchor.root_of(chain_rid) == merkle_root(leaf_hashes(chain_rid, leaves)) != bytes(32)
    roots = repo.roots(chain_rid)
    assert {x.prosumer: x.readings_root for x in leaves} == {p: s.root for p, s in roots.items()}
    assert {x.prosumer: x.delivered_wh for x in leaves} == {a.address.lower(): 250, b.address.lower(): 150}
    assert (record.leaf_count, record.direction, record.margin_s) == (2, 0, MARGIN_S)

    verified = verify_folder(w.folder, w.rpc_url)
    assert verified.ok, verified.problems
    assert (verified.requests_anchored, verified.leaves_checked, verified.deliveries_recomputed) == (1, 2, 2)
    assert independent(w)[0] == 0
    assert main(["verify", str(w.folder), "--rpc-url", w.rpc_url]) == 0
    capsys.readouterr()

    # a dispatcher that stopped after finaliseAnchored was mined, before it saved the leaves, rebuilds
    # them on resume from the chain and the signed roots: they hash to the anchored root again
    with w.ctx.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM settlement_leaves WHERE request_id = :r"), {"r": chain_rid})
        conn.execute(text("DELETE FROM settlement_anchors WHERE request_id = :r"), {"r": chain_rid})
    assert repo.anchor(chain_rid) is None
    info = w.d.market.request(chain_rid)
    recover_anchor(w.ctx, w.d, info, [a.address, b.address], measurement_span(w.ctx, info, POLICY))
    rebuilt = repo.anchor(chain_rid)
    assert rebuilt is not None and rebuilt[1] == leaves and rebuilt[0].root == record.root
    assert verify_folder(w.folder, w.rpc_url).ok

    # afterwards, a reading of B inside the window is raised by 40 W in the database
    s0 = sim(w, req.start)
    with w.ctx.db.engine.begin() as conn:
        changed = conn.execute(
            text("UPDATE readings SET power_w = power_w + 40 WHERE prosumer = :p AND t >= :t0 AND t < :t1"),
            {"p": b.address.lower(), "t0": s0 + 100, "t1": s0 + 110},
        ).rowcount
    assert changed == 1
    verified = verify_folder(w.folder, w.rpc_url)
    assert not verified.ok
    assert [(x.prosumer, x.check) for x in verified.problems] == [(b.address.lower(), "readings")]
    code, report = independent(w)
    assert code == 1 and len(report[0]["failures"]) == 1 and b.address.lower() in report[0]["failures"][0]
    assert main(["verify", str(w.folder), "--rpc-url", w.rpc_url]) == 1
