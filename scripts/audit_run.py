#!/usr/bin/env python3
"""Independent audit of a run's payments, from the chain's events alone (issue #5's check).

    python scripts/audit_run.py results/quick-…/fair            # the run's saved chain-logs.json
    python scripts/audit_run.py DIR --rpc-url https://…          # the live chain (e.g. Volta)

It uses only web3 and the deployment manifest's ABIs (no flexsim code) and checks that every payment
is justified and no total is out of line:

- every DeliveryRecorded is for a participant of that request: it Accepted it (fair) or was Selected
  (reputation) and not Displaced afterwards, with the same committed power (its share plus what a
  fair top-up round added: ToppedUp);
- compliance is recomputed: |delivered - committed x duration| <= 10 % of committed x duration;
- the payment equals tariff x committed energy / 1 kWh when compliant and 0 otherwise, the tariff
  being the one in the prosumer's terms (Registered / Renegotiated) in the request's direction when it
  joined;
- per request, RequestSettled's participants, compliant count, delivered energy and paid amount equal
  the sums of its deliveries;
- per prosumer, the tokens minted to it (Transfer from the zero address) equal its payments.

Prints a JSON verdict; exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.datastructures import AttributeDict

ZERO = "0x0000000000000000000000000000000000000000"
TOLERANCE_DIVISOR = 10
UP = 0


def load_contracts(w3: Web3, deployment_dir: Path) -> dict[str, Any]:
    manifest = json.loads((deployment_dir / "manifest.json").read_text())
    names = {"registry": "Registry", "token": "FlexToken", "market": "FlexibilityMarket"}
    contracts = {}
    for key, name in names.items():
        abi = json.loads((deployment_dir / manifest["abis"][name]).read_text())
        contracts[key] = w3.eth.contract(
            address=Web3.to_checksum_address(manifest["contracts"][key]), abi=abi
        )
    return {"manifest": manifest, "contracts": contracts}


def raw_logs_from_file(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["logs"]


def raw_logs_from_chain(w3: Web3, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    addresses = [Web3.to_checksum_address(a) for a in manifest["contracts"].values()]
    last, out = w3.eth.block_number, []
    for start in range(manifest["block"], last + 1, 2_000):
        query = {"address": addresses, "fromBlock": start, "toBlock": min(start + 1_999, last)}
        for log in w3.eth.get_logs(query):  # type: ignore[arg-type]
            out.append(
                {
                    "address": log["address"],
                    "topics": ["0x" + bytes(t).hex() for t in log["topics"]],
                    "data": "0x" + bytes(log["data"]).hex(),
                    "blockNumber": log["blockNumber"],
                    "transactionHash": "0x" + bytes(log["transactionHash"]).hex(),
                    "logIndex": log["logIndex"],
                }
            )
    return out


def decode(contracts: dict[str, Any], raw: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(event name, args) in chain order."""
    by_address = {c.address.lower(): c for c in contracts.values()}
    events = []
    for entry in sorted(raw, key=lambda e: (e["blockNumber"], e["logIndex"])):
        contract = by_address.get(entry["address"].lower())
        if contract is None:  # another contract of the deployment (SettlementAnchor): not a payment
            continue
        log = AttributeDict(
            {
                "address": Web3.to_checksum_address(entry["address"]),
                "topics": [HexBytes(t) for t in entry["topics"]],
                "data": HexBytes(entry["data"]),
                "blockNumber": entry["blockNumber"],
                "transactionHash": HexBytes(entry["transactionHash"]),
                "logIndex": entry["logIndex"],
                "blockHash": HexBytes(b"\0" * 32),
                "transactionIndex": 0,
                "removed": False,
            }
        )
        topic0 = log["topics"][0]
        for event_abi in (e for e in contract.abi if e["type"] == "event"):
            signature = f"{event_abi['name']}({','.join(_type(i) for i in event_abi['inputs'])})"
            if Web3.keccak(text=signature) == topic0:
                decoded = getattr(contract.events, event_abi["name"])().process_log(log)
                events.append((event_abi["name"], dict(decoded["args"])))
                break
    return events


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


