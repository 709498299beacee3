"""The independent audit (scripts/audit_run.py) on a real settled request: it passes a true record and
catches a payment without participation and tokens minted beyond the payments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.deploy import write_manifest
from simulation.chain_export import export_logs
from tests.aggregator.test_dispatch import (  # noqa: F401  (fixtures)
    World,
    rpc_url,
    world,
)
from tests.simulation.settled import settle_three_fair

pytestmark = [pytest.mark.chain, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_run.py"


def audit(run_dir: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(run_dir)], capture_output=True, text=True, timeout=120
    )
    return done.returncode, json.loads(done.stdout)


def test_the_audit_finds_every_payment_justified_and_catches_tampering(
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    w = world
    settle_three_fair(w)

    run = tmp_path / "fair"
    assert w.d.artifacts is not None
    write_manifest(w.d, w.d.artifacts, run / "deployment" / "manifest.json")
    assert export_logs(w.d, run / "chain-logs.json") > 0
    code, verdict = audit(run)
    assert (code, verdict["ok"], verdict["problems"]) == (0, True, [])
    assert verdict["requests_settled"] == 1
    assert (verdict["deliveries_checked"], verdict["payments"]) == (3, 2)

    record = json.loads((run / "chain-logs.json").read_text())
    topic = {
        name: "0x" + w.d.chain.w3.keccak(text=sig).hex().removeprefix("0x")
        for name, sig in {
            "Accepted": "Accepted(uint256,address,uint32)",
            "Transfer": "Transfer(address,address,uint256)",
        }.items()
    }

    # a delivery paid to someone whose acceptance is not on record
    first_accept = next(i for i, e in enumerate(record["logs"]) if e["topics"][0] == topic["Accepted"])
    without = {**record, "logs": [e for i, e in enumerate(record["logs"]) if i != first_accept]}
    (run / "chain-logs.json").write_text(json.dumps(without))
    code, verdict = audit(run)
    assert code == 1 and any("without taking part" in p for p in verdict["problems"])

    # a second mint of the same payment: tokens out of line with what was earned
    mint = next(
        e for e in record["logs"] if e["topics"][0] == topic["Transfer"] and int(e["topics"][1], 16) == 0
    )
    doubled = {**record, "logs": [*record["logs"], {**mint, "logIndex": mint["logIndex"] + 10_000}]}
    (run / "chain-logs.json").write_text(json.dumps(doubled))
    code, verdict = audit(run)
    assert code == 1 and any("minted" in p for p in verdict["problems"])
