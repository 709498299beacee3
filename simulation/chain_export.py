"""The raw chain record of a run: every log of the three contracts, as the node returned it.

An embedded chain stops with the run, so each run folder keeps `chain-logs.json` for anyone to re-read
and check without flexsim (e.g. with `scripts/audit_run.py`), and for `flexsim report RUN_DIR` to
re-render the run offline (`simulation.saved_run`). It holds:

- `logs`: address, topics, data, block, transaction, log index of every log since the deployment;
- `block_timestamps`: the timestamp of every block with a log;
- `transactions`: per transaction that emitted a log, its gas used, the contract function it called
  (or `deploy <Contract>` for a contract creation), the effective gas price paid (wei) and its sender;
- `state`: each registered prosumer's token balance (base units) and reputation when the run ended.

On a public chain the same check can read the chain itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.deployment import Deployment
from contracts.events import ANCHOR, MARKET, RANGE_BLOCKS, REGISTRY, TOKEN, Cursor, LogPager

REGISTERED_TOPIC_NAME = "Registered"


def export_logs(d: Deployment, path: Path, range_blocks: int = RANGE_BLOCKS) -> int:
    """Writes the deployment's chain record (see the module) to `path`; returns how many logs."""
    record = chain_record(d, range_blocks)
    path.write_text(json.dumps(record, indent=1))
    return len(record["logs"])


def chain_record(d: Deployment, range_blocks: int = RANGE_BLOCKS) -> dict[str, Any]:
    """The deployment's chain record (see the module), read from its chain now."""
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
    return {
        "chain_id": d.chain.chain_id,
        "contracts": {"registry": c.registry, "token": c.token, "market": c.market, "anchor": c.anchor},
        "from_block": first,
        "to_block": last,
        "block_timestamps": {str(n): t for n, t in times.items()},
        "transactions": transactions(d, list(dict.fromkeys(e["transactionHash"] for e in logs))),
        "state": end_state(d, logs),
        "logs": logs,
    }


def selectors(d: Deployment) -> dict[bytes, str]:
    """4-byte selector -> function name, over the three contracts' ABIs."""
    from eth_utils import function_abi_to_4byte_selector

    out: dict[bytes, str] = {}
    for binding in (d.registry, d.market, d.token, d.anchor):
        abi: list[Any] = list(binding.contract.abi)
        for item in abi:
            if item.get("type") == "function":
                out[bytes(function_abi_to_4byte_selector(item))] = str(item["name"])
    return out


def transactions(d: Deployment, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """Per transaction: gas used, function called, effective gas price (wei) and sender."""
    w3 = d.chain.w3
    names = selectors(d)
    created = {a.lower(): n for n, a in d.manifest.contracts.model_dump().items()}
    labels = {
        "registry": "Registry",
        "token": "FlexToken",
        "market": "FlexibilityMarket",
        "anchor": "SettlementAnchor",
    }
    out: dict[str, dict[str, Any]] = {}
    for tx_hash in hashes:
        r = d.chain.rpc(lambda h=tx_hash: w3.eth.get_transaction_receipt(h), "receipt")  # type: ignore[misc]
        tx = d.chain.rpc(lambda h=tx_hash: w3.eth.get_transaction(h), "transaction")  # type: ignore[misc]
        deployed = r.get("contractAddress")
        if deployed:
            function = f"deploy {labels.get(created.get(str(deployed).lower(), ''), 'contract')}"
        else:
            function = names.get(bytes(tx["input"])[:4], "unknown")
        price = r.get("effectiveGasPrice", tx.get("gasPrice", 0))
        out[tx_hash] = {
            "gas_used": int(r["gasUsed"]),
            "function": function,
            "gas_price_wei": int(price or 0),
            "from": str(tx["from"]),
        }
    return out


def end_state(d: Deployment, logs: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Balance (base units) and reputation of every prosumer that registered, read from the chain now."""
    from contracts.events import EventDecoder

    decoder = EventDecoder.of(d)
    prosumers = sorted(
        {
            str(e.args["prosumer"])
            for raw in logs
            if (e := decoder.decode(raw)) is not None and e.name == REGISTERED_TOPIC_NAME
        }
    )
    return {
        "balances": {p: d.token.balance_of(p) for p in prosumers},
        "reputations": {p: d.registry.reputation(p) for p in prosumers},
    }