def audit(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    problems: list[str] = []
    terms: dict[str, dict[str, Any]] = {}
    requests: dict[int, dict[str, Any]] = {}
    joined: dict[tuple[int, str], dict[str, int]] = {}
    deliveries: dict[int, list[dict[str, Any]]] = defaultdict(list)
    settled: dict[int, dict[str, Any]] = {}
    minted: dict[str, int] = defaultdict(int)
    paid_to: dict[str, int] = defaultdict(int)
    for name, a in events:
        who = a.get("prosumer", "").lower() if isinstance(a.get("prosumer"), str) else ""
        if name in ("Registered", "Renegotiated"):
            terms[who] = dict(a["terms"])
        elif name == "FlexibilityRequested":
            requests[a["requestId"]] = {"direction": a["direction"], "duration": a["durationS"]}
        elif name == "RequestModified":
            requests[a["requestId"]]["duration"] = a["durationS"]
        elif name in ("Accepted", "Selected"):
            r = requests[a["requestId"]]
            t = terms.get(who)
            if t is None:
                problems.append(f"request {a['requestId']}: {who} joined without registered terms")
                continue
            tariff = t["tariffUp"] if r["direction"] == UP else t["tariffDown"]
            joined[(a["requestId"], who)] = {"power": a["powerW"], "tariff": tariff}
        elif name == "ToppedUp":  # the fair top-up round: the commitment grows by extraW
            j = joined.get((a["requestId"], who))
            if j is None:
                problems.append(f"request {a['requestId']}: {who} topped up without taking part")
            elif a["committedW"] != j["power"] + a["extraW"]:
                problems.append(
                    f"request {a['requestId']}: {who} topped up {a['extraW']} W from {j['power']} W "
                    f"to {a['committedW']} W"
                )
            else:
                j["power"] = a["committedW"]
        elif name == "Displaced":
            joined.pop((a["requestId"], who), None)
        elif name == "DeliveryRecorded":
            deliveries[a["requestId"]].append(a)
            paid_to[who] += a["payment"]
            j = joined.get((a["requestId"], who))
            if j is None:
                problems.append(f"request {a['requestId']}: {who} was paid or recorded without taking part")
                continue
            if a["committedW"] != j["power"]:
                problems.append(
                    f"request {a['requestId']}: {who} committed {j['power']} W, recorded {a['committedW']}"
                )
            committed_ws = a["committedW"] * requests[a["requestId"]]["duration"]
            delivered = a["deliveredWh"]
            ok = delivered >= 0 and abs(delivered * 3600 - committed_ws) * TOLERANCE_DIVISOR <= committed_ws
            if ok != a["compliant"]:
                problems.append(f"request {a['requestId']}: {who} judged {a['compliant']}, recomputed {ok}")
            due = j["tariff"] * committed_ws // 3_600_000 if ok else 0
            if a["payment"] != due:
                problems.append(f"request {a['requestId']}: {who} paid {a['payment']}, due {due}")
        elif name == "RequestSettled":
            settled[a["requestId"]] = a
        elif name == "Transfer" and a["from"] == ZERO:
            minted[a["to"].lower()] += a["value"]
    for rid, s in settled.items():
        ds = deliveries[rid]
        sums = {
            "participants": len(ds),
            "compliant": sum(1 for d in ds if d["compliant"]),
            "deliveredWh": sum(d["deliveredWh"] for d in ds),
            "paid": sum(d["payment"] for d in ds),
        }
        for key, value in sums.items():
            if s[key] != value:
                problems.append(f"request {rid}: RequestSettled {key} = {s[key]}, deliveries sum to {value}")
    for who in set(minted) | {w for w, v in paid_to.items() if v}:
        if minted[who] != paid_to[who]:
            problems.append(f"{who}: minted {minted[who]}, paid {paid_to[who]}")
    recorded = sum(len(v) for v in deliveries.values())
    return {
        "ok": not problems and recorded > 0,
        "requests_settled": len(settled),
        "deliveries_checked": recorded,
        "payments": sum(1 for d in (x for v in deliveries.values() for x in v) if d["payment"] > 0),
        "tokens_paid": sum(paid_to.values()),
        "problems": problems if recorded else ["no deliveries recorded: nothing to audit"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="a strategy folder of a run (holds deployment/)")
    parser.add_argument("--rpc-url", help="read the events from this chain instead of chain-logs.json")
    args = parser.parse_args(argv)
    w3 = Web3(Web3.HTTPProvider(args.rpc_url)) if args.rpc_url else Web3()
    loaded = load_contracts(w3, args.run_dir / "deployment")
    if args.rpc_url:
        raw = raw_logs_from_chain(w3, loaded["manifest"])
    else:
        path = args.run_dir / "chain-logs.json"
        if not path.is_file():
            print(f"no {path}: pass --rpc-url to read the chain itself", file=sys.stderr)
            return 2
        raw = raw_logs_from_file(path)
    verdict = audit(decode(loaded["contracts"], raw))
    print(json.dumps(verdict, indent=2))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
