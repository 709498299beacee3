#!/usr/bin/env python3
"""Independent check of a run's tamper evidence, without flexsim's code (issue 16's "checked by").

    python scripts/verify_independent.py RUN_DIR --rpc-url http://127.0.0.1:8545
    python scripts/verify_independent.py RUN_DIR            # the run's saved chain-logs.json

Uses only web3, eth_account, json and sqlite3, and re-implements from docs/tamper-evidence.md:

- every signed readings root in `aggregator.db` (`signed_roots`): its EIP-712 `ReadingsRoot` signature
  recovers to the prosumer, and the prosumer's readings stored with round(t * 1000) in
  [from_ms, to_ms] are `count` readings whose Merkle root (sorted pairs, odd node moved up, leaves
  keccak256(abi.encode(address, uint64 seq, int64 timestampMs, int64 powerMilliW, int64 energyMilliWh,
  int64 availableMilliW)) in seq order) is the signed root;
- every anchored request (the market's `SettlementAnchored` events, emitted by `finaliseAnchored`, and
  `settlementRoot` in the market's storage with --rpc-url): the leaves in
  `settlement_leaves` (keccak256(abi.encode(uint256 requestId, address prosumer, int64 deliveredWh,
  bytes32 readingsRoot)), ordered by address) hash to the anchored root with the anchored leaf count;
  each leaf's delivery is the market's `DeliveryRecorded`; each non-zero readings root is a root the
  prosumer signed for that request; every request settled with at least one participant is anchored.

Prints a JSON verdict per strategy folder; exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

NO_AVAILABLE = -(2**63)
ZERO = b"\x00" * 32
CODEC = Web3().codec


def keccak(data: bytes) -> bytes:
    return bytes(Web3.keccak(data))


def milli(x: float) -> int:
    return int(round(x * 1000))


def merkle_root(leaves: list[bytes]) -> bytes:
    level = list(leaves)
    while len(level) > 1:
        up = [keccak(min(a, b) + max(a, b)) for a, b in zip(level[0::2], level[1::2], strict=False)]
        if len(level) % 2:
            up.append(level[-1])
        level = up
    return level[0]


def reading_leaf(
    prosumer: str, seq: int, t: float, power: float, energy: float, available: float | None
) -> bytes:
    avail = NO_AVAILABLE if available is None else milli(available)
    types = ["address", "uint64", "int64", "int64", "int64", "int64"]
    values = [Web3.to_checksum_address(prosumer), seq, milli(t), milli(power), milli(energy), avail]
    return keccak(CODEC.encode(types, values))


def settlement_leaf(rid: int, prosumer: str, wh: int, root: bytes) -> bytes:
    types = ["uint256", "address", "int64", "bytes32"]
    return keccak(CODEC.encode(types, [rid, Web3.to_checksum_address(prosumer), wh, root]))


def signer_of(chain_id: int, anchor: str, row: dict[str, Any]) -> str:
    sig = bytes.fromhex(row["signature"][2:])
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "ReadingsRoot": [
                {"name": "prosumer", "type": "address"},
                {"name": "requestId", "type": "uint256"},
                {"name": "fromMs", "type": "int64"},
                {"name": "toMs", "type": "int64"},
                {"name": "count", "type": "uint32"},
                {"name": "root", "type": "bytes32"},
            ],
        },
        "primaryType": "ReadingsRoot",
        "domain": {"name": "flexsim SettlementAnchor", "version": "1", "chainId": chain_id,
                   "verifyingContract": Web3.to_checksum_address(anchor)},
        "message": {"prosumer": Web3.to_checksum_address(row["prosumer"]), "requestId": row["request_id"],
                    "fromMs": row["from_ms"], "toMs": row["to_ms"], "count": row["count"],
                    "root": bytes.fromhex(row["root"][2:])},
    }  # fmt: skip
    return str(Account.recover_message(encode_typed_data(full_message=message), signature=sig))


def events(folder: Path, manifest: dict[str, Any], w3: Web3 | None) -> list[Any]:
    abis = {n: json.loads((folder / "deployment" / manifest["abis"][n]).read_text())
            for n in ("FlexibilityMarket",)}  # fmt: skip
    market = Web3().eth.contract(abi=abis["FlexibilityMarket"])
    if w3 is not None:
        last, raw = w3.eth.block_number, []
        addresses = [Web3.to_checksum_address(manifest["contracts"]["market"])]
        for start in range(manifest["block"], last + 1, 2_000):
            raw.extend(
                w3.eth.get_logs(
                    {"fromBlock": start, "toBlock": min(last, start + 1_999), "address": addresses}
                )
            )
    else:
        raw = json.loads((folder / "chain-logs.json").read_text())["logs"]
    wanted = {
        "market": (
            manifest["contracts"]["market"].lower(),
            market,
            ("DeliveryRecorded", "RequestSettled", "SettlementAnchored"),
        ),
    }
    out = []
    for log in raw:
        address = str(log["address"]).lower()
        for where, contract, names in wanted.values():
            if address != where:
                continue
            entry = dict(log)
            entry["topics"] = [
                bytes.fromhex(t[2:]) if isinstance(t, str) else bytes(t) for t in log["topics"]
            ]
            entry["data"] = (
                bytes.fromhex(log["data"][2:]) if isinstance(log["data"], str) else bytes(log["data"])
            )
            for key, blank in (("transactionIndex", 0), ("blockHash", ZERO), ("logIndex", 0)):
                entry.setdefault(key, blank)  # the saved logs keep only what an audit needs
            for name in names:
                event = contract.events[name]()
                try:
                    out.append((name, event.process_log(entry)["args"]))
                    break
                except Exception:  # another event of the same contract
                    continue
    return out


def verify(folder: Path, rpc_url: str | None) -> dict[str, Any]:
    manifest = json.loads((folder / "deployment" / "manifest.json").read_text())
    chain_id, anchor_address = int(manifest["chain_id"]), manifest["contracts"]["anchor"]
    market_address = manifest["contracts"]["market"]
    w3 = Web3(Web3.HTTPProvider(rpc_url)) if rpc_url else None
    found = events(folder, manifest, w3)
    anchored = {int(a["requestId"]): a for n, a in found if n == "SettlementAnchored"}
    settled = {int(a["requestId"]) for n, a in found if n == "RequestSettled" and int(a["participants"]) > 0}
    recorded = {(int(a["requestId"]), a["prosumer"].lower()): int(a["deliveredWh"])
                for n, a in found if n == "DeliveryRecorded"}  # fmt: skip
    failures: list[str] = []
    db = sqlite3.connect(f"file:{folder / 'aggregator.db'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    signed: dict[tuple[int, str], bytes] = {}
    for row in map(dict, db.execute("SELECT * FROM signed_roots")):
        who, rid = row["prosumer"], row["request_id"]
        if signer_of(chain_id, anchor_address, row).lower() != who:
            failures.append(f"request {rid}: the readings root of {who} is not signed by it")
            continue
        readings = db.execute(
            "SELECT seq, t, power_w, energy_wh, available_w FROM readings"
            " WHERE prosumer = ? AND t >= ? AND t <= ? ORDER BY seq",
            (who, row["from_ms"] / 1000 - 0.001, row["to_ms"] / 1000 + 0.001),
        ).fetchall()
        leaves = [reading_leaf(who, *r) for r in readings if row["from_ms"] <= milli(r[1]) <= row["to_ms"]]
        root = merkle_root(leaves) if leaves else ZERO
        if len(leaves) != row["count"] or "0x" + root.hex() != row["root"]:
            failures.append(f"request {rid}: the readings stored for {who} no longer hash to its signed root "
                            f"({len(leaves)} readings, signed {row['count']})")  # fmt: skip
        signed[(rid, who)] = bytes.fromhex(row["root"][2:])
    anchors = {r["request_id"]: dict(r) for r in db.execute("SELECT * FROM settlement_anchors")}
    leaves_checked = 0
    for rid in sorted(settled | set(anchors)):
        rows = db.execute(
            "SELECT prosumer, delivered_wh, readings_root FROM settlement_leaves"
            " WHERE request_id = ? ORDER BY position",
            (rid,),
        ).fetchall()
        if rid not in anchored:
            failures.append(f"request {rid}: settled on chain but not anchored")
            continue
        leaves = [settlement_leaf(rid, p, wh, bytes.fromhex(rr[2:])) for p, wh, rr in rows]
        root = merkle_root(leaves) if leaves else ZERO
        if root != bytes(anchored[rid]["root"]) or len(leaves) != int(anchored[rid]["leafCount"]):
            failures.append(f"request {rid}: the stored leaves do not hash to the anchored root")
        if w3 is not None:
            contract = w3.eth.contract(address=Web3.to_checksum_address(market_address),
                                       abi=[{"type": "function", "name": "settlementRoot",
                                             "stateMutability": "view",
                                             "inputs": [{"name": "", "type": "uint256"}],
                                             "outputs": [{"name": "", "type": "bytes32"}]}])  # fmt: skip
            if bytes(contract.functions.settlementRoot(rid).call()) != root:
                failures.append(f"request {rid}: settlementRoot in storage is not the stored leaves' root")
        for p, wh, rr in rows:
            leaves_checked += 1
            if recorded.get((rid, p)) != wh:
                failures.append(
                    f"request {rid}: leaf of {p} says {wh} Wh, the market recorded {recorded.get((rid, p))}"
                )
            if rr != "0x" + ZERO.hex() and signed.get((rid, p)) != bytes.fromhex(rr[2:]):
                failures.append(f"request {rid}: the leaf of {p} does not carry the root it signed")
    db.close()
    return {
        "folder": str(folder),
        "signed_roots": len(signed),
        "anchored_requests": len(anchored),
        "leaves_checked": leaves_checked,
        "failures": failures,
        "ok": not failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rpc-url", help="the chain the run used (default: its chain-logs.json)")
    args = parser.parse_args()
    folders = (
        [args.run_dir]
        if (args.run_dir / "aggregator.db").is_file()
        else sorted(p for p in args.run_dir.iterdir() if (p / "aggregator.db").is_file())
    )
    if not folders:
        print(f"{args.run_dir}: no aggregator.db in it or its subfolders", file=sys.stderr)
        return 2
    results = [verify(f, args.rpc_url) for f in folders]
    print(json.dumps(results, indent=2))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
