"""`flexsim run` (interim main job): an embedded chain, a fresh deployment and one market round per
strategy, with scripted prosumers driven from this process.

It exercises the whole on-chain life cycle (register, open, accept / apply, select, record delivery,
pay, finalise) and reads the aggregate results back from the chain. The multi-process simulation
(aggregator service, prosumer processes, grid operator) replaces it as the main job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.anchor import merkle_root, settlement_leaves
from contracts.anvil import AnvilConfig, advance_time, chain_time, dev_keys, start_anvil
from contracts.deploy import write_manifest
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import Direction, SourceKind, Strategy, Terms
from domain.market_rules import Candidate, offer_w, select
from simulation.bootstrap import deploy_new

log = logging.getLogger(__name__)

TOKEN = 10**18
# (kind, capacity W, expected Wh/day, flex up W, flex down W, tariff up, tariff down) per scripted prosumer
PROSUMERS = [
    (SourceKind.SOLAR, 7_000, 19_000, 1_500, 1_700, 22 * TOKEN // 100, 12 * TOKEN // 100),
    (SourceKind.SOLAR, 4_500, 12_000, 1_000, 1_100, 20 * TOKEN // 100, 10 * TOKEN // 100),
    (SourceKind.WIND, 10_000, 40_000, 2_000, 2_500, 18 * TOKEN // 100, 11 * TOKEN // 100),
    (SourceKind.CONSUMER, 3_000, -9_600, 700, 600, 25 * TOKEN // 100, 15 * TOKEN // 100),
    (SourceKind.BATTERY, 5_000, 0, 1_250, 1_250, 30 * TOKEN // 100, 20 * TOKEN // 100),
    (SourceKind.CONSUMER, 6_000, -20_000, 1_400, 1_000, 24 * TOKEN // 100, 14 * TOKEN // 100),
]
# delivered energy as a fraction of the commitment, per prosumer: the fourth misses the 10% band
DELIVERY = [1.0, 0.95, 1.08, 0.7, 1.0, 0.92]
_factors: dict[str, float] = {}


def run_demo(
    out_dir: Path | None = None, progress: Callable[[str], None] = lambda _m: None
) -> dict[str, Any]:
    out_dir = out_dir or Path("results") / datetime.now(UTC).strftime("run-%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    progress("starting an embedded anvil chain (London)")
    with start_anvil(AnvilConfig()) as anvil:
        keys = dev_keys(2 + len(PROSUMERS))
        d, aggregator = deploy_new(anvil.rpc_url, progress=progress)  # the deployer is also the aggregator
        assert d.artifacts is not None
        manifest_path = write_manifest(d, d.artifacts, out_dir / "deployment" / "manifest.json")
        prosumers = [Sender(d.chain, k) for k in keys[2:]]
        _factors.update({p.address: f for p, f in zip(prosumers, DELIVERY, strict=True)})
        progress(f"registering {len(prosumers)} prosumers")
        expiry = chain_time(d.chain.w3) + 86_400
        key = aggregator.account.key
        for sender, (kind, cap, wh, up, down, t_up, t_down) in zip(prosumers, PROSUMERS, strict=True):
            terms = Terms(kind, cap, wh, up, down, 3_600, t_up, t_down)
            d.registry.register(sender, terms, expiry, d.consent(key, sender.address, terms, expiry))
        rounds = [
            _fair_round(d, aggregator, prosumers, progress),
            _reputation_round(d, aggregator, prosumers, progress),
        ]
        summary = {
            "chain_id": d.chain.chain_id,
            "contracts": d.manifest.contracts.model_dump(),
            "rounds": rounds,
            "reputation": {p.address: d.registry.reputation(p.address) for p in prosumers},
            "token_balances": {p.address: d.token.balance_of(p.address) for p in prosumers},
            "manifest": str(manifest_path),
        }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    progress(f"results in {out_dir}")
    return summary


def _open(d: Deployment, aggregator: Sender, strategy: Strategy, power_w: int) -> int:
    now = chain_time(d.chain.w3)
    request_id, _ = d.market.open_request(
        aggregator, Direction.UP, power_w, 900, now + 120, now + 120 + 900, now + 60, strategy
    )
    return request_id


def _settle(d: Deployment, aggregator: Sender, request_id: int, participants: list[Sender]) -> dict[str, Any]:
    """Records each participant's delivery (its commitment times its DELIVERY factor) and finalises,
    anchored."""
    advance_time(d.chain.w3, 120 + 900)
    addresses, delivered = [], []
    for p in participants:
        c = d.market.commitment_of(request_id, p.address)
        committed_wh = c.power_w * 900 / 3600
        addresses.append(p.address)
        delivered.append(round(committed_wh * _factors[p.address]))
    d.market.record_deliveries(aggregator, request_id, addresses, delivered)
    if addresses:  # anchored (the scripted prosumers sign no readings: their leaves carry zero roots)
        leaves = settlement_leaves(request_id, dict(zip(addresses, delivered, strict=True)))
        d.market.finalise_anchored(aggregator, request_id, merkle_root(leaves), len(leaves))
    else:  # nothing to anchor
        d.market.finalise(aggregator, request_id)
    r = d.market.result(request_id)
    return {
        "request_id": request_id,
        "requested_wh": r.requested_wh,
        "committed_wh": r.committed_wh,
        "delivered_wh": r.delivered_wh,
        "participants": r.participants,
        "compliant": r.compliant,
        "paid_tokens": r.paid / TOKEN,
    }


def _fair_round(
    d: Deployment, aggregator: Sender, prosumers: list[Sender], progress: Callable[[str], None]
) -> dict[str, Any]:
    up_total = d.registry.totals()[0]
    power = up_total // 2
    progress(f"fair request: {power} W up for 15 min; every prosumer accepts its share")
    request_id = _open(d, aggregator, Strategy.FAIR, power)
    for p in prosumers:
        d.market.accept(p, request_id)
    return {"strategy": "fair", **_settle(d, aggregator, request_id, prosumers)}


def _reputation_round(
    d: Deployment, aggregator: Sender, prosumers: list[Sender], progress: Callable[[str], None]
) -> dict[str, Any]:
    power = 3_000
    progress(f"reputation request: {power} W up; candidates ranked by reputation, flexibility, tariff")
    request_id = _open(d, aggregator, Strategy.REPUTATION, power)
    candidates = []
    for p in prosumers:
        d.market.apply_for(p, request_id)
        reg = d.registry.registration_of(p.address)
        candidates.append(
            Candidate(
                p.address,
                d.registry.reputation(p.address),
                offer_w(reg.terms.flex_up_w, reg.terms.capacity_w),
                reg.terms.tariff_up,
            )
        )
    advance_time(d.chain.w3, 61)
    selected, displaced = select(candidates, power)
    d.market.select(aggregator, request_id, [c.address for c in selected], [c.address for c in displaced])
    chosen = [p for p in prosumers if p.address in {c.address for c in selected}]
    return {
        "strategy": "reputation",
        "selected": [c.address for c in selected],
        "displaced": [c.address for c in displaced],
        **_settle(d, aggregator, request_id, chosen),
    }
