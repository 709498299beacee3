"""`flexsim verify RUN_DIR`: re-checks every settlement of a run against the prosumers' signed readings
and the chain (docs/tamper-evidence.md); prints JSON, exits 1 when anything does not hold."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flexsim.cli.options import Group, Option

group = Group()


@group.command(
    "verify",
    "check every settlement of a run against the prosumers' signed readings and the chain",
    Option("run_dir", help="a run folder (or one strategy's folder in it)"),
    Option("--rpc-url", help="read the chain there (default: the run's saved chain-logs.json)"),
)
def verify(args: argparse.Namespace) -> int:
    from simulation.verify import verify_run

    results = verify_run(Path(args.run_dir), args.rpc_url)
    print(json.dumps([r.model_dump() for r in results], indent=2))
    return 0 if all(r.ok for r in results) else 1
