"""Many read-only contract calls in one JSON-RPC batch instead of one HTTP round trip each.

The aggregator reads one commitment per participant at several stages of a request (the selection,
the top-up round, the settlement, the anchor). One `eth_call` at a time, 200 participants on a busy
machine took tens of seconds: the fair top-up round of a 194-participant request went out 18 s after
its window had started. A batch sends `chunk` calls per request (web3's `batch_requests`), retried as
a whole on transport errors (`Chain.rpc`). A batch the node answers with an error (a call that
reverts, a node that refuses batches) is read again call by call, so every revert is decoded as a
single call's would be.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from web3.exceptions import ContractLogicError, Web3RPCError

from contracts.chain import Chain

log = logging.getLogger(__name__)

CHUNK = 200
"""Calls per JSON-RPC batch (public nodes cap batch sizes; a node that refuses a batch is read call by
call, as above)."""


def call_many(chain: Chain, fns: Sequence[Any], chunk: int = CHUNK) -> list[Any]:
    """The decoded results of web3 contract calls `fns` (built, not called), in order."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    out: list[Any] = []
    for i in range(0, len(fns), chunk):
        part = list(fns[i : i + chunk])
        try:
            out.extend(chain.rpc(partial(_batch, chain, part), f"batch of {len(part)} calls"))
        except (ContractLogicError, Web3RPCError, ValueError) as exc:
            log.info("a batch of %d calls failed (%s); reading them one by one", len(part), exc)
            out.extend(chain.call(fn) for fn in part)
    return out


def _batch(chain: Chain, fns: list[Any]) -> list[Any]:
    with chain.w3.batch_requests() as batch:
        for fn in fns:
            batch.add(fn)
        results = batch.execute()
    if len(results) != len(fns):
        raise ValueError(f"the node answered {len(results)} of {len(fns)} batched calls")
    return list(results)
