"""`flexsim verify RUN_DIR`: every settlement of a run checked against what the prosumers signed and what
the chain holds (docs/tamper-evidence.md).

For a strategy folder (`aggregator.db`, `deployment/manifest.json`, and `chain-logs.json` or a live
chain at `rpc_url`), each anchored request is checked:

1. its leaves, rebuilt from the database, hash to the root in the market's `SettlementAnchored` event
   (emitted by `finaliseAnchored`; and, on a live chain, to `settlementRoot` in storage), with the
   event's leaf count;
2. each leaf's delivery is the one the market recorded (`DeliveryRecorded`);
3. each leaf's readings root is the prosumer's: its EIP-712 signature recovers to the prosumer, and
   the readings stored now for it in the signed span are the signed count and hash to the root (a
   reading altered or deleted in the database after the fact fails here);
4. the delivery recomputed from those signed readings, with the documented baseline method
   (`aggregator.settlement.delivery_of`) over the anchored measurement span, equals the leaf;
5. the signed span covers the measurement span.

Every request settled on chain with at least one participant must be anchored. The result is a
`Verification` (JSON), also written as `verification.json` in the strategy folder by a run and shown
in its report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from web3 import Web3

from aggregator.baseline import Sample
from aggregator.db import Database
from aggregator.evidence import AnchorSite, EvidenceRepo, hex32, leaf_hashes, root_problem, signed_readings
from aggregator.settlement import delivery_of
from aggregator.store import ReadingStore
from base.errors import ConfigError
from contracts.anchor import merkle_root, milli
from contracts.events import ANCHOR, MARKET, EventDecoder
from contracts.manifest import Manifest

MAX_PROBLEMS = 200


class Problem(BaseModel):
    request_id: int
    prosumer: str | None = None
    check: str = Field(
        description="root, leaf_count, delivery_recorded, signature, readings, recomputed, span, anchored"
    )
    detail: str


class Verification(BaseModel):
    """What `flexsim verify` found in one strategy folder."""

    folder: str
    chain_source: str = Field(description="`chain-logs.json` or the RPC URL read")
    requests_settled: int
    requests_anchored: int
    leaves_checked: int
    signed_roots_checked: int
    deliveries_recomputed: int
    unsigned_leaves: int = Field(description="Leaves whose prosumer sent no signed readings root")
    problems: list[Problem]
    ok: bool


def strategy_folders(run_dir: Path) -> list[Path]:
    """`run_dir` itself when it is a strategy folder, else its strategy subfolders."""
    if (run_dir / "aggregator.db").is_file():
        return [run_dir]
    found = (
        sorted(p for p in run_dir.iterdir() if (p / "aggregator.db").is_file()) if run_dir.is_dir() else []
    )
    if not found:
        raise ConfigError(
            f"{run_dir} holds no run (no aggregator.db in it or its subfolders): give a run folder"
        )
    return found


def chain_events(folder: Path, manifest: Manifest, rpc_url: str | None) -> tuple[list[Any], str]:
    """The market's (settlements, anchored roots) and the anchor's (disputes) events, decoded, from a
    live chain or the saved logs."""
    abis = {name: manifest.abi(name) for name in ("FlexibilityMarket", "SettlementAnchor")}
    decoder = EventDecoder({
        MARKET: (manifest.contracts.market, abis["FlexibilityMarket"]),
        ANCHOR: (manifest.contracts.anchor, abis["SettlementAnchor"]),
    })  # fmt: skip
    if rpc_url:
        w3 = Web3(Web3.HTTPProvider(rpc_url))
        last, raw = w3.eth.block_number, []
        addresses = [
            Web3.to_checksum_address(a) for a in (manifest.contracts.market, manifest.contracts.anchor)
        ]
        for start in range(manifest.block, last + 1, 2_000):
            raw.extend(
                w3.eth.get_logs(
                    {"fromBlock": start, "toBlock": min(last, start + 1_999), "address": addresses}
                )
            )
        source = rpc_url
    else:
        path = folder / "chain-logs.json"
        if not path.is_file():
            raise ConfigError(f"{folder} has no chain-logs.json: pass --rpc-url of the chain the run used")
        raw = json.loads(path.read_text())["logs"]
        source = "chain-logs.json"
    events = [e for r in raw if (e := decoder.decode(r)) is not None]
    return events, source


def verify_folder(folder: Path, rpc_url: str | None = None) -> Verification:
    manifest = Manifest.load(folder / "deployment" / "manifest.json")
    site = AnchorSite(manifest.chain_id, manifest.contracts.anchor)
    events, source = chain_events(folder, manifest, rpc_url)
    anchored = {int(e.args["requestId"]): e.args for e in events if e.name == "SettlementAnchored"}
    settled_with = {
        int(e.args["requestId"]): int(e.args["participants"]) for e in events if e.name == "RequestSettled"
    }
    settled = set(settled_with)
    to_anchor = {rid for rid, n in settled_with.items() if n > 0}
    recorded = {
        (int(e.args["requestId"]), str(e.args["prosumer"]).lower()): int(e.args["deliveredWh"])
        for e in events
        if e.name == "DeliveryRecorded"
    }
    storage_root = _storage_roots(rpc_url, manifest) if rpc_url else None
    db = Database.connect(f"sqlite:///{folder / 'aggregator.db'}")
    try:
        store = ReadingStore(db)
        repo = EvidenceRepo(db, store)
        problems: list[Problem] = []
        counts = {"leaves": 0, "signed": 0, "recomputed": 0, "unsigned": 0}
        for rid in sorted(to_anchor - set(anchored)):
            problems.append(
                Problem(request_id=rid, check="anchored", detail="settled on chain but not anchored")
            )
        for rid in repo.anchored_ids():
            _check_request(rid, repo, store, site, anchored, recorded, storage_root, problems, counts)
    finally:
        db.dispose()
    return Verification(
        folder=str(folder),
        chain_source=source,
        requests_settled=len(settled),
        requests_anchored=len(anchored),
        leaves_checked=counts["leaves"],
        signed_roots_checked=counts["signed"],
        deliveries_recomputed=counts["recomputed"],
        unsigned_leaves=counts["unsigned"],
        problems=problems[:MAX_PROBLEMS],
        ok=not problems,
    )


def _storage_roots(rpc_url: str | None, manifest: Manifest) -> Any:
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    market = w3.eth.contract(
        address=Web3.to_checksum_address(manifest.contracts.market), abi=manifest.abi("FlexibilityMarket")
    )
    return lambda rid: bytes(market.functions.settlementRoot(rid).call())


def _check_request(
    rid: int,
    repo: EvidenceRepo,
    store: ReadingStore,
    site: AnchorSite,
    anchored: dict[int, Any],
    recorded: dict[tuple[int, str], int],
    storage_root: Any,
    problems: list[Problem],
    counts: dict[str, int],
) -> None:
    found = repo.anchor(rid)
    assert found is not None
    record, leaves = found
    on_chain = anchored.get(rid)
    root = merkle_root(leaf_hashes(rid, leaves)) if leaves else bytes(32)
    if on_chain is None:
        problems.append(
            Problem(request_id=rid, check="anchored", detail="the database has an anchor the chain lacks")
        )
    else:
        if bytes(on_chain["root"]) != root:
            chain_root = hex32(bytes(on_chain["root"]))
            problems.append(Problem(request_id=rid, check="root", detail=(
                f"the database's leaves hash to {hex32(root)}, the chain anchored {chain_root}"
            )))  # fmt: skip
        if int(on_chain["leafCount"]) != len(leaves):
            problems.append(Problem(request_id=rid, check="leaf_count", detail=(
                f"{len(leaves)} leaves in the database, {on_chain['leafCount']} anchored"
            )))  # fmt: skip
    if storage_root is not None and storage_root(rid) != root:
        problems.append(
            Problem(request_id=rid, check="root", detail="settlementRoot in the market's storage differs")
        )
    roots = repo.roots(rid)
    start, end, margin = record.sim_start, record.sim_end, record.margin_s
    for leaf in leaves:
        counts["leaves"] += 1
        chain_wh = recorded.get((rid, leaf.prosumer))
        if chain_wh != leaf.delivered_wh:
            detail = f"the leaf says {leaf.delivered_wh} Wh, the market recorded {chain_wh}"
            problems.append(
                Problem(request_id=rid, prosumer=leaf.prosumer, check="delivery_recorded", detail=detail)
            )
        if leaf.readings_root == bytes(32):
            counts["unsigned"] += 1
            continue
        signed = roots.get(leaf.prosumer)
        if signed is None or signed.root != leaf.readings_root:
            detail = "the leaf's readings root is not a root the prosumer signed"
            problems.append(Problem(request_id=rid, prosumer=leaf.prosumer, check="signature", detail=detail))
            continue
        counts["signed"] += 1
        readings = signed_readings(store, leaf.prosumer, signed.from_ms, signed.to_ms)
        problem = root_problem(signed, site.chain_id, site.anchor, readings)
        if problem is not None:
            problems.append(Problem(request_id=rid, prosumer=leaf.prosumer, check="readings", detail=problem))
            continue
        if signed.from_ms > milli(start - margin) or signed.to_ms < milli(end + margin) - 1:
            problems.append(Problem(request_id=rid, prosumer=leaf.prosumer, check="span", detail=(
                f"the signed span [{signed.from_ms}, {signed.to_ms}] ms does not cover the measurement span "
                f"[{milli(start - margin)}, {milli(end + margin)}) ms"
            )))  # fmt: skip
            continue
        samples = [Sample(r.t, r.power_w, r.available_w) for r in readings]
        again = delivery_of(samples, record.direction, start, end, margin).delivered_wh_int
        counts["recomputed"] += 1
        if again != leaf.delivered_wh:
            detail = (
                f"the signed readings give {again} Wh (baseline method), the leaf says {leaf.delivered_wh}"
            )
            problems.append(
                Problem(request_id=rid, prosumer=leaf.prosumer, check="recomputed", detail=detail)
            )


def verify_run(run_dir: Path, rpc_url: str | None = None) -> list[Verification]:
    return [verify_folder(f, rpc_url) for f in strategy_folders(run_dir)]
