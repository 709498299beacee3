"""The raw chain record of a run: every log of the three contracts, as the node returned it.

An embedded chain stops with the run, so each run folder keeps `chain-logs.json` (address, topics,
data, block, transaction, log index, and the block timestamps) for anyone to re-read and check
without flexsim, e.g. with `scripts/audit_run.py`. On a public chain the same check can read the chain
itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.deployment import Deployment
from contracts.events import ANCHOR, MARKET, RANGE_BLOCKS, REGISTRY, TOKEN, Cursor, LogPager


def export_logs(d: Deployment, path: Path, range_blocks: int = RANGE_BLOCKS) -> int:
    """Writes every log of the deployment's contracts to `path`; returns how many."""
    w3 = d.chain.w3
    c = d.manifest.contracts
    pager = LogPager.of(d, (REGISTRY, TOKEN, MARKET, ANCHOR), range_blocks=range_blocks)
    first, last = d.manifest.block, pager.head()
    logs: list[dict[str, Any]] = []
    for page in pager.pages(Cursor(first), last):
        for log in page:
            logs.append(
                {
                    "address": log["address"],
                    "topics": ["0x" + bytes(t).hex() for t in log["topics"]],
                    "data": "0x" + bytes(log["data"]).hex(),
                    "blockNumber": int(log["blockNumber"]),
                    "transactionHash": "0x" + bytes(log["transactionHash"]).hex(),
                    "logIndex": int(log["logIndex"]),
                }
            )
    blocks = sorted({entry["blockNumber"] for entry in logs})
    times = {n: int(w3.eth.get_block(n)["timestamp"]) for n in blocks}
    record = {
        "chain_id": d.chain.chain_id,
        "contracts": {"registry": c.registry, "token": c.token, "market": c.market, "anchor": c.anchor},
        "from_block": first,
        "to_block": last,
        "block_timestamps": {str(n): t for n, t in times.items()},
        "logs": logs,
    }
    path.write_text(json.dumps(record, indent=1))
    return len(logs)
