"""Anchoring a finalised request's settlement on chain (docs/tamper-evidence.md).

After `finalise`, one leaf per recorded delivery, `(requestId, prosumer, deliveredWh, readingsRoot)`,
ordered by prosumer address; the delivery is read back from the market (what it recorded), the readings
root is the one the prosumer signed for the request (zero when none arrived within
`DispatchPolicy.root_wait_s`). The Merkle root goes on chain through SettlementAnchor.anchor (storage
and event data); the leaves and the measurement span are kept in the database, so the API can serve
each prosumer its proof and `flexsim verify` can recompute every delivery.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aggregator.evidence import EvidenceRepo, Leaf, Span, leaf_hashes, ordered_leaves
from aggregator.planning import DispatchPolicy
from contracts.anchor import merkle_root
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.types import RequestInfo, Response

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)

SETTLED = (Response.COMPLIANT, Response.PENALISED)


def anchor_settlement(
    ctx: AppContext,
    d: Deployment,
    sender: Sender,
    info: RequestInfo,
    participants: list[str],
    policy: DispatchPolicy,
    span: Span,
) -> bytes | None:
    """Anchors the finalised request `info` once (a resumed dispatcher skips an anchored one); returns
    the root, or None when it had no recorded delivery (nothing to anchor)."""
    rid = info.request_id
    existing = d.anchor.root_of(rid)
    if existing != bytes(32):
        log.info("request %s: settlement already anchored as 0x%s", rid, existing.hex())
        return existing
    recorded = {p.lower(): d.market.commitment_of(rid, p) for p in participants}
    delivered = {p: c.delivered_wh for p, c in recorded.items() if c.response in SETTLED}
    if not delivered:
        return None
    repo = EvidenceRepo(ctx.db, ctx.store)
    roots = repo.roots(rid)
    deadline = time.monotonic() + policy.root_wait_s
    while set(delivered) - set(roots) and time.monotonic() < deadline:
        time.sleep(policy.poll_s)
        roots = repo.roots(rid)
    missing = sorted(set(delivered) - set(roots))
    if missing:
        log.warning("request %s: %d participants sent no signed readings root; their leaves carry zero",
                    rid, len(missing))  # fmt: skip
    leaves = ordered_leaves(
        [Leaf(p, wh, roots[p].root if p in roots else bytes(32)) for p, wh in delivered.items()]
    )
    root = merkle_root(leaf_hashes(rid, leaves))
    receipt = d.anchor.anchor(sender, rid, root, len(leaves))
    repo.save_anchor(rid, root, leaves, span, receipt.tx_hash, receipt.block_number)
    log.info("request %s: settlement anchored, %d leaves, root 0x%s (gas %d, tx %s)",
             rid, len(leaves), root.hex(), receipt.gas_used, receipt.tx_hash)  # fmt: skip
    return root
