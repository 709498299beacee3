"""Anchoring a request's settlement on chain as it is finalised (docs/tamper-evidence.md).

Once every delivery is recorded (and mined), one leaf per recorded delivery, `(requestId, prosumer,
deliveredWh, readingsRoot)`, ordered by prosumer address; the delivery is read back from the market
(what it recorded), the readings root is the one the prosumer signed for the request (zero when none
arrived within `DispatchPolicy.root_wait_s`). The Merkle root goes on chain in the finalising
transaction itself, `FlexibilityMarket.finaliseAnchored` (storage and event data): no transaction of
its own. The leaves and the measurement span are kept in the database, so the API can serve each
prosumer its proof and `flexsim verify` can recompute every delivery.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aggregator.evidence import EvidenceRepo, Leaf, Span, leaf_hashes, ordered_leaves
from aggregator.planning import DispatchPolicy
from contracts.anchor import merkle_root
from contracts.deployment import Deployment
from contracts.sender import Receipt, Sender
from contracts.types import RequestInfo, Response

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)

SETTLED = (Response.COMPLIANT, Response.PENALISED)


def settlement_tree(
    ctx: AppContext, d: Deployment, info: RequestInfo, participants: list[str], wait_s: float, poll_s: float
) -> tuple[bytes, list[Leaf]] | None:
    """The root and ordered leaves of the request's settlement tree, from the deliveries the market
    recorded and the signed readings roots (waiting up to `wait_s` real seconds for missing ones); None
    when no delivery is recorded (nothing to anchor)."""
    rid = info.request_id
    recorded = {p.lower(): c for p, c in d.market.commitments_of(rid, participants).items()}
    delivered = {p: c.delivered_wh for p, c in recorded.items() if c.response in SETTLED}
    if not delivered:
        return None
    repo = EvidenceRepo(ctx.db, ctx.store)
    roots = repo.roots(rid)
    deadline = time.monotonic() + wait_s
    while set(delivered) - set(roots) and time.monotonic() < deadline:
        time.sleep(poll_s)
        roots = repo.roots(rid)
    missing = sorted(set(delivered) - set(roots))
    if missing:
        log.warning("request %s: %d participants sent no signed readings root; their leaves carry zero",
                    rid, len(missing))  # fmt: skip
    leaves = ordered_leaves(
        [Leaf(p, wh, roots[p].root if p in roots else bytes(32)) for p, wh in delivered.items()]
    )
    return merkle_root(leaf_hashes(rid, leaves)), leaves


def finalise_anchored(
    ctx: AppContext,
    d: Deployment,
    sender: Sender,
    info: RequestInfo,
    participants: list[str],
    policy: DispatchPolicy,
    span: Span,
) -> Receipt:
    """Finalises the request whose deliveries are all recorded and mined, anchoring its settlement root
    in the same transaction (`finaliseAnchored`); a request without a recorded delivery is finalised
    plainly (the market refuses plain `finalise` of one with deliveries: `AnchorRequired`). Keeps the
    leaves and the span in the database."""
    rid = info.request_id
    tree = settlement_tree(ctx, d, info, participants, policy.root_wait_s, policy.poll_s)
    if tree is None:
        receipt = d.market.finalise(sender, rid)
        log.info("request %s: finalised, no delivery to anchor (gas %d, tx %s)", rid, receipt.gas_used,
                 receipt.tx_hash)  # fmt: skip
        return receipt
    root, leaves = tree
    receipt = d.market.finalise_anchored(sender, rid, root, len(leaves))
    repo = EvidenceRepo(ctx.db, ctx.store)
    repo.save_anchor(rid, root, leaves, span, receipt.tx_hash, receipt.block_number)
    log.info("request %s: finalised with its settlement anchored, %d leaves, root 0x%s (gas %d, tx %s)",
             rid, len(leaves), root.hex(), receipt.gas_used, receipt.tx_hash)  # fmt: skip
    return receipt


def recover_anchor(
    ctx: AppContext, d: Deployment, info: RequestInfo, participants: list[str], span: Span
) -> None:
    """A request found finalised on resume (the aggregator stopped after `finaliseAnchored` was mined
    and before its leaves were saved): rebuilds the leaves from the chain and the signed roots, and
    saves them when they hash to the anchored root. Logs an error when they do not (`flexsim verify`
    then reports the request's leaves missing)."""
    rid = info.request_id
    anchored = d.market.settlement_root(rid)
    repo = EvidenceRepo(ctx.db, ctx.store)
    if anchored == bytes(32) or repo.anchor(rid) is not None:
        return
    tree = settlement_tree(ctx, d, info, participants, 0.0, 0.0)
    if tree is None or tree[0] != anchored:
        log.error("request %s: anchored as 0x%s, but the leaves rebuilt now hash to another root; its "
                  "proofs cannot be served", rid, anchored.hex())  # fmt: skip
        return
    repo.save_anchor(rid, anchored, tree[1], span, None, None)
    log.info("request %s: leaves of the anchored settlement rebuilt and saved", rid)
