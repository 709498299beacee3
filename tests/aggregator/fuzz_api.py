"""Fuzz the aggregator's HTTP API against its own OpenAPI document with schemathesis (issue 10).

Starts a real aggregator (uvicorn on loopback, SQLite in a temporary folder, the trusted registry view
of the chain-free tests: three registered prosumers), logs one prosumer in, then runs `schemathesis run`
on `/openapi.json` once per credential (prosumer, grid operator, admin), every phase but the stateful
one, with the checks in `CHECKS`. It prints a JSON summary (operations, test cases, failures per
check and credential) and exits 1 on any failure or error.

    python -m tests.aggregator.fuzz_api [--max-examples N] [--seed S] [--out DIR]     (make fuzz-api)

`tests/aggregator/test_fuzz_api.py` runs it with a few examples per operation inside `make test`.
Checks left out, and why: `positive_data_acceptance` (a schema-valid reading can still be refused with
422 for what needs context: power above 1.5 x the registered capacity, a timestamp ahead of the
simulated clock, `soc` from a non-battery), `use_after_free`, `ensure_resource_availability` and
`object_level_authorization` (stateful: they need links between operations, which the document does
not declare), `ignored_auth` (the public endpoints need no credential by design).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

from aggregator.app import create_app
from aggregator.registry import TrustedRegistryView
from contracts.types import SourceKind
from tests.aggregator import schemathesis_driver
from tests.aggregator.factories import login, make_registration, make_settings
from tests.aggregator.live import client, serve

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)


def fuzz(max_examples: int, seed: int, out: Path) -> dict[str, Any]:
    """Runs the fuzz; returns the summary (`failures` 0 means every check held)."""
    out.mkdir(parents=True, exist_ok=True)
    kinds = (SourceKind.SOLAR, SourceKind.CONSUMER, SourceKind.BATTERY)
    prosumers = {kind: Account.create() for kind in kinds}
    registry = TrustedRegistryView({a.address: make_registration(kind) for kind, a in prosumers.items()})
    grid, admin = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    settings = make_settings(
        out,
        grid_token=grid,
        admin_token=admin,
        # the fuzzer sends many wrong credentials on purpose: keep them from locking its own client out
        bearer_failures_per_client=10**9,
        challenges_per_client=10**6,
        challenges_per_address=10**6,
    )
    summary: dict[str, Any] = {"checks": list(CHECKS), "max_examples": max_examples, "seed": seed, "runs": {}}
    started = time.monotonic()
    with serve(create_app(settings, registry_view=registry)) as base:
        with client(base) as c:
            prosumer = login(c, prosumers[SourceKind.SOLAR])["Authorization"].removeprefix("Bearer ")
        for role, token in (("prosumer", prosumer), ("grid", grid), ("admin", admin)):
            summary["runs"][role] = _run(base, role, token, max_examples, seed, out)
    runs = summary["runs"].values()
    summary["operations"] = max(r["operations"] for r in runs)
    summary["test_cases"] = sum(r["test_cases"] for r in runs)
    summary["failures"] = sum(r["failures"] for r in runs)
    summary["errors"] = sum(r["errors"] for r in runs)
    summary["server_errors"] = sum(r["server_errors"] for r in runs)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary


def _run(base: str, role: str, token: str, max_examples: int, seed: int, out: Path) -> dict[str, Any]:
    return schemathesis_driver.run([f"{base}/openapi.json"], role, token, CHECKS, max_examples, seed, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.aggregator.fuzz_api", description=__doc__)
    parser.add_argument("--max-examples", type=int, default=100, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=10, help="schemathesis' random seed")
    parser.add_argument("--out", type=Path, default=None, help="keep the reports here")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="flexsim-fuzz-"))
    summary = fuzz(args.max_examples, args.seed, out)
    summary["reports"] = str(out)
    print(json.dumps(summary, indent=2))
    return 0 if summary["failures"] == 0 and summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
